"""Screens (bot/views/screen.py) turned into Telegram messages."""

from __future__ import annotations

import logging

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.handlers.common import Caller, reply
from bot.views.screen import Screen

log = logging.getLogger(__name__)


def markup(screen: Screen) -> InlineKeyboardMarkup | None:
    """The screen's buttons as an inline keyboard, or None."""
    if not screen.rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.text, callback_data=b.data) for b in row] for row in screen.rows]
    )


async def send_screen(update: Update, who: Caller, screen: Screen) -> None:
    """Send the screen as a new message."""
    await reply(update, who, screen.text, markup(screen))


async def drop_buttons(query: CallbackQuery) -> None:
    """Take the buttons off a message once used, so it cannot be pressed twice."""
    try:
        await query.edit_message_reply_markup(None)
    except BadRequest as exc:
        # Already without buttons, or too old to edit (48 hours): the press is handled anyway.
        log.info("buttons left on a message: %s", exc.message)
