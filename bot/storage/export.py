"""The SQL of the evaluator's export: every answer of the latest submitted attempts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from bot.storage import repo


@dataclass(frozen=True, slots=True)
class Filters:
    """What to export: one instrument, one cohort, answers within dates (all when None)."""

    instrument: str | None = None
    cohort: str | None = None
    since: datetime | None = None
    until: datetime | None = None


# Every answer of the latest submitted attempt per participant and stage; filters are
# appended as AND clauses, then ANSWERS_ORDER.
ANSWERS_SQL = (
    "SELECT p.code, p.cohort, p.gender, a.instrument, a.stage, a.id AS attempt,"
    " x.item, x.value, x.answered_at, x.item_version, x.correct FROM answers x"
    " JOIN attempts a ON a.id = x.attempt_id JOIN participants p ON p.id = a.participant_id"
    " WHERE a.submitted_at IS NOT NULL AND a.number = (SELECT MAX(number) FROM attempts b"
    " WHERE b.participant_id = a.participant_id AND b.instrument = a.instrument"
    " AND b.stage = a.stage AND b.submitted_at IS NOT NULL)"
)
ANSWERS_ORDER = " ORDER BY a.instrument, p.code, a.stage, a.id"


async def answer_rows(conn: aiosqlite.Connection, filters: Filters) -> AsyncIterator[aiosqlite.Row]:
    """The rows of ``ANSWERS_SQL`` with the filters, in ``ANSWERS_ORDER``."""
    sql = ANSWERS_SQL
    params: list[Any] = []
    if filters.instrument:
        sql += " AND a.instrument = ?"
        params.append(filters.instrument)
    if filters.cohort:
        sql += " AND p.cohort = ?"
        params.append(filters.cohort)
    if filters.since:
        sql += " AND x.answered_at >= ?"
        params.append(repo.to_db_time(filters.since))
    if filters.until:
        sql += " AND x.answered_at < ?"
        params.append(repo.to_db_time(filters.until))
    sql += ANSWERS_ORDER
    async with conn.execute(sql, params) as cursor:
        # A trip to the database thread per 64 rows (aiosqlite's default) adds up over a
        # million answers; 2,000 rows at a time stay small in memory.
        cursor.iter_chunk_size = 2000
        async for row in cursor:
            yield row
