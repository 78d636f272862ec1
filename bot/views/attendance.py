"""Attendance as people read it: the participant's lines in /me, the coordinator's roll,
the check-in screens at the venue and what a scan recorded."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

from babel.dates import format_date
from babel.numbers import format_percent

from bot import callbacks
from bot.content import Programme, Session
from bot.i18n import Translator, escape
from bot.services import checkin as service
from bot.services.attendance import ReviewItem
from bot.services.checkin import Scan, ScanResult
from bot.services.presence import Presence
from bot.storage.repo import Participant
from bot.views.screen import Button

ButtonRow = list[Button]


def percent(t: Translator, share: float) -> str:
    """A share as a whole percentage, rounded down: 79.6 % must not read as the 80 % required."""
    return format_percent(math.floor(share * 100 + 1e-9) / 100, locale=t.locale)


def day(t: Translator, session: Session) -> str:
    """The session's first day, e.g. '13 janvier'."""
    return format_date(session.start_utc.astimezone(t.tz), format="d MMMM", locale=t.date_locale)


def presence_lines(t: Translator, found: list[Presence]) -> list[str]:
    """One line per measure recorded: 'présence : 85 % de la session du 13 janvier'."""
    lines: list[str] = []
    for item in found:
        when = day(t, item.session)
        if item.manual is not None:
            lines.append(
                t.gettext("• recorded present at the session of %(date)s", date=when)
                if item.manual
                else t.gettext("• recorded absent from the session of %(date)s", date=when)
            )
            continue
        if item.zoom is not None:
            lines.append(
                t.gettext(
                    "• attendance: %(share)s of the session of %(date)s "
                    "(%(threshold)d %% required)",
                    share=percent(t, item.zoom),
                    date=when,
                    threshold=item.session.attendance.threshold,
                )
            )
        if item.checkins is not None:
            lines.append(
                t.gettext(
                    "• check-ins: %(done)d of %(required)d at the session of %(date)s",
                    done=item.checkins[0],
                    required=item.checkins[1],
                    date=when,
                )
            )
        if item.activities is not None:
            lines.append(
                t.ngettext(
                    "• e-campus: %(done)d of %(n)d activity completed for the session of %(date)s",
                    "• e-campus: %(done)d of %(n)d activities completed "
                    "for the session of %(date)s",
                    item.activities[1],
                    done=item.activities[0],
                    date=when,
                )
            )
    return lines


def presence_text(t: Translator, found: list[Presence]) -> str | None:
    """The attendance part of /me, or None when nothing is recorded yet."""
    lines = presence_lines(t, found)
    return "\n".join([t.gettext("<b>Attendance</b>"), *lines]) if lines else None


def detail(t: Translator, item: Presence) -> str:
    """What is recorded for one person, in a few words."""
    parts: list[str] = []
    if item.manual is not None:
        parts.append(t.gettext("marked present") if item.manual else t.gettext("marked absent"))
    if item.zoom is not None:
        parts.append(t.gettext("Zoom %(share)s", share=percent(t, item.zoom)))
    if item.checkins is not None:
        parts.append(
            t.gettext("check-ins %(done)d/%(n)d", done=item.checkins[0], n=item.checkins[1])
        )
    if item.activities is not None:
        parts.append(
            t.gettext("e-campus %(done)d/%(n)d", done=item.activities[0], n=item.activities[1])
        )
    return " · ".join(parts) if parts else t.gettext("nothing recorded")


def roll_text(
    t: Translator,
    session: Session,
    rows: Sequence[tuple[Participant, Presence]],
    review: Sequence[ReviewItem],
) -> str:
    """/attendance SESSION: who is recorded present and who is missing (names: coordinators)."""
    present = [(p, item) for p, item in rows if item.attended]
    missing = [(p, item) for p, item in rows if not item.attended]
    lines = [
        t.gettext("<b>Attendance: %(session)s</b>", session=escape(session.title.get(t.locale))),
        t.gettext(
            "%(present)d recorded present, %(missing)d missing, of %(total)d",
            present=len(present),
            missing=len(missing),
            total=len(rows),
        ),
    ]
    for heading, group in (
        (t.gettext("<b>Recorded present</b>"), present),
        (t.gettext("<b>Missing</b>"), missing),
    ):
        if group:
            lines += ["", heading]
            lines += [f"{p.code} · {escape(p.full_name)} · {detail(t, item)}" for p, item in group]
    if review:
        lines += [
            "",
            t.ngettext(
                "%(n)d person in the Zoom report matches nobody: relais attendance review "
                "--session %(session)s",
                "%(n)d people in the Zoom report match nobody: relais attendance review "
                "--session %(session)s",
                len(review),
                session=session.id,
            ),
        ]
    return "\n".join(lines)


