"""Whether a participant attended a session, from every source of evidence Relais holds.

The sources: the hand-typed yes/no import (an override: a coordinator's decision wins),
the Zoom report (the union of the visits, clipped to the scheduled window, against the
session's threshold), the check-ins at the venue (every window of the session), and the
e-campus activities the session lists. A session counts as attended when every source
measured for it passes; with none, or check-ins still to come, it is unrecorded. Computed
when asked, from the raw
evidence, so a threshold changed in the calendar applies at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import aiosqlite

from bot.content import Programme, Session
from bot.services.zoom import union_seconds
from bot.storage.presence import Evidence, Imported, evidence_by_participant, imported
from bot.storage.repo import Participant


@dataclass(frozen=True, slots=True)
class Presence:
    """What is known of one participant's attendance at one session."""

    session: Session
    attended: bool | None
    zoom: float | None = None  # share of the scheduled duration, 0 to 1
    checkins: tuple[int, int] | None = None  # (done, required)
    activities: tuple[int, int] | None = None  # (completed, required)
    manual: bool | None = None


def presence_at(session: Session, evidence: Evidence, imported: Imported) -> Presence:
    """The pure rule for one session."""
    rules = session.attendance
    passes: list[bool] = []
    zoom = checkins = activities = None
    if session.id in imported.zoom_sessions:
        start, end = session.start_utc, session.end_utc
        seconds = union_seconds(evidence.visits.get(session.id, []), start, end)
        scheduled = (end - start).total_seconds()
        zoom = seconds / scheduled if scheduled > 0 else 0.0
        # Compared in whole numbers: 72 minutes of 90 is exactly 80 %, not 79.999...
        passes.append(seconds * 100 >= rules.threshold * scheduled)
    slots = evidence.slots.get(session.id, set())
    pending = False
    latest_code = imported.checkin_codes.get(session.id)
    if latest_code is not None or slots:
        windows = session.checkin_windows()
        done = sum(1 for w in windows if w[0] in slots)
        checkins = (done, len(windows))
        if done == len(windows):
            passes.append(True)
        elif latest_code is not None and latest_code >= windows[-1][1]:
            # The last check-in has been opened: a missing one is an absence.
            passes.append(False)
        else:
            # Check-ins still to come (the afternoon, tomorrow): not an absence yet.
            pending = True
    if rules.activities and imported.ecampus:
        done = sum(1 for a in rules.activities if a in evidence.completed)
        activities = (done, len(rules.activities))
        passes.append(done == len(rules.activities))
    manual = evidence.manual.get(session.id)
    if manual is not None:
        attended: bool | None = manual
    elif not all(passes):
        attended = False
    elif pending or not passes:
        attended = None
    else:
        attended = True
    return Presence(session, attended, zoom, checkins, activities, manual)


def presences(
    programme: Programme, cohort: str, evidence: Evidence, imported: Imported
) -> list[Presence]:
    """Every session of the cohort, in order."""
    return [presence_at(s, evidence, imported) for s in programme.sessions_for(cohort)]


def verdicts(found: list[Presence]) -> dict[str, bool]:
    """Session id -> attended, for the sessions with any evidence (what certificates read)."""
    return {p.session.id: p.attended for p in found if p.attended is not None}


async def presences_of(
    conn: aiosqlite.Connection, programme: Programme, participant: Participant
) -> list[Presence]:
    """One participant's presence at each session of their cohort."""
    evidence = (await evidence_by_participant(conn, participant.id)).get(participant.id, Evidence())
    return presences(programme, participant.cohort, evidence, await imported(conn))


async def attended_of(
    conn: aiosqlite.Connection, programme: Programme, participant: Participant
) -> dict[str, bool]:
    """Session id -> attended for one participant (the certificates' input)."""
    return verdicts(await presences_of(conn, programme, participant))


class Member(Protocol):
    """Whom attendance and certificates are computed for: a participant, or its id and cohort."""

    @property
    def id(self) -> int: ...

    @property
    def cohort(self) -> str: ...


async def attended_by_participant(
    conn: aiosqlite.Connection, programme: Programme, people: Sequence[Member]
) -> dict[int, dict[str, bool]]:
    """``attended_of`` for many participants, from a few queries in all."""
    evidence = await evidence_by_participant(conn)
    sources = await imported(conn)
    return {
        p.id: verdicts(presences(programme, p.cohort, evidence.get(p.id, Evidence()), sources))
        for p in people
    }
