"""/help: the commands each of the user's roles may use, one line each (bot/views/help.py)."""

from __future__ import annotations

from telegram import Update

from bot.handlers.common import Context, caller, reply, stranger_text
from bot.i18n import Translator
from bot.services.access import Identity
from bot.views.help import audiences_of
from bot.views.help import help_text as role_help


async def show_help(update: Update, context: Context) -> None:
    """Stores nothing; lists the commands open to this user's roles."""
    who = await caller(update, context)
    await reply(update, who, help_text(who.t, who.identity))


def help_text(t: Translator, identity: Identity) -> str:
    """The help for ``identity``; a stranger is told how to get access, nothing more."""
    if not identity.is_known:
        return stranger_text(t, identity)
    return role_help(t, audiences_of(identity.is_participant, identity.roles))
