"""/me: the participant's card, next sessions and the questionnaires waiting for an answer."""

from __future__ import annotations

from datetime import datetime

from bot.callbacks import ANSWERS_DATA
from bot.content import Programme
from bot.i18n import Translator, escape
from bot.services.access import Identity
from bot.services.questionnaire import Pending
from bot.views.common import open_button, session_lines, stranger_text
from bot.views.screen import Button, Screen
from bot.views.start import roles_text

NEXT_SESSIONS = 5


def me_text(t: Translator, identity: Identity, programme: Programme, now: datetime) -> str:
    """The /me card: name, cohort and the next sessions of that cohort."""
    participant = identity.participant
    if participant is None:
        if identity.is_staff:
            return t.gettext(
                "You are not enrolled as a participant. Your roles: %(roles)s.",
                roles=roles_text(t, identity),
            )
        return stranger_text(t, identity)
    cohort = programme.cohort(participant.cohort)
    cohort_name = cohort.name.get(t.locale) if cohort else participant.cohort
    lines = [
        f"<b>{escape(participant.full_name)}</b>",
        t.gettext("Cohort: %(cohort)s", cohort=escape(cohort_name)),
        "",
    ]
    sessions = programme.upcoming_sessions(participant.cohort, now, NEXT_SESSIONS)
    if not sessions:
        lines.append(t.gettext("No upcoming session is scheduled for your cohort."))
        return "\n".join(lines)
    lines.append(t.ngettext("Your next session:", "Your next %(n)d sessions:", len(sessions)))
    for session in sessions:
        lines.append("")
        lines += session_lines(t, session)
    return "\n".join(lines)


def todo_text(t: Translator, todo: list[Pending]) -> str:
    """The questionnaires waiting for an answer, each with its closing date."""
    lines = [t.gettext("<b>To answer</b>")]
    for item in todo:
        lines.append(
            t.gettext(
                "• %(title)s (%(stage)s), until %(when)s",
                title=escape(item.instrument.title.get(t.locale)),
                stage=escape(item.stage.title.get(t.locale)),
                when=t.moment(item.window.closes),
            )
        )
    return "\n".join(lines)


def todo_buttons(t: Translator, todo: list[Pending]) -> list[list[Button]]:
    """One start-or-continue button per questionnaire waiting, one to a row."""
    return [[open_button(t, p.instrument, p.stage, p.started)] for p in todo]


def open_now_screen(t: Translator, todo: list[Pending]) -> Screen:
    """What a participant can answer now, with its buttons: sent under the welcome."""
    return Screen(todo_text(t, todo), todo_buttons(t, todo))


def answers_button(t: Translator) -> Button:
    """The button that sends the KAT's right answers, once released."""
    return Button(t.gettext("See the right answers"), ANSWERS_DATA)
