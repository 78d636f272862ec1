"""Queries for attendance and action plans, the inputs of certificates besides the KAT."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from bot.storage.repo import from_db_time, to_db_time


@dataclass(frozen=True, slots=True)
class ActionPlan:
    """A document a participant sent as their individual action plan."""

    id: int
    participant_id: int
    file_id: str
    file_unique_id: str
    file_name: str | None
    mime_type: str | None
    size: int | None
    submitted_at: datetime


def _plan(row: sqlite3.Row) -> ActionPlan:
    return ActionPlan(
        id=row["id"],
        participant_id=row["participant_id"],
        file_id=row["file_id"],
        file_unique_id=row["file_unique_id"],
        file_name=row["file_name"],
        mime_type=row["mime_type"],
        size=row["size"],
        submitted_at=from_db_time(row["submitted_at"]),
    )


async def record_attendance(
    conn: aiosqlite.Connection, participant_id: int, session: str, attended: bool, now: datetime
) -> None:
    """Set one participant's presence at one session; a re-import overwrites."""
    await conn.execute(
        "INSERT INTO attendance (participant_id, session, attended, recorded_at)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (participant_id, session) DO UPDATE SET"
        " attended = excluded.attended, recorded_at = excluded.recorded_at",
        (participant_id, session, int(attended), to_db_time(now)),
    )


async def attendance_of(conn: aiosqlite.Connection, participant_id: int) -> dict[str, bool]:
    """Session id -> attended, for the sessions recorded."""
    async with conn.execute(
        "SELECT session, attended FROM attendance WHERE participant_id = ?", (participant_id,)
    ) as cur:
        return {row["session"]: bool(row["attended"]) for row in await cur.fetchall()}


async def add_plan(
    conn: aiosqlite.Connection,
    participant_id: int,
    *,
    file_id: str,
    file_unique_id: str,
    file_name: str | None,
    mime_type: str | None,
    size: int | None,
    now: datetime,
) -> ActionPlan:
    """Store a submitted action plan; the latest one counts."""
    cursor = await conn.execute(
        "INSERT INTO action_plans (participant_id, file_id, file_unique_id, file_name,"
        " mime_type, size, submitted_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (participant_id, file_id, file_unique_id, file_name, mime_type, size, to_db_time(now)),
    )
    async with conn.execute("SELECT * FROM action_plans WHERE id = ?", (cursor.lastrowid,)) as cur:
        row = await cur.fetchone()
    assert row is not None
    return _plan(row)


async def latest_plan(conn: aiosqlite.Connection, participant_id: int) -> ActionPlan | None:
    """The participant's most recent action plan."""
    async with conn.execute(
        "SELECT * FROM action_plans WHERE participant_id = ? ORDER BY submitted_at DESC, id DESC"
        " LIMIT 1",
        (participant_id,),
    ) as cur:
        row = await cur.fetchone()
    return _plan(row) if row else None


async def latest_plans(conn: aiosqlite.Connection) -> list[ActionPlan]:
    """The latest action plan of every participant who sent one, oldest first."""
    async with conn.execute(
        "SELECT * FROM action_plans a WHERE id = (SELECT id FROM action_plans b WHERE"
        " b.participant_id = a.participant_id ORDER BY submitted_at DESC, id DESC LIMIT 1)"
        " ORDER BY submitted_at"
    ) as cur:
        return [_plan(r) for r in await cur.fetchall()]
