"""The bot blocked or unblocked by a user: Telegram says so with a ``my_chat_member`` update."""

from __future__ import annotations

import logging

from telegram import ChatMember, Update
from telegram.constants import ChatType

from bot.handlers.common import Context
from bot.services.access import set_reachable

log = logging.getLogger(__name__)


async def membership_changed(update: Update, context: Context) -> None:
    """Stores whether the participant can be reached; asks nothing (a blocked chat is silent)."""
    change = update.my_chat_member
    # Only the private chat says whether the person can be reached; a group the bot is
    # added to or removed from says nothing about it.
    if change is None or change.chat.type != ChatType.PRIVATE:
        return
    reachable = change.new_chat_member.status not in (ChatMember.BANNED, ChatMember.LEFT)
    if await set_reachable(context.runtime.db, change.from_user.id, reachable):
        log.info(
            "update %s: participant %s",
            update.update_id,
            "reachable" if reachable else "unreachable",
        )
