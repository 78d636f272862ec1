"""/me: the participant's cohort and next sessions."""

from __future__ import annotations

from datetime import datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.content import Programme
from bot.handlers.certificates import again_button, issued_text
from bot.handlers.common import Caller, Context, access_text, caller, reply, runtime
from bot.handlers.start import roles_text
from bot.i18n import Translator, escape
from bot.services.attendance_view import presence_text
from bot.services.certificates import certificate_status, status_text
from bot.services.certification import certificates_of
from bot.services.presence import presences_of
from bot.services.questionnaire import Pending, pending
from bot.services.scores import (
    ANSWERS_DATA,
    answers_released,
    kat_result,
    release_text,
    results_visible,
    scores_text,
)

NEXT_SESSIONS = 5


async def me(update: Update, context: Context) -> None:
    """Stores nothing; shows the cohort, next sessions, questionnaires to answer, KAT scores,
    attendance recorded and certificates (buttons to start one, or to receive one again)."""
    rt = runtime(context)
    who = await caller(update, context)
    now = rt.clock.now()
    text = me_text(who, rt.content.programme, now)
    participant = who.identity.participant
    rows: list[list[InlineKeyboardButton]] = []
    if participant is not None:
        todo = await pending(rt.db, rt.content, participant, now)
        if todo:
            text += "\n\n" + todo_text(who.t, todo)
            rows += [
                [InlineKeyboardButton(todo_label(who.t, p), callback_data=p.data)] for p in todo
            ]
        result = await kat_result(rt.db, rt.content, participant.id)
        if result is not None and result.post is not None:
            if results_visible(rt.content, participant, now):
                text += "\n\n" + scores_text(who.t, result)
            else:
                text += "\n\n" + who.t.gettext("Your results will be shown when the test closes.")
            # The right answers wait until no cohort can still take the test.
            if answers_released(rt.content, now):
                label = who.t.gettext("See the right answers")
                rows.append([InlineKeyboardButton(label, callback_data=ANSWERS_DATA)])
            else:
                text += "\n" + release_text(who.t, rt.content)
        async with rt.db.read() as conn:
            attendance = presence_text(
                who.t, await presences_of(conn, rt.content.programme, participant)
            )
        if attendance is not None:
            text += "\n\n" + attendance
        status = await certificate_status(rt.db, rt.content, participant)
        if status is not None:
            text += "\n\n" + status_text(who.t, status)
        issued = await certificates_of(rt.db, participant.id)
        if issued:
            text += "\n\n" + issued_text(who.t, issued)
            rows += [[again_button(who.t, cert)] for cert in issued if not cert.revoked]
    await reply(update, who, text, InlineKeyboardMarkup(rows) if rows else None)


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


def todo_label(t: Translator, item: Pending) -> str:
    """The button that starts or continues a questionnaire."""
    title = f"{item.instrument.title.get(t.locale)} · {item.stage.title.get(t.locale)}"
    if item.started:
        return t.gettext("Continue: %(title)s", title=title)
    return t.gettext("Start: %(title)s", title=title)


def me_text(who: Caller, programme: Programme, now: datetime) -> str:
    """The /me card: name, cohort and the next sessions of that cohort."""
    t, identity = who.t, who.identity
    participant = identity.participant
    if participant is None:
        if identity.is_staff:
            return t.gettext(
                "You are not enrolled as a participant. Your roles: %(roles)s.",
                roles=roles_text(t, identity),
            )
        return access_text(t)
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
        lines.append(f"<b>{escape(session.title.get(t.locale))}</b>")
        lines.append(t.moment(session.shown_utc))
        if session.link:
            lines.append(t.gettext("Online: %(link)s", link=escape(session.link)))
        elif session.place is not None:
            lines.append(t.gettext("Place: %(place)s", place=escape(session.place.get(t.locale))))
    return "\n".join(lines)
