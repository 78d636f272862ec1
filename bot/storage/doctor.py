"""The SQL of ``relais doctor``: what the outbox holds back and what failed lately."""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from bot.storage.outbox import Status
from bot.storage.repo import from_db_time, to_db_time


async def outbox_backlog(conn: aiosqlite.Connection) -> tuple[int, datetime | None]:
    """How many messages wait to be sent, and since when the oldest may go."""
    async with conn.execute(
        "SELECT count(*), MIN(not_before) FROM outbox WHERE status IN (?, ?)",
        (Status.PENDING, Status.SENDING),
    ) as cur:
        row = await cur.fetchone()
    waiting = int(row[0]) if row else 0
    oldest = from_db_time(row[1]) if row and row[1] else None
    return waiting, oldest


async def outbox_failures(conn: aiosqlite.Connection, since: datetime) -> list[tuple[str, int]]:
    """The errors of messages that failed since ``since``, most frequent first, with counts."""
    async with conn.execute(
        "SELECT last_error, count(*) FROM outbox WHERE status = ? AND not_before >= ?"
        " GROUP BY last_error ORDER BY count(*) DESC",
        (Status.FAILED, to_db_time(since)),
    ) as cur:
        return [(r[0] or "?", int(r[1])) for r in await cur.fetchall()]
