"""Screens (bot/views/screen.py) turned into Telegram messages."""

from __future__ import annotations

import logging

from telegram import CallbackQuery, Update
from telegram.error import BadRequest

from bot.handlers.common import Caller, markup, reply
from bot.views.screen import Screen

log = logging.getLogger(__name__)


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
