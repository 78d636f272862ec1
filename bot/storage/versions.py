"""Queries for item versions, and for scores from the correctness stored with each answer.

An answer row carries the fingerprint of the item version it answered
(``answers.item_version``) and, for quiz items, whether it was right under that
version's key (``answers.correct``). Scores are sums of ``correct``: a later edit of
the question or of its key changes nothing already answered, unless the content
declares a correction of the key (then ``scored_key`` differs from ``answer_key``).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import aiosqlite

from bot.storage.repo import fetch_all, from_db_time, to_db_time

# The latest submitted attempt of each participant and stage (reopened ones count up).
_LATEST_SUBMITTED = (
    "a.submitted_at IS NOT NULL AND a.number = (SELECT MAX(number) FROM attempts b"
    " WHERE b.participant_id = a.participant_id AND b.instrument = a.instrument"
    " AND b.stage = a.stage AND b.submitted_at IS NOT NULL)"
)


@dataclass(frozen=True, slots=True)
class ItemVersion:
    """One version of an item, as first loaded."""

    instrument: str
    item: str
    fingerprint: str
    definition: dict[str, Any]
    answer_key: str | None
    scored_key: str | None
    position: int | None
    first_seen: datetime

    @property
    def loaded(self) -> bool:
        """Whether this is the version in the content now loaded."""
        return self.position is not None


def _version(row: sqlite3.Row) -> ItemVersion:
    return ItemVersion(
        instrument=row["instrument"],
        item=row["item"],
        fingerprint=row["fingerprint"],
        definition=json.loads(row["definition"]),
        answer_key=row["answer_key"],
        scored_key=row["scored_key"],
        position=row["position"],
        first_seen=from_db_time(row["first_seen"]),
    )


async def versions(conn: aiosqlite.Connection, instrument: str | None = None) -> list[ItemVersion]:
    """Every version recorded (of one instrument), oldest first."""
    sql = "SELECT * FROM item_versions"
    params: tuple[Any, ...] = ()
    if instrument is not None:
        sql += " WHERE instrument = ?"
        params = (instrument,)
    rows = await fetch_all(conn, sql + " ORDER BY first_seen, rowid", params)
    return [_version(r) for r in rows]


async def add_version(
    conn: aiosqlite.Connection,
    *,
    instrument: str,
    item: str,
    fingerprint: str,
    definition: dict[str, Any],
    answer_key: str | None,
    now: datetime,
) -> None:
    """Record a version the first time it is loaded; a version seen before is kept as it was."""
    await conn.execute(
        "INSERT INTO item_versions (instrument, item, fingerprint, definition, answer_key,"
        " scored_key, first_seen) VALUES (?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (instrument, item, fingerprint) DO NOTHING",
        (
            instrument,
            item,
            fingerprint,
            json.dumps(definition, ensure_ascii=False, sort_keys=True),
            answer_key,
            answer_key,
            to_db_time(now),
        ),
    )


async def set_loaded(
    conn: aiosqlite.Connection, instrument: str, loaded: list[tuple[str, str]]
) -> None:
    """Mark the versions of the content now loaded, in its order: (item, fingerprint)."""
    await conn.execute(
        "UPDATE item_versions SET position = NULL WHERE instrument = ? AND position IS NOT NULL",
        (instrument,),
    )
    await conn.executemany(
        "UPDATE item_versions SET position = ? WHERE instrument = ? AND item = ?"
        " AND fingerprint = ?",
        [(n, instrument, item, fp) for n, (item, fp) in enumerate(loaded)],
    )


async def backfill(
    conn: aiosqlite.Connection,
    instrument: str,
    content_version: str,
    stamps: list[tuple[str, str, str | None]],
) -> int:
    """Version the rows written without one, in attempts started under this content.

    ``stamps`` gives (item, fingerprint, key) of that content. Returns the rows versioned.
    """
    count = 0
    for item, fingerprint, key in stamps:
        cursor = await conn.execute(
            "UPDATE answers SET item_version = ?,"
            " correct = CASE WHEN ? IS NULL THEN NULL ELSE value = json_quote(?) END"
            " WHERE item_version IS NULL AND item = ? AND attempt_id IN (SELECT id FROM"
            " attempts WHERE instrument = ? AND content_version = ?)",
            (fingerprint, key, key, item, instrument, content_version),
        )
        count += max(cursor.rowcount, 0)
    return count


async def unversioned(conn: aiosqlite.Connection, instrument: str) -> int:
    """Rows whose version cannot be known: given under content no longer on disk."""
    rows = await fetch_all(
        conn,
        "SELECT count(*) FROM answers x JOIN attempts a ON a.id = x.attempt_id"
        " WHERE x.item_version IS NULL AND a.instrument = ?",
        (instrument,),
    )
    return int(rows[0][0])


async def rescore(
    conn: aiosqlite.Connection,
    instrument: str,
    item: str,
    fingerprint: str,
    key: str,
    *,
    rows: Literal["version", "unknown"],
) -> int:
    """Score answers with ``key``; returns the rows changed.

    ``version``: the answers to this version (and remember the key it is scored with);
    ``unknown``: the answers of unknown version, scored like the item's earliest version.
    """
    if rows == "version":
        await conn.execute(
            "UPDATE item_versions SET scored_key = ? WHERE instrument = ? AND item = ?"
            " AND fingerprint = ?",
            (key, instrument, item, fingerprint),
        )
        which, params = "x.item_version = ?", [fingerprint]
    else:
        which, params = "x.item_version IS NULL", []
    cursor = await conn.execute(
        "UPDATE answers AS x SET correct = (value = json_quote(?))"
        f" WHERE {which} AND x.item = ? AND correct IS NOT (value = json_quote(?))"
        " AND x.attempt_id IN (SELECT id FROM attempts WHERE instrument = ?)",
        (key, *params, item, key, instrument),
    )
    return max(cursor.rowcount, 0)


@dataclass(frozen=True, slots=True)
class AnswerCount:
    """How many answers one version of an item has, and how many are not yet sent."""

    total: int
    in_progress: int


async def answer_counts(
    conn: aiosqlite.Connection,
) -> dict[tuple[str, str, str | None], AnswerCount]:
    """(instrument, item, version or None when unknown) -> counts of its answers."""
    # The participants' and the supervisors' answers (instrument ids differ between them).
    rows = await fetch_all(
        conn,
        "SELECT instrument, item, item_version, count(*) AS total, sum(open) AS open FROM"
        " (SELECT a.instrument, x.item, x.item_version, a.submitted_at IS NULL AS open"
        " FROM answers x JOIN attempts a ON a.id = x.attempt_id UNION ALL"
        " SELECT a.instrument, x.item, x.item_version, a.submitted_at IS NULL"
        " FROM supervisor_answers x JOIN supervisor_attempts a ON a.id = x.attempt_id)"
        " GROUP BY 1, 2, 3",
    )
    return {(r[0], r[1], r[2]): AnswerCount(r["total"], r["open"]) for r in rows}


async def rescore_preview(
    conn: aiosqlite.Connection, instrument: str, item: str, fingerprints: list[str], key: str
) -> int:
    """How many answers scoring these versions with ``key`` would change (nothing written)."""
    if not fingerprints:
        return 0
    marks = ", ".join("?" * len(fingerprints))
    rows = await fetch_all(
        conn,
        "SELECT count(*) FROM answers x JOIN attempts a ON a.id = x.attempt_id"
        f" WHERE a.instrument = ? AND x.item = ? AND x.item_version IN ({marks})"
        " AND x.correct IS NOT (x.value = json_quote(?))",
        (instrument, item, *fingerprints, key),
    )
    return int(rows[0][0])


# --- what the report and the exports read ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AttemptScore:
    """The score of one submitted attempt: right answers under the key each was given under."""

    attempt_id: int
    participant_id: int
    stage: str
    score: int
    maximum: int

    @property
    def percent(self) -> float | None:
        return 100 * self.score / self.maximum if self.maximum else None


async def quiz_scores(
    conn: aiosqlite.Connection, instrument: str, participant_id: int | None = None
) -> list[AttemptScore]:
    """Per latest submitted attempt of each participant and stage: sum of correct, and the
    number of scored items answered (the maximum), in one query."""
    sql = (
        "SELECT a.id, a.participant_id, a.stage, coalesce(sum(x.correct), 0) AS score,"
        " count(x.correct) AS maximum FROM attempts a LEFT JOIN answers x"
        f" ON x.attempt_id = a.id WHERE a.instrument = ? AND {_LATEST_SUBMITTED}"
    )
    params: list[Any] = [instrument]
    if participant_id is not None:
        sql += " AND a.participant_id = ?"
        params.append(participant_id)
    rows = await fetch_all(conn, sql + " GROUP BY a.id ORDER BY a.id", tuple(params))
    return [AttemptScore(r[0], r[1], r[2], r["score"], r["maximum"]) for r in rows]


@dataclass(frozen=True, slots=True)
class ItemResult:
    """One scored answer of a submitted attempt: which version, right or wrong."""

    attempt_id: int
    participant_id: int
    stage: str
    item: str
    version: str | None
    value: Any
    correct: bool


async def item_results(
    conn: aiosqlite.Connection, instrument: str, participant_id: int | None = None
) -> list[ItemResult]:
    """Per-item correctness of the latest submitted attempts (facility indices, KAT sheet)."""
    sql = (
        "SELECT a.id, a.participant_id, a.stage, x.item, x.item_version, x.value, x.correct"
        " FROM answers x JOIN attempts a ON a.id = x.attempt_id"
        f" WHERE a.instrument = ? AND x.correct IS NOT NULL AND {_LATEST_SUBMITTED}"
    )
    params: list[Any] = [instrument]
    if participant_id is not None:
        sql += " AND a.participant_id = ?"
        params.append(participant_id)
    rows = await fetch_all(conn, sql + " ORDER BY a.id, x.item", tuple(params))
    return [ItemResult(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), bool(r[6])) for r in rows]


async def recorded(conn: aiosqlite.Connection) -> bool:
    """Whether the database records item versions yet (migration 8 has run)."""
    rows = await fetch_all(conn, "SELECT 1 FROM sqlite_master WHERE name = 'item_versions'")
    return bool(rows)


async def has_unversioned_answers(conn: aiosqlite.Connection) -> bool:
    """Whether some answers were given before item versions were recorded."""
    rows = await fetch_all(conn, "SELECT EXISTS (SELECT 1 FROM answers WHERE item_version IS NULL)")
    return bool(rows[0][0])


async def open_attempts(conn: aiosqlite.Connection) -> dict[str, int]:
    """Instrument -> attempts started and not sent."""
    rows = await fetch_all(
        conn,
        "SELECT instrument, count(*) FROM (SELECT instrument FROM attempts"
        " WHERE submitted_at IS NULL UNION ALL SELECT instrument FROM supervisor_attempts"
        " WHERE submitted_at IS NULL) GROUP BY 1",
    )
    return {r[0]: int(r[1]) for r in rows}


async def corrected_answer_counts(conn: aiosqlite.Connection) -> dict[tuple[str, str], int]:
    """(instrument, item) -> answers scored now with a key other than the one they were
    given under."""
    rows = await fetch_all(
        conn,
        "SELECT v.instrument, v.item, count(*) FROM answers x"
        " JOIN attempts a ON a.id = x.attempt_id JOIN item_versions v"
        " ON v.instrument = a.instrument AND v.item = x.item"
        " AND v.fingerprint = x.item_version"
        " WHERE v.scored_key IS NOT v.answer_key GROUP BY 1, 2",
    )
    return {(r[0], r[1]): int(r[2]) for r in rows}
