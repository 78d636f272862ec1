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

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import aiosqlite

from bot.content import Programme, Session
from bot.services.zoom import union_seconds
from bot.storage.repo import Participant, from_db_time


@dataclass(frozen=True, slots=True)
class Presence:
    """What is known of one participant's attendance at one session."""

    session: Session
    attended: bool | None
    zoom: float | None = None  # share of the scheduled duration, 0 to 1
    checkins: tuple[int, int] | None = None  # (done, required)
    activities: tuple[int, int] | None = None  # (completed, required)
    manual: bool | None = None


@dataclass
class Evidence:
    """Everything recorded for one participant."""

    manual: dict[str, bool] = field(default_factory=dict)
    visits: dict[str, list[tuple[datetime, datetime]]] = field(default_factory=dict)
    slots: dict[str, set[str]] = field(default_factory=dict)
    completed: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class Imported:
    """Which sources have data at all: a Zoom report per session, the latest check-in code
    shown per session, an e-campus report. Without them, missing evidence is 'not
    recorded yet'."""

    zoom_sessions: frozenset[str]
    checkin_codes: dict[str, datetime]
    ecampus: bool


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


async def imported(conn: aiosqlite.Connection) -> Imported:
    """Which sources hold data."""
    async with conn.execute("SELECT DISTINCT session FROM attendance_visits") as cur:
        zoom = frozenset(r[0] for r in await cur.fetchall())
    async with conn.execute(
        "SELECT session, MAX(created_at) FROM checkin_codes GROUP BY session"
    ) as cur:
        checkin = {r[0]: from_db_time(r[1]) for r in await cur.fetchall()}
    async with conn.execute("SELECT 1 FROM ecampus_completions LIMIT 1") as cur:
        ecampus = await cur.fetchone() is not None
    return Imported(zoom, checkin, ecampus)


async def evidence_by_participant(
    conn: aiosqlite.Connection, participant_id: int | None = None
) -> dict[int, Evidence]:
    """Participant id -> evidence, for one participant or everyone, in four queries."""
    where, args = ("WHERE participant_id = ?", (participant_id,)) if participant_id else ("", ())
    found: dict[int, Evidence] = defaultdict(Evidence)
    async with conn.execute(
        f"SELECT participant_id, session, attended FROM attendance {where}", args
    ) as cur:
        for row in await cur.fetchall():
            found[row[0]].manual[row[1]] = bool(row[2])
    matched = f"{where} {'AND' if where else 'WHERE'} participant_id IS NOT NULL"
    async with conn.execute(
        f"SELECT participant_id, session, joined_at, left_at FROM attendance_visits {matched}",
        args,
    ) as cur:
        for row in await cur.fetchall():
            visits = found[row[0]].visits.setdefault(row[1], [])
            visits.append((from_db_time(row[2]), from_db_time(row[3])))
    async with conn.execute(
        f"SELECT participant_id, session, slot FROM checkins {where}", args
    ) as cur:
        for row in await cur.fetchall():
            found[row[0]].slots.setdefault(row[1], set()).add(row[2])
    async with conn.execute(
        f"SELECT participant_id, activity FROM ecampus_completions {matched} AND completed = 1",
        args,
    ) as cur:
        for row in await cur.fetchall():
            found[row[0]].completed.add(row[1])
    return dict(found)


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
