"""The SQL of the participant's data rights: erasure as ``personal`` declares it, and counts."""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from bot.storage import personal
from bot.storage.outbox import Status
from bot.storage.repo import to_db_time


async def erase_participant(
    conn: aiosqlite.Connection, participant_id: int, code: str, *, with_answers: bool, now: datetime
) -> None:
    """Erase one participant's identity (and answers) as ``personal.TABLES`` declares."""
    # Queued messages to them are not sent any more (chat_id goes with the identity below).
    await conn.execute(
        "UPDATE outbox SET status = ? WHERE participant_id = ? AND status = ?",
        (Status.CANCELLED, participant_id, Status.PENDING),
    )
    params = {"pid": participant_id, "code": code, **personal.ERASURE_VALUES}
    for statement in personal.IDENTITY_STATEMENTS:
        await conn.execute(statement, params)
    await conn.execute(
        "UPDATE participants SET forgotten_at = ?, updated_at = ? WHERE id = ?",
        (to_db_time(now), to_db_time(now), participant_id),
    )
    if with_answers:
        for statement in personal.ANSWER_STATEMENTS:
            await conn.execute(statement, {"pid": participant_id})


async def identities_held(conn: aiosqlite.Connection) -> list[int]:
    """The ids of the participants not yet forgotten."""
    async with conn.execute("SELECT id FROM participants WHERE forgotten_at IS NULL") as cur:
        return [int(row[0]) for row in await cur.fetchall()]


async def erase_guests(conn: aiosqlite.Connection) -> int:
    """Delete the rows that name people who are no participant; how many."""
    deleted = 0
    for statement in personal.GUEST_STATEMENTS:
        cursor = await conn.execute(statement)
        deleted += cursor.rowcount
    return deleted


async def messages_to(conn: aiosqlite.Connection, participant_id: int) -> int:
    """How many messages the outbox holds for a participant."""
    async with conn.execute(
        "SELECT count(*) FROM outbox WHERE participant_id = ?", (participant_id,)
    ) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def presence_records(conn: aiosqlite.Connection, participant_id: int) -> int:
    """How many Zoom visits, check-ins and e-campus completions are recorded for them."""
    async with conn.execute(
        "SELECT (SELECT count(*) FROM attendance_visits WHERE participant_id = :pid)"
        " + (SELECT count(*) FROM checkins WHERE participant_id = :pid)"
        " + (SELECT count(*) FROM ecampus_completions WHERE participant_id = :pid)",
        {"pid": participant_id},
    ) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def forgotten_ids(conn: aiosqlite.Connection) -> set[int]:
    """The ids of the participants whose identity was erased."""
    async with conn.execute("SELECT id FROM participants WHERE forgotten_at IS NOT NULL") as cur:
        return {int(row[0]) for row in await cur.fetchall()}
