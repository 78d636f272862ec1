"""The SQL of the response counts that /stats, /pending and the report share."""

from __future__ import annotations

import aiosqlite

from bot.storage.repo import fetch_all, fetch_one

StageCohort = tuple[str, str, str]  # (instrument, stage, cohort)


async def roster_sizes(conn: aiosqlite.Connection) -> dict[str, tuple[int, int]]:
    """Cohort -> (people on the roster, people enrolled in the chat)."""
    rows = await fetch_all(
        conn,
        "SELECT p.cohort, COUNT(*), COUNT(b.participant_id) FROM participants p"
        " LEFT JOIN telegram_bindings b ON b.participant_id = p.id GROUP BY p.cohort",
    )
    return {r[0]: (r[1], r[2]) for r in rows}


async def counted_responses(conn: aiosqlite.Connection) -> dict[StageCohort, int]:
    """(instrument, stage, cohort) -> the attempts the report counts (``tallied``)."""
    rows = await fetch_all(
        conn,
        "SELECT a.instrument, a.stage, p.cohort, COUNT(*) FROM attempts a"
        " JOIN participants p ON p.id = a.participant_id WHERE a.tallied = 1"
        " GROUP BY 1, 2, 3",
    )
    return {(r[0], r[1], r[2]): r[3] for r in rows}


async def started_counts(conn: aiosqlite.Connection) -> dict[StageCohort, int]:
    """(instrument, stage, cohort) -> the people who started it, sent or not."""
    rows = await fetch_all(
        conn,
        "SELECT a.instrument, a.stage, p.cohort, COUNT(DISTINCT a.participant_id)"
        " FROM attempts a JOIN participants p ON p.id = a.participant_id GROUP BY 1, 2, 3",
    )
    return {(r[0], r[1], r[2]): r[3] for r in rows}


async def enrolled_count(conn: aiosqlite.Connection) -> int:
    """How many people are enrolled in the chat."""
    row = await fetch_one(conn, "SELECT COUNT(*) FROM telegram_bindings")
    return int(row[0]) if row else 0


async def enrolled_people(conn: aiosqlite.Connection) -> list[tuple[int, str]]:
    """(participant id, cohort) of everyone enrolled in the chat."""
    rows = await fetch_all(
        conn,
        "SELECT p.id, p.cohort FROM participants p"
        " JOIN telegram_bindings b ON b.participant_id = p.id",
    )
    return [(r[0], r[1]) for r in rows]
