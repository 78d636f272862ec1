"""/help: what the bot does, different for participants and for each staff role."""

from __future__ import annotations

from telegram import Update

from bot.handlers.common import Context, access_text, caller, reply
from bot.i18n import Translator
from bot.services.access import Identity
from bot.storage.repo import Role


async def show_help(update: Update, context: Context) -> None:
    """Stores nothing; explains the commands open to this user's roles."""
    who = await caller(update, context)
    await reply(update, who, help_text(who.t, who.identity))


def help_text(t: Translator, identity: Identity) -> str:
    """One section per thing the user is: participant, coordinator, evaluator, admin."""
    if not identity.is_known:
        return access_text(t)
    sections: list[str] = []
    if identity.is_participant:
        sections.append(
            t.gettext(
                "<b>Participant</b>\n"
                "This bot sends you the reminders before each session, the short knowledge quiz "
                "before and after the training, a questionnaire after each activity and, six "
                "months later, a follow-up questionnaire. Your individual answers stay "
                "confidential: only aggregate results are shared.\n"
                "/me — your cohort and your next sessions\n"
                "/language — change the language (français, English, العربية)\n"
                "/help — this help"
            )
        )
    if Role.COORDINATOR in identity.roles:
        sections.append(
            t.gettext(
                "<b>Coordinator</b>\n"
                "You import the roster and hand out the invitation links or QR codes from the "
                "server (relais roster import, relais invites). Announcements and reminders to "
                "the participants go through this bot."
            )
            + "\n"
            + t.gettext(
                "/checkin SESSION — the check-in QR code at the venue\n"
                "/attendance SESSION — who is recorded present, who is missing"
            )
        )
    if Role.EVALUATOR in identity.roles:
        sections.append(
            t.gettext(
                "<b>Evaluator</b>\n"
                "You receive the pseudonymous exports of the responses and the aggregate "
                "evaluation report. Participants appear as codes, never by name."
            )
        )
    if Role.ADMIN in identity.roles:
        sections.append(
            t.gettext(
                "<b>Administrator</b>\n"
                "You manage staff roles (relais staff invite, relais staff list, relais staff "
                "revoke) and check the programme content (relais check) on the server."
            )
        )
    if identity.is_staff:
        sections.append(t.gettext("/language — change the language\n/help — this help"))
    return "\n\n".join(sections)
