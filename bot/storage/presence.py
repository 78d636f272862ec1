"""The SQL of attendance evidence: what each source recorded, and which sources have data."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import aiosqlite

from bot.storage.repo import from_db_time


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
