"""The command menus Telegram shows: which commands, described in the reader's language."""

from __future__ import annotations

from bot.i18n import Translator, _
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


def commands_for(identity: Identity | None, t: Translator) -> list[tuple[str, str]]:
    """The menu for a kind of user: (command, translated description), in order."""
    if identity is not None and identity.is_staff:
        entries = STAFF_COMMANDS
        if identity.is_participant:
            entries = (PARTICIPANT_COMMANDS[0], *STAFF_COMMANDS)
    else:
        entries = PARTICIPANT_COMMANDS
    return [(name, t.gettext(description)) for name, description in entries]
