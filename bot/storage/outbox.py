"""The outbox: every reminder, invitation, nudge and broadcast message is a row until sent.

A row goes pending -> sending -> sent, or failed with a reason, or skipped (missed
beyond its grace window), or cancelled (its broadcast was). ``key`` makes a scheduled
delivery exactly-once: the same (participant, campaign step) cannot be queued twice.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from bot.storage.repo import _opt_time, fetch_one, from_db_time, to_db_time


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


# A row's payload is its own, or the shared one it refers to (planned messages).
_SELECT = (
    "SELECT o.*, coalesce(shared.body, o.payload) AS body FROM outbox o"
    " LEFT JOIN outbox_payloads shared ON shared.id = o.payload_id"
)


def _row(row: sqlite3.Row) -> Row:
    return Row(
        id=row["id"],
        key=row["key"],
        kind=row["kind"],
        source=row["source"],
        participant_id=row["participant_id"],
        chat_id=row["chat_id"],
        payload=json.loads(row["body"]),
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


async def store_payload(conn: aiosqlite.Connection, payload: dict[str, Any]) -> int:
    """Keep a payload many rows will share; its id for ``payload_id``."""
    row = await fetch_one(
        conn,
        "INSERT INTO outbox_payloads (body) VALUES (?) RETURNING id",
        (json.dumps(payload, ensure_ascii=False),),
    )
    assert row is not None
    return int(row[0])


async def enqueue_shared(
    conn: aiosqlite.Connection,
    *,
    kind: str,
    source: str,
    payload: dict[str, Any],
    recipients: Sequence[tuple[str, int | None, int]],
    due_at: datetime,
    now: datetime,
) -> None:
    """Queue one message to many (key, participant id, chat id): the payload stored once,
    the rows in one trip, so a broadcast to thousands holds the database only briefly."""
    payload_id = await store_payload(conn, payload)
    stamp = to_db_time(now)
    await conn.executemany(
        "INSERT INTO outbox (key, kind, source, participant_id, chat_id, payload, payload_id,"
        " status, due_at, not_before, created_at)"
        " VALUES (?, ?, ?, ?, ?, '{}', ?, 'pending', ?, ?, ?) ON CONFLICT (key) DO NOTHING",
        [
            (
                key,
                kind,
                source,
                participant_id,
                chat_id,
                payload_id,
                to_db_time(due_at),
                stamp,
                stamp,
            )
            for key, participant_id, chat_id in recipients
        ],
    )


@dataclass(frozen=True, slots=True)
class Audience:
    """Who the planner writes to: each cohort's languages, and a fingerprint of enrolment."""

    languages: dict[str, list[str]]
    fingerprint: str


async def audience(conn: aiosqlite.Connection) -> Audience:
    """The cohorts and languages on the roster, and the enrolment epoch."""
    languages: dict[str, list[str]] = {}
    async with conn.execute(
        # Everyone on the roster, enrolled or not: answered from the index alone.
        "SELECT DISTINCT cohort, coalesce(language, 'fr') FROM participants ORDER BY 1, 2"
    ) as cur:
        for cohort, language in await cur.fetchall():
            languages.setdefault(cohort, []).append(language)
    async with conn.execute("SELECT epoch FROM plan_epoch") as cur:
        row = await cur.fetchone()
    return Audience(languages, str(row[0] if row else 0))


@dataclass(frozen=True, slots=True)
class CohortStep:
    """One scheduled delivery for everyone enrolled in a cohort."""

    prefix: str
    kind: str
    source: str
    cohort: str
    due_at: datetime
    # One rendered payload per language of the cohort.
    payloads: dict[str, dict[str, Any]]
    unless_submitted: tuple[str, str] | None = None


async def enqueue_cohort(conn: aiosqlite.Connection, step: CohortStep, now: datetime) -> int:
    """Queue the step for every enrolled participant of the cohort who lacks it; how many.

    The key ``<prefix>:<participant id>`` is unique, so a participant who already has
    the row (sent or pending) is left alone, in SQL rather than in memory.
    """
    shared = {
        language: await store_payload(conn, payload) for language, payload in step.payloads.items()
    }
    cases = " ".join("WHEN ? THEN ?" for _ in shared)
    params: list[Any] = [step.prefix, step.kind, step.source]
    for language, payload_id in shared.items():
        params += [language, payload_id]
    params.append(shared.get("fr"))
    stamp = to_db_time(now)
    params += [to_db_time(step.due_at), stamp, stamp, step.cohort]
    guard = ""
    if step.unless_submitted is not None:
        guard = (
            " AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.participant_id = p.id"
            " AND a.instrument = ? AND a.stage = ? AND a.submitted_at IS NOT NULL)"
        )
        params += list(step.unless_submitted)
    cursor = await conn.execute(
        "INSERT INTO outbox (key, kind, source, participant_id, chat_id, payload, payload_id,"
        " status, due_at, not_before, created_at)"
        f" SELECT ? || ':' || p.id, ?, ?, p.id, b.chat_id, '{{}}',"
        f" CASE coalesce(p.language, 'fr') {cases} ELSE ? END, 'pending', ?, ?, ?"
        " FROM participants p JOIN telegram_bindings b ON b.participant_id = p.id"
        f" WHERE p.cohort = ?{guard}"
        " ON CONFLICT (key) DO NOTHING",
        params,
    )
    added = max(cursor.rowcount, 0)
    if not added:
        # Everyone had it already (a re-plan after an enrolment elsewhere): keep no orphans.
        marks = ", ".join("?" for _ in shared)
        await conn.execute(
            f"DELETE FROM outbox_payloads WHERE id IN ({marks})", list(shared.values())
        )
    return added


