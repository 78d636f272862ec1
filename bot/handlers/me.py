"""/me: the participant's cohort and next sessions."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from html import escape as _escape

from telegram import Update

from bot.content import Programme
from bot.handlers.common import Caller, Context, access_text, caller, reply, runtime
from bot.handlers.start import roles_text

# Text content only: apostrophes are common in French and need no escaping.
escape = partial(_escape, quote=False)

NEXT_SESSIONS = 5


async def me(update: Update, context: Context) -> None:
    """Stores nothing; shows the cohort and the next sessions with dates in the user's language."""
    rt = runtime(context)
    who = await caller(update, context)
    await reply(update, who, me_text(who, rt.content.programme, rt.clock.now()))


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
        lines.append(t.moment(session.start_utc))
        if session.link:
            lines.append(t.gettext("Online: %(link)s", link=escape(session.link)))
        elif session.place is not None:
            lines.append(t.gettext("Place: %(place)s", place=escape(session.place.get(t.locale))))
    return "\n".join(lines)
