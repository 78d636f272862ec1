"""Coordinators' broadcasts as recorded: one row each, its messages being outbox rows."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import aiosqlite

from bot.outgoing import OutgoingMessage
from bot.storage.repo import fetch_all, fetch_one, from_db_time, to_db_time


class BroadcastStatus(StrEnum):
    """Where a broadcast stands: its messages going out, all handled, or stopped."""

    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Broadcast:
    """A broadcast as recorded."""

    id: int
    created_by: int
    audience: str
    message: OutgoingMessage
    total: int
    status: BroadcastStatus
    created_at: datetime

    @property
    def source(self) -> str:
        """The ``source`` of its outbox rows."""
        return f"broadcast:{self.id}"


def _broadcast(row: sqlite3.Row) -> Broadcast:
    return Broadcast(
        id=row["id"],
        created_by=row["created_by"],
        audience=row["audience"],
        message=OutgoingMessage.loads(row["payload"]),
        total=row["total"],
        status=BroadcastStatus(row["status"]),
        created_at=from_db_time(row["created_at"]),
    )


async def insert(
    conn: aiosqlite.Connection,
    *,
    created_by: int,
    audience: str,
    message: OutgoingMessage,
    total: int,
    now: datetime,
) -> int:
    """Record a broadcast being sent; its id."""
    row = await fetch_one(
        conn,
        "INSERT INTO broadcasts (created_by, audience, payload, total, status, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        (created_by, audience, message.dumps(), total, BroadcastStatus.SENDING, to_db_time(now)),
    )
    assert row is not None  # RETURNING always yields the inserted row
    return int(row[0])


async def get(conn: aiosqlite.Connection, broadcast_id: int) -> Broadcast | None:
    """The broadcast with this id."""
    row = await fetch_one(conn, "SELECT * FROM broadcasts WHERE id = ?", (broadcast_id,))
    return _broadcast(row) if row else None


async def recent(conn: aiosqlite.Connection, limit: int) -> list[Broadcast]:
    """The latest broadcasts, newest first."""
    rows = await fetch_all(conn, "SELECT * FROM broadcasts ORDER BY id DESC LIMIT ?", (limit,))
    return [_broadcast(r) for r in rows]


async def finish(
    conn: aiosqlite.Connection, broadcast_id: int, status: BroadcastStatus, now: datetime
) -> None:
    """Record that a broadcast is over: done, or cancelled."""
    await conn.execute(
        "UPDATE broadcasts SET status = ?, finished_at = ? WHERE id = ?",
        (status, to_db_time(now), broadcast_id),
    )