# --- check-in at the venue ---


def usage_text(t: Translator, programme: Programme, command: str) -> str:
    """How to call /checkin or /attendance, with the session ids."""
    ids = ", ".join(s.id for s in programme.all_sessions())
    return t.gettext("Usage: /%(command)s SESSION (%(ids)s)", command=command, ids=ids)


def checkin_hours_text(t: Translator, session: Session, opens: datetime, closes: datetime) -> str:
    """The check-in of a session is not open now: when it is."""
    return t.gettext(
        "Check-in for %(session)s is open from %(opens)s to %(closes)s.",
        session=escape(session.title.get(t.locale)),
        opens=t.moment(opens),
        closes=t.moment(closes),
    )


def code_caption(t: Translator, session: Session, expires_at: datetime, link: str) -> str:
    """The caption under the check-in QR code shown in the room."""
    return t.gettext(
        "<b>Check-in: %(session)s</b>\nScan this code with your phone's camera or Telegram. "
        "It changes every %(minutes)d minutes; this one works until %(until)s.\n%(link)s",
        session=escape(session.title.get(t.locale)),
        minutes=int(service.ROTATE.total_seconds() // 60),
        until=t.time(expires_at),
        link=escape(link),
    )


def code_buttons(t: Translator, session: Session) -> list[ButtonRow]:
    """The coordinator's buttons under the QR code: a new code now, or stop."""
    return [
        [
            Button(t.gettext("New code"), callbacks.checkin("new", session.id)),
            Button(t.gettext("Stop"), callbacks.checkin("stop", session.id)),
        ]
    ]


def checkin_closed_text(t: Translator, session: Session) -> str:
    """The coordinator stopped the check-in (or it ended)."""
    return t.gettext(
        "Check-in closed for %(session)s. /attendance %(id)s shows who is recorded.",
        session=escape(session.title.get(t.locale)),
        id=session.id,
    )


def staff_scan_text(t: Translator) -> str:
    """A staff member scanned a check-in code."""
    return t.gettext("Check-in is for participants.")


def scan_text(t: Translator, result: ScanResult) -> str:
    """What a participant is told after scanning."""
    session = result.session
    title = escape(session.title.get(t.locale)) if session else ""
    if result.status is Scan.STALE:
        return t.gettext(
            "This QR code has expired: it changes every few minutes. Scan the one shown in the "
            "room now. Nothing was recorded."
        )
    if result.status is Scan.UNKNOWN or session is None:
        return t.gettext(
            "This check-in code is not valid. Scan the one shown in the room. Nothing was recorded."
        )
    if result.status is Scan.WRONG_COHORT:
        return t.gettext(
            "%(session)s is not a session of your cohort: nothing was recorded.", session=title
        )
    if result.status is Scan.NOT_OPEN:
        text = t.gettext("Check-in for %(session)s is not open now.", session=title)
        if result.next_window is not None:
            text += " " + t.gettext("Next check-in: %(when)s.", when=t.moment(result.next_window))
        return text
    label = service.window_label(session, result.window or "", t.locale)
    at = t.time(result.at) if result.at else ""
    if result.status is Scan.ALREADY:
        text = t.gettext("You were already recorded present at %(time)s.", time=at)
    elif label:
        text = t.gettext(
            "✅ Recorded present: %(session)s (%(window)s), at %(time)s.",
            session=title,
            window=escape(label),
            time=at,
        )
    else:
        text = t.gettext("✅ Recorded present: %(session)s, at %(time)s.", session=title, time=at)
    if result.required > 1:
        text += "\n" + t.gettext(
            "Check-ins for this session: %(done)d of %(required)d.",
            done=result.done,
            required=result.required,
        )
    return text
