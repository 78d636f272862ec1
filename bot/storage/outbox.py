"""The outbox: every reminder, invitation, nudge and broadcast message is a row until sent.

A row goes pending -> sending -> sent, or failed with a reason, or skipped (missed
beyond its grace window), or cancelled (its broadcast was). ``key`` makes a scheduled
delivery exactly-once: the same (participant, campaign step) cannot be queued twice.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from bot.storage.repo import _opt_time, from_db_time, to_db_time


@dataclass(frozen=True, slots=True)
class Row:
    """One message to deliver."""

    id: int
    key: str | None
    kind: str
    source: str
    participant_id: int | None
    chat_id: int | None
    payload: dict[str, Any]
    status: str
    attempts: int
    last_error: str | None
    due_at: datetime
    not_before: datetime
    sent_at: datetime | None
    message_id: int | None


def _row(row: sqlite3.Row) -> Row:
    return Row(
        id=row["id"],
        key=row["key"],
        kind=row["kind"],
        source=row["source"],
        participant_id=row["participant_id"],
        chat_id=row["chat_id"],
        payload=json.loads(row["payload"]),
        status=row["status"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        due_at=from_db_time(row["due_at"]),
        not_before=from_db_time(row["not_before"]),
        sent_at=_opt_time(row["sent_at"]),
        message_id=row["message_id"],
    )


async def enqueue(
    conn: aiosqlite.Connection,
    *,
    key: str | None,
    kind: str,
    source: str,
    participant_id: int | None,
    chat_id: int | None,
    payload: dict[str, Any],
    due_at: datetime,
    now: datetime,
    status: str = "pending",
    reason: str | None = None,
) -> bool:
    """Queue a message; False if a row with the same key exists (already queued or skipped)."""
    cursor = await conn.execute(
        "INSERT INTO outbox (key, kind, source, participant_id, chat_id, payload, status,"
        " last_error, due_at, not_before, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (key) DO NOTHING",
        (
            key,
            kind,
            source,
            participant_id,
            chat_id,
            json.dumps(payload, ensure_ascii=False),
            status,
            reason,
            to_db_time(due_at),
            to_db_time(now),
            to_db_time(now),
        ),
    )
    return cursor.rowcount > 0


@dataclass(frozen=True, slots=True)
class NewRow:
    """A message to queue with ``enqueue_many``."""

    key: str | None
    kind: str
    source: str
    participant_id: int | None
    chat_id: int | None
    payload: dict[str, Any]
    due_at: datetime
    status: str = "pending"
    reason: str | None = None


async def enqueue_many(conn: aiosqlite.Connection, rows: list[NewRow], now: datetime) -> None:
    """Queue many messages in one statement; keys already present are left alone."""
    stamp = to_db_time(now)
    await conn.executemany(
        "INSERT INTO outbox (key, kind, source, participant_id, chat_id, payload, status,"
        " last_error, due_at, not_before, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (key) DO NOTHING",
        [
            (
                r.key,
                r.kind,
                r.source,
                r.participant_id,
                r.chat_id,
                json.dumps(r.payload, ensure_ascii=False) if r.payload else "{}",
                r.status,
                r.reason,
                to_db_time(r.due_at),
                stamp,
                stamp,
            )
            for r in rows
        ],
    )


async def known_keys(conn: aiosqlite.Connection, prefix: str = "") -> set[str]:
    """Keys already in the outbox (any status)."""
    async with conn.execute(
        "SELECT key FROM outbox WHERE key IS NOT NULL AND key LIKE ?", (prefix + "%",)
    ) as cur:
        return {row["key"] for row in await cur.fetchall()}


async def due(conn: aiosqlite.Connection, now: datetime, limit: int) -> list[Row]:
    """Pending rows whose time has come, oldest first."""
    async with conn.execute(
        "SELECT * FROM outbox WHERE status = 'pending' AND not_before <= ? ORDER BY id LIMIT ?",
        (to_db_time(now), limit),
    ) as cur:
        return [_row(r) for r in await cur.fetchall()]


async def next_not_before(conn: aiosqlite.Connection) -> datetime | None:
    """When the next pending row becomes due."""
    async with conn.execute("SELECT MIN(not_before) FROM outbox WHERE status = 'pending'") as cur:
        row = await cur.fetchone()
    return from_db_time(row[0]) if row and row[0] else None


async def mark(
    conn: aiosqlite.Connection,
    row_id: int,
    status: str,
    *,
    now: datetime,
    error: str | None = None,
    not_before: datetime | None = None,
    attempts: int | None = None,
    message_id: int | None = None,
) -> None:
    """Move a row to a new status, recording what happened."""
    await conn.execute(
        "UPDATE outbox SET status = ?, last_error = COALESCE(?, last_error),"
        " not_before = COALESCE(?, not_before), attempts = COALESCE(?, attempts),"
        " message_id = COALESCE(?, message_id),"
        " sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END WHERE id = ?",
        (
            status,
            error,
            to_db_time(not_before) if not_before else None,
            attempts,
            message_id,
            status,
            to_db_time(now),
            row_id,
        ),
    )


async def reset_interrupted(conn: aiosqlite.Connection) -> int:
    """Rows caught mid-send by a crash go back to pending: each is resent at most once."""
    cursor = await conn.execute(
        "UPDATE outbox SET status = 'pending', last_error = 'interrupted; resent'"
        " WHERE status = 'sending'"
    )
    return cursor.rowcount


async def counts(conn: aiosqlite.Connection, source: str) -> dict[str, int]:
    """Rows of one source by status."""
    async with conn.execute(
        "SELECT status, count(*) AS n FROM outbox WHERE source = ? GROUP BY status", (source,)
    ) as cur:
        return {row["status"]: row["n"] for row in await cur.fetchall()}


async def failures(conn: aiosqlite.Connection, source: str) -> dict[str, int]:
    """Failed rows of one source by reason."""
    async with conn.execute(
        "SELECT last_error, count(*) AS n FROM outbox WHERE source = ? AND status = 'failed'"
        " GROUP BY last_error ORDER BY n DESC",
        (source,),
    ) as cur:
        return {row["last_error"] or "?": row["n"] for row in await cur.fetchall()}


async def cancel(conn: aiosqlite.Connection, source: str, now: datetime) -> int:
    """Stop every row of a source not sent yet."""
    cursor = await conn.execute(
        "UPDATE outbox SET status = 'cancelled', last_error = 'cancelled'"
        " WHERE source = ? AND status = 'pending'",
        (source,),
    )
    return cursor.rowcount


async def rows_of(conn: aiosqlite.Connection, source: str | None = None) -> list[Row]:
    """Every row (of a source), oldest first."""
    sql = "SELECT * FROM outbox" + (" WHERE source = ?" if source else "") + " ORDER BY id"
    async with conn.execute(sql, (source,) if source else ()) as cur:
        return [_row(r) for r in await cur.fetchall()]
