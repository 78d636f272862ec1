"""Read queries over the supervisors' answers, for the report and the evaluators' export.

Both read the latest submitted attempt per supervisor, supervisee and stage. The report
gets the supervisor's and the supervisee's ids to count distinct people (they never leave
``bot.services.report``); the export gets only the per-pair pseudonym.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from bot.storage import repo
from bot.storage.repo import from_db_time

# The latest submitted attempt per supervisor, supervisee, instrument and stage.
_LATEST = (
    "a.submitted_at IS NOT NULL AND a.number = (SELECT MAX(b.number) FROM supervisor_attempts b"
    " WHERE b.supervisor_id = a.supervisor_id AND b.participant_id = a.participant_id"
    " AND b.instrument = a.instrument AND b.stage = a.stage AND b.submitted_at IS NOT NULL)"
)


@dataclass(frozen=True, slots=True)
class Rated:
    """One submitted questionnaire: who answered it about whom, at which stage."""

    supervisor: int
    supervisee: int
    cohort: str  # the supervisee's
    stage: str
    # Item id -> the answer (None: skipped).
    answers: dict[str, Any]


async def submitted(conn: aiosqlite.Connection, instrument: str) -> list[Rated]:
    """Every latest submitted questionnaire of this instrument, with its answers."""
    found: dict[int, Rated] = {}
    async with conn.execute(
        "SELECT a.id, a.supervisor_id, a.participant_id, p.cohort, a.stage"
        " FROM supervisor_attempts a JOIN participants p ON p.id = a.participant_id"
        f" WHERE a.instrument = ? AND {_LATEST} ORDER BY a.id",
        (instrument,),
    ) as cursor:
        async for row in cursor:
            found[int(row[0])] = Rated(int(row[1]), int(row[2]), str(row[3]), str(row[4]), {})
    async with conn.execute(
        "SELECT x.attempt_id, x.item, x.value FROM supervisor_answers x"
        " JOIN supervisor_attempts a ON a.id = x.attempt_id"
        f" WHERE a.instrument = ? AND {_LATEST}",
        (instrument,),
    ) as cursor:
        async for row in cursor:
            attempt = found.get(int(row[0]))
            if attempt is not None:
                attempt.answers[str(row[1])] = json.loads(row[2])
    return list(found.values())


@dataclass(frozen=True, slots=True)
class ExportedAnswer:
    """One answer as the evaluators' export holds it: keyed by the pair's pseudonym only."""

    pseudonym: str
    instrument: str
    stage: str
    submitted_at: datetime
    item: str
    value: Any


async def export_answers(
    conn: aiosqlite.Connection,
    instrument: str,
    since: datetime | None = None,
    until: datetime | None = None,
) -> AsyncIterator[ExportedAnswer]:
    """The answers of the latest submitted questionnaires, ordered by pseudonym and stage
    (never by attempt or participant, so that no order follows the participants' sheets);
    ``since`` and ``until`` bound the submission time."""
    sql = (
        "SELECT a.pseudonym, a.instrument, a.stage, a.submitted_at, x.item, x.value"
        " FROM supervisor_attempts a JOIN supervisor_answers x ON x.attempt_id = a.id"
        f" WHERE a.instrument = ? AND {_LATEST}"
    )
    params: list[Any] = [instrument]
    if since is not None:
        sql += " AND a.submitted_at >= ?"
        params.append(repo.to_db_time(since))
    if until is not None:
        sql += " AND a.submitted_at < ?"
        params.append(repo.to_db_time(until))
    sql += " ORDER BY a.pseudonym, a.stage, x.item"
    async with conn.execute(sql, params) as cursor:
        async for row in cursor:
            yield ExportedAnswer(
                str(row[0]),
                str(row[1]),
                str(row[2]),
                from_db_time(row[3]),
                str(row[4]),
                json.loads(row[5]),
            )
