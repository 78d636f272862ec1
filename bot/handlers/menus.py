"""The command menus Telegram shows: per language for everyone, per chat for staff."""

from __future__ import annotations

from telegram import Bot, BotCommand, BotCommandScopeChat
from telegram.error import TelegramError

from bot.i18n import LOCALES, Translator
from bot.services.access import Identity
from bot.views.menus import commands_for


def bot_commands(identity: Identity | None, t: Translator) -> list[BotCommand]:
    """The menu for a kind of user, as Telegram takes it."""
    return [BotCommand(name, description) for name, description in commands_for(identity, t)]


async def set_default_menus(bot: Bot, translators: dict[str, Translator], default: str) -> None:
    """Register the participants' menu for each language, and the default language for others."""
    await bot.set_my_commands(bot_commands(None, translators[default]))
    for locale in LOCALES:
        await bot.set_my_commands(bot_commands(None, translators[locale]), language_code=locale)


async def set_staff_menu(bot: Bot, chat_id: int, identity: Identity, t: Translator) -> None:
    """Give a staff member's chat the menu of their role, in their language."""
    try:
        await bot.set_my_commands(bot_commands(identity, t), scope=BotCommandScopeChat(chat_id))
    except TelegramError:
        # A menu is a convenience: failing to set it must not fail enrolment.
        return
