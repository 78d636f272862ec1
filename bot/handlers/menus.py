"""The command menus Telegram shows: per language for everyone, per chat for staff."""

from __future__ import annotations

from telegram import Bot, BotCommand, BotCommandScopeChat
from telegram.error import TelegramError

from bot.i18n import LOCALES, Translator, _
from bot.services.access import Identity

PARTICIPANT_COMMANDS: tuple[tuple[str, str], ...] = (
    ("me", _("My sessions, questionnaires and certificates")),
    ("plan", _("Send my action plan")),
    ("language", _("Change the language")),
    ("mydata", _("My data")),
    ("help", _("What this bot does")),
)
STAFF_COMMANDS: tuple[tuple[str, str], ...] = (
    ("help", _("What your role lets you do")),
    ("broadcast", _("Send an announcement")),
    ("broadcasts", _("Recent announcements")),
    ("stats", _("Response rates")),
    ("pending", _("Who has not answered")),
    ("export", _("Export the responses")),
    ("report", _("Evaluation report")),
    ("plans", _("Action plans received")),
    ("checkin", _("Check-in QR code for a session")),
    ("attendance", _("Who attended a session")),
    ("certificates", _("Certificates to approve")),
    ("language", _("Change the language")),
)


def commands_for(identity: Identity | None, t: Translator) -> list[BotCommand]:
    """The menu for a kind of user, translated."""
    if identity is not None and identity.is_staff:
        entries = STAFF_COMMANDS
        if identity.is_participant:
            entries = (PARTICIPANT_COMMANDS[0], *STAFF_COMMANDS)
    else:
        entries = PARTICIPANT_COMMANDS
    return [BotCommand(name, t.gettext(description)) for name, description in entries]


async def set_default_menus(bot: Bot, translators: dict[str, Translator], default: str) -> None:
    """Register the participants' menu for each language, and the default language for others."""
    await bot.set_my_commands(commands_for(None, translators[default]))
    for locale in LOCALES:
        await bot.set_my_commands(commands_for(None, translators[locale]), language_code=locale)


async def set_staff_menu(bot: Bot, chat_id: int, identity: Identity, t: Translator) -> None:
    """Give a staff member's chat the menu of their role, in their language."""
    try:
        await bot.set_my_commands(commands_for(identity, t), scope=BotCommandScopeChat(chat_id))
    except TelegramError:
        # A menu is a convenience: failing to set it must not fail enrolment.
        return
