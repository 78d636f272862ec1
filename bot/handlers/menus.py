"""The command menus Telegram shows: per language for participants, per chat for staff.

The entries come from the table in bot/views/help.py, as /help does.
"""

from __future__ import annotations

import logging
from collections.abc import Collection

from telegram import Bot, BotCommand, BotCommandScopeChat
from telegram.error import TelegramError

from bot.i18n import LOCALES, Translator
from bot.services.access import Identity, choose_locale, identify
from bot.services.staff import list_staff
from bot.storage import Database
from bot.views.help import Audience, audiences_of
from bot.views.help import commands_for as commands_of

log = logging.getLogger(__name__)

_PARTICIPANT = frozenset({Audience.PARTICIPANT})


def commands_for(identity: Identity | None, t: Translator) -> list[BotCommand]:
    """The menu for a kind of user, translated."""
    audiences = (
        audiences_of(identity.is_participant, identity.roles)
        if identity is not None and identity.is_staff
        else _PARTICIPANT
    )
    return [BotCommand(c.name, t.gettext(c.summary)) for c in commands_of(audiences)]


async def set_default_menus(bot: Bot, translators: dict[str, Translator], default: str) -> None:
    """Register the participants' menu for each language, and the default language for others."""
    await bot.set_my_commands(commands_for(None, translators[default]))
    for locale in LOCALES:
        await bot.set_my_commands(commands_for(None, translators[locale]), language_code=locale)


async def set_staff_menu(bot: Bot, chat_id: int, identity: Identity, t: Translator) -> None:
    """Give a staff member's chat the menu of their roles, in their language; someone who
    holds no role any more falls back to the participants' menu of their language."""
    try:
        if identity.is_staff:
            await bot.set_my_commands(commands_for(identity, t), scope=BotCommandScopeChat(chat_id))
        else:
            await bot.delete_my_commands(scope=BotCommandScopeChat(chat_id))
    except TelegramError as exc:
        # A menu is a convenience: failing to set it must not fail enrolment or a revocation.
        log.warning("staff menu not set: %s", exc.message)


async def refresh_staff_menus(
    bot: Bot,
    db: Database,
    admin_ids: Collection[int],
    translators: dict[str, Translator],
    default: str,
) -> None:
    """At start-up: every staff chat gets the menu of its current roles, in its language."""
    done: set[int] = set()
    for member in await list_staff(db, admin_ids):
        if member.user_id in done:
            continue
        done.add(member.user_id)
        identity = await identify(db, member.user_id, admin_ids)
        locale = choose_locale(identity.stored_language, None, default)
        chat_id = member.chat_id if member.chat_id is not None else member.user_id
        await set_staff_menu(bot, chat_id, identity, translators[locale])