@dataclass(frozen=True, slots=True)
class Mark:
    """What the planner last did with a step for a cohort."""

    cohort: str
    step: str
    fingerprint: str
    reason: str | None
    planned_at: datetime


async def plan_marks(conn: aiosqlite.Connection) -> dict[tuple[str, str], Mark]:
    """Every (cohort, step) planned or recorded as missed."""
    async with conn.execute("SELECT * FROM plan_marks") as cur:
        return {
            (row["cohort"], row["step"]): Mark(
                row["cohort"],
                row["step"],
                row["fingerprint"],
                row["reason"],
                from_db_time(row["planned_at"]),
            )
            for row in await cur.fetchall()
        }


async def mark_planned(conn: aiosqlite.Connection, mark: Mark) -> None:
    """Record that a step is planned for everyone enrolled at the mark's fingerprint, or missed."""
    await conn.execute(
        "INSERT INTO plan_marks (cohort, step, fingerprint, reason, planned_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (cohort, step) DO UPDATE SET"
        " fingerprint = excluded.fingerprint, reason = excluded.reason,"
        " planned_at = excluded.planned_at",
        (mark.cohort, mark.step, mark.fingerprint, mark.reason, to_db_time(mark.planned_at)),
    )


async def due(conn: aiosqlite.Connection, now: datetime, limit: int) -> list[Row]:
    """Pending rows whose time has come, oldest first."""
    async with conn.execute(
        _SELECT + " WHERE o.status = 'pending' AND o.not_before <= ? ORDER BY o.id LIMIT ?",
        (to_db_time(now), limit),
    ) as cur:
        return [_row(r) for r in await cur.fetchall()]


async def next_not_before(conn: aiosqlite.Connection) -> datetime | None:
    """When the next pending row becomes due."""
    async with conn.execute("SELECT MIN(not_before) FROM outbox WHERE status = 'pending'") as cur:
        row = await cur.fetchone()
    return from_db_time(row[0]) if row and row[0] else None


@dataclass(frozen=True, slots=True)
class Change:
    """A row moving to a new status, with what happened."""

    row_id: int
    status: str
    now: datetime
    error: str | None = None
    not_before: datetime | None = None
    attempts: int | None = None
    message_id: int | None = None

    def params(self) -> tuple[Any, ...]:
        return (
            self.status,
            self.error,
            to_db_time(self.not_before) if self.not_before else None,
            self.attempts,
            self.message_id,
            self.status,
            to_db_time(self.now),
            self.row_id,
        )


_MARK = (
    "UPDATE outbox SET status = ?, last_error = COALESCE(?, last_error),"
    " not_before = COALESCE(?, not_before), attempts = COALESCE(?, attempts),"
    " message_id = COALESCE(?, message_id),"
    " sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END WHERE id = ?"
)


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
    change = Change(row_id, status, now, error, not_before, attempts, message_id)
    await conn.execute(_MARK, change.params())


async def mark_many(conn: aiosqlite.Connection, changes: Sequence[Change]) -> None:
    """Several rows' changes in one statement's trip, applied in order."""
    await conn.executemany(_MARK, [c.params() for c in changes])


async def reset_interrupted(conn: aiosqlite.Connection) -> int:
    """Rows caught mid-send by a crash go back to pending: each is resent at most once."""
    cursor = await conn.execute(
        "UPDATE outbox SET status = 'pending', last_error = 'interrupted; resent'"
        " WHERE status = 'sending'"
    )
    return cursor.rowcount


async def counts(conn: aiosqlite.Connection, source: str) -> dict[str, int]:
    """Rows of one broadcast by status."""
    async with conn.execute(
        "SELECT status, count(*) AS n FROM outbox WHERE kind = 'broadcast' AND source = ?"
        " GROUP BY status",
        (source,),
    ) as cur:
        return {row["status"]: row["n"] for row in await cur.fetchall()}


async def failures(conn: aiosqlite.Connection, source: str) -> dict[str, int]:
    """Failed rows of one broadcast by reason."""
    async with conn.execute(
        "SELECT last_error, count(*) AS n FROM outbox WHERE kind = 'broadcast' AND source = ?"
        " AND status = 'failed'"
        " GROUP BY last_error ORDER BY n DESC",
        (source,),
    ) as cur:
        return {row["last_error"] or "?": row["n"] for row in await cur.fetchall()}


async def cancel(conn: aiosqlite.Connection, source: str, now: datetime) -> int:
    """Stop every row of a broadcast not sent yet."""
    cursor = await conn.execute(
        "UPDATE outbox SET status = 'cancelled', last_error = 'cancelled'"
        " WHERE kind = 'broadcast' AND source = ? AND status = 'pending'",
        (source,),
    )
    return cursor.rowcount


async def rows_of(conn: aiosqlite.Connection, source: str | None = None) -> list[Row]:
    """Every row (of a source), oldest first."""
    sql = _SELECT + (" WHERE o.source = ?" if source else "") + " ORDER BY o.id"
    async with conn.execute(sql, (source,) if source else ()) as cur:
        return [_row(r) for r in await cur.fetchall()]
