"""The SQL of the check-ins at the venue: the QR codes shown (as hashes) and the scans."""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from bot.storage.repo import from_db_time, to_db_time


async def add_code(
    conn: aiosqlite.Connection,
    token_hash: str,
    session_id: str,
    *,
    staff_user_id: int,
    now: datetime,
    expires_at: datetime,
) -> None:
    """Record a check-in code (its hash) shown for a session."""
    await conn.execute(
        "INSERT INTO checkin_codes (token_hash, session, created_by, created_at, expires_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (token_hash, session_id, staff_user_id, to_db_time(now), to_db_time(expires_at)),
    )


async def code_by_hash(conn: aiosqlite.Connection, token_hash: str) -> tuple[str, datetime] | None:
    """The session and expiry of a code, or None when no such code was shown."""
    async with conn.execute(
        "SELECT session, expires_at FROM checkin_codes WHERE token_hash = ?", (token_hash,)
    ) as cur:
        row = await cur.fetchone()
    return (row[0], from_db_time(row[1])) if row else None


async def add_checkin(
    conn: aiosqlite.Connection, participant_id: int, session_id: str, slot: str, now: datetime
) -> bool:
    """Record a participant present in one window; False when they already were."""
    cursor = await conn.execute(
        "INSERT OR IGNORE INTO checkins (participant_id, session, slot, checked_at)"
        " VALUES (?, ?, ?, ?)",
        (participant_id, session_id, slot, to_db_time(now)),
    )
    return bool(cursor.rowcount)


async def checkins_of(
    conn: aiosqlite.Connection, participant_id: int, session_id: str
) -> dict[str, datetime]:
    """Window id -> when the participant checked in, for one session."""
    async with conn.execute(
        "SELECT slot, checked_at FROM checkins WHERE participant_id = ? AND session = ?",
        (participant_id, session_id),
    ) as cur:
        return {r[0]: from_db_time(r[1]) for r in await cur.fetchall()}
