"""Attendance as people read it: the participant's lines in /me, the coordinator's roll."""

from __future__ import annotations

import math

from babel.dates import format_date
from babel.numbers import format_percent

from bot.content import Programme, Session
from bot.i18n import Translator, escape
from bot.services.attendance import ReviewItem, review_items
from bot.services.presence import Evidence, Presence, evidence_by_participant, imported, presence_at
from bot.storage import Database, repo
from bot.storage.repo import Participant


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


async def roll(
    db: Database, session: Session
) -> tuple[list[tuple[Participant, Presence]], list[ReviewItem]]:
    """Every participant of the session's cohorts with their presence, and its review list."""
    async with db.read() as conn:
        people = [p for p in await repo.list_participants(conn) if session.is_for(p.cohort)]
        evidence = await evidence_by_participant(conn)
        sources = await imported(conn)
        review = await review_items(conn, where=session.id)
    rows = [(p, presence_at(session, evidence.get(p.id, Evidence()), sources)) for p in people]
    return rows, review


async def roll_text(db: Database, programme: Programme, session: Session, t: Translator) -> str:
    """/attendance SESSION: who is recorded present and who is missing (names: coordinators)."""
    rows, review = await roll(db, session)
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
