"""/help and the command menus: one table says which role may use which command.

The menu Telegram shows and the lines of /help come from the same entries, so a role is
never offered a command it would be refused, nor refused one it was offered.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.i18n import Translator, _


class Audience(StrEnum):
    """Who a command is for."""

    PARTICIPANT = "participant"
    COORDINATOR = "coordinator"
    EVALUATOR = "evaluator"
    ADMIN = "admin"


P, C, E, A = Audience.PARTICIPANT, Audience.COORDINATOR, Audience.EVALUATOR, Audience.ADMIN


@dataclass(frozen=True, slots=True)
class Command:
    """A command, its arguments as shown in /help, its one line, and who may use it."""

    name: str
    arguments: str  # a msgid ("SESSION") or ""
    summary: str
    audience: frozenset[Audience]


def _cmd(name: str, summary: str, *who: Audience, arguments: str = "") -> Command:
    return Command(name, arguments, summary, frozenset(who))


# In menu order. Admins hold the coordinator's rights (access.COORDINATION).
COMMANDS: tuple[Command, ...] = (
    _cmd("me", _("My sessions, questionnaires and certificates"), P),
    _cmd("plan", _("Send my action plan"), P),
    _cmd("mydata", _("My data"), P),
    _cmd("broadcast", _("Send an announcement"), C, A),
    _cmd("broadcasts", _("Recent announcements"), C, A),
    _cmd("stats", _("Response rates"), C, A),
    _cmd("pending", _("Who has not answered"), C, A, arguments=_("QUESTIONNAIRE")),
    _cmd("roster", _("Import the roster: how to send the file"), C, A),
    _cmd("invites", _("Invitations to print: PDF and CSV"), C, A, arguments=_("[COHORT]")),
    _cmd("newlink", _("A new link for one participant"), C, A, arguments=_("PARTICIPANT")),
    _cmd("checkin", _("Check-in QR code for a session"), C, A, arguments=_("SESSION")),
    _cmd("attendance", _("Who attended a session"), C, A, arguments=_("SESSION")),
    _cmd("review", _("Attendance rows nobody could match"), C, A),
    _cmd("certificates", _("Certificates to approve"), C, A),
    _cmd("plans", _("Action plans received"), C, A),
    _cmd("export", _("Export the responses"), E, C, A),
    _cmd("report", _("Evaluation report"), E, C, A),
    _cmd("staff", _("Staff: invite, list, revoke"), A),
    _cmd("reload", _("Reload the content files"), A),
    _cmd("language", _("Change the language"), P, C, E, A),
    _cmd("help", _("What this bot does"), P, C, E, A),
)


def commands_for(audiences: frozenset[Audience]) -> list[Command]:
    """The commands open to someone who is each of ``audiences``, in menu order."""
    return [c for c in COMMANDS if c.audience & audiences]


def audiences_of(is_participant: bool, roles: frozenset[str]) -> frozenset[Audience]:
    """What a person is, from their enrolment and their staff roles."""
    found = {Audience(r) for r in roles}
    if is_participant:
        found.add(P)
    return frozenset(found)


def command_line(t: Translator, command: Command) -> str:
    """``/name ARGUMENTS — summary``, one line of /help."""
    arguments = f" {t.gettext(command.arguments)}" if command.arguments else ""
    return f"/{command.name}{arguments} — {t.gettext(command.summary)}"


def _intro(t: Translator, audience: Audience) -> str:
    if audience is P:
        return t.gettext(
            "<b>Participant</b>\n"
            "This bot sends you the reminders before each session, the short knowledge quiz "
            "before and after the training, a questionnaire after each activity and, six "
            "months later, a follow-up questionnaire. Your individual answers stay "
            "confidential: only aggregate results are shared."
        )
    if audience is C:
        return t.gettext(
            "<b>Coordinator</b>\n"
            "Everything happens here: send the roster (CSV or XLSX) as a document, check the "
            "summary and confirm; /invites gives the invitations to print; send the Zoom "
            "participant report or the attendance sheet (CSV) as a document to record "
            "attendance."
        )
    if audience is E:
        return t.gettext(
            "<b>Evaluator</b>\n"
            "You receive the pseudonymous exports of the responses and the aggregate "
            "evaluation report. Participants appear as codes, never by name."
        )
    return t.gettext(
        "<b>Administrator</b>\n"
        "You invite and revoke staff (/staff) and reload the content; you also have the "
        "coordinator's commands. On the server: relais check, backup, doctor."
    )


def help_text(t: Translator, audiences: frozenset[Audience]) -> str:
    """One section per thing the user is, each with the commands it adds, then the common ones."""
    sections: list[str] = []
    shown: set[str] = set()
    common = {"language", "help"}
    for audience in (P, C, E, A):
        if audience not in audiences:
            continue
        lines = [_intro(t, audience)]
        for command in COMMANDS:
            if audience in command.audience and command.name not in shown | common:
                lines.append(command_line(t, command))
                shown.add(command.name)
        sections.append("\n".join(lines))
    sections.append("\n".join(command_line(t, c) for c in COMMANDS if c.name in common))
    return "\n\n".join(sections)
