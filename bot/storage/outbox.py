"""The outbox: every reminder, invitation, nudge and broadcast message is a row until sent.

A row goes pending -> sending -> sent, or failed with a reason, or skipped (its guard's
stage was submitted meanwhile), or cancelled (its broadcast was). ``key`` makes a scheduled
delivery exactly-once: the same (participant, campaign step) cannot be queued twice, nor
the same (supervisor, campaign step, cohorts).

A row goes to a participant (``participant_id``) or to a supervisor (``supervisor_id``),
never both: the participants' planner joins only participants, the supervisors' only
supervisors.

"Stop nudging after submission" is one rule, ``_SUBMITTED``: the planner does not queue a
guarded row for someone it already holds for, and the sender skips one that became true
after it was queued. For a supervisor it holds once they have answered about every
supervisee of the row's cohorts.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import aiosqlite

from bot.outgoing import Guard, OutgoingMessage
from bot.storage.repo import _opt_time, fetch_one, from_db_time, to_db_time


class Status(StrEnum):
    """Where an outbox row stands (the CHECK of the ``outbox.status`` column)."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


# A supervisor's latest attempt about the supervisee of the supervision ``v`` is submitted
# (over SQL expressions for the instrument and stage); the planner counts with it too.
_SUPERVISEE_SUBMITTED = (
    "coalesce((SELECT s.submitted_at IS NOT NULL FROM supervisor_attempts s"
    " WHERE s.supervisor_id = v.supervisor_id AND s.participant_id = v.participant_id"
    " AND s.instrument = {instrument} AND s.stage = {stage}"
    " ORDER BY s.number DESC LIMIT 1), 0)"
)

# One of the cohorts of a '+'-separated list (cohort ids are slugs, without '+').
_IN_COHORTS = "instr('+' || {cohorts} || '+', '+' || p.cohort || '+') > 0"

# The guard's rule for a participant: their latest attempt at the stage is submitted (a
# reopened stage counts as not submitted, as in /pending and the broadcasts' "not yet
# answered" audiences), over SQL expressions for the participant, instrument and stage.
_PARTICIPANT_SUBMITTED = (
    "coalesce((SELECT a.submitted_at IS NOT NULL FROM attempts a"
    " WHERE a.participant_id = {participant} AND a.instrument = {instrument}"
    " AND a.stage = {stage} ORDER BY a.number DESC LIMIT 1), 0)"
)

# For a supervisor: their latest attempt about every person they supervise in the row's
# cohorts is submitted.
_SUPERVISOR_SUBMITTED = (
    "NOT EXISTS (SELECT 1 FROM supervisions v JOIN participants p ON p.id = v.participant_id"
    " WHERE v.supervisor_id = {supervisor} AND p.forgotten_at IS NULL"
    f" AND {_IN_COHORTS} AND NOT {_SUPERVISEE_SUBMITTED})"
)

# The one rule over a row, which names one recipient or the other (the other NULL).
_SUBMITTED = (
    f"CASE WHEN {{supervisor}} IS NULL THEN {_PARTICIPANT_SUBMITTED}"
    f" ELSE {_SUPERVISOR_SUBMITTED} END"
)


@dataclass(frozen=True, slots=True)
class Row:
    """One message to deliver."""

    id: int
    key: str | None
    kind: str
    source: str
    participant_id: int | None
    chat_id: int | None
    message: OutgoingMessage
    status: Status
    attempts: int
    last_error: str | None
    due_at: datetime
    not_before: datetime
    sent_at: datetime | None
    message_id: int | None
    supervisor_id: int | None = None


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
        message=OutgoingMessage.loads(row["body"], _guard(row)),
        status=Status(row["status"]),
        attempts=row["attempts"],
        last_error=row["last_error"],
        due_at=from_db_time(row["due_at"]),
        not_before=from_db_time(row["not_before"]),
        sent_at=_opt_time(row["sent_at"]),
        message_id=row["message_id"],
        supervisor_id=row["supervisor_id"],
    )


def _guard(row: sqlite3.Row) -> Guard | None:
    if row["unless_instrument"] is None:
        return None
    cohorts = tuple(str(row["unless_cohorts"] or "").split("+")) if row["unless_cohorts"] else ()
    return Guard(row["unless_instrument"], row["unless_stage"], cohorts)


def _guard_columns(message: OutgoingMessage) -> tuple[str | None, str | None, str | None]:
    guard = message.unless_submitted
    if guard is None:
        return (None, None, None)
    return (guard.instrument, guard.stage, "+".join(guard.cohorts) or None)


async def enqueue(
    conn: aiosqlite.Connection,
    *,
    key: str | None,
    kind: str,
    source: str,
    participant_id: int | None,
    chat_id: int | None,
    message: OutgoingMessage,
    due_at: datetime,
    now: datetime,
    status: Status = Status.PENDING,
    reason: str | None = None,
) -> bool:
    """Queue a message; False if a row with the same key exists (already queued or skipped)."""
    cursor = await conn.execute(
        "INSERT INTO outbox (key, kind, source, participant_id, chat_id, payload,"
        " unless_instrument, unless_stage, unless_cohorts, status, last_error, due_at,"
        " not_before, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
        (
            key,
            kind,
            source,
            participant_id,
            chat_id,
            message.dumps(),
            *_guard_columns(message),
            status,
            reason,
            to_db_time(due_at),
            to_db_time(now),
            to_db_time(now),
        ),
    )
    return cursor.rowcount > 0


async def store_payload(conn: aiosqlite.Connection, message: OutgoingMessage) -> int:
    """Keep a message's content many rows will share; its id for ``payload_id``."""
    row = await fetch_one(
        conn, "INSERT INTO outbox_payloads (body) VALUES (?) RETURNING id", (message.dumps(),)
    )
    assert row is not None
    return int(row[0])


async def enqueue_shared(
    conn: aiosqlite.Connection,
    *,
    kind: str,
    source: str,
    message: OutgoingMessage,
    recipients: Sequence[tuple[str, int | None, int]],
    due_at: datetime,
    now: datetime,
) -> None:
    """Queue one message to many (key, participant id, chat id): the content stored once,
    the rows in one trip, so a broadcast to thousands holds the database only briefly."""
    payload_id = await store_payload(conn, message)
    stamp = to_db_time(now)
    await conn.executemany(
        "INSERT INTO outbox (key, kind, source, participant_id, chat_id, payload, payload_id,"
        " unless_instrument, unless_stage, unless_cohorts, status, due_at, not_before,"
        " created_at)"
        " VALUES (?, ?, ?, ?, ?, '{}', ?, ?, ?, ?, 'pending', ?, ?, ?)"
        " ON CONFLICT (key) DO NOTHING",
        [
            (
                key,
                kind,
                source,
                participant_id,
                chat_id,
                payload_id,
                *_guard_columns(message),
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


async def audience(conn: aiosqlite.Connection, default_locale: str) -> Audience:
    """The cohorts and languages on the roster (no language: the default), and the
    enrolment epoch."""
    languages: dict[str, list[str]] = {}
    async with conn.execute(
        # Everyone on the roster, enrolled or not: answered from the index alone.
        "SELECT DISTINCT cohort, coalesce(language, ?) FROM participants ORDER BY 1, 2",
        (default_locale,),
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
    # One rendered message per language of the cohort, each with the step's guard.
    messages: dict[str, OutgoingMessage]
    # The language of participants who have none (the configured default).
    default_locale: str

    @property
    def guard(self) -> Guard | None:
        """The step's guard, the same in every language."""
        guards = {m.unless_submitted for m in self.messages.values()}
        if len(guards) > 1:
            raise ValueError(f"step {self.prefix}: the languages disagree on the guard")
        return next(iter(guards), None)


async def enqueue_cohort(conn: aiosqlite.Connection, step: CohortStep, now: datetime) -> int:
    """Queue the step for every enrolled participant of the cohort who lacks it; how many.

    The key ``<prefix>:<participant id>`` is unique, so a participant who already has
    the row (sent or pending) is left alone, in SQL rather than in memory. A guarded step
    is not queued for whoever has already submitted its stage.
    """
    shared = {
        language: await store_payload(conn, message) for language, message in step.messages.items()
    }
    guard = step.guard
    cases = " ".join("WHEN ? THEN ?" for _ in shared)
    params: list[Any] = [step.prefix, step.kind, step.source]
    params += [guard.instrument if guard else None, guard.stage if guard else None]
    params.append(step.default_locale)
    for language, payload_id in shared.items():
        params += [language, payload_id]
    params.append(shared.get(step.default_locale))
    stamp = to_db_time(now)
    params += [to_db_time(step.due_at), stamp, stamp, step.cohort]
    unless = ""
    if guard is not None:
        rule = _PARTICIPANT_SUBMITTED.format(participant="p.id", instrument="?", stage="?")
        unless = f" AND NOT {rule}"
        params += [guard.instrument, guard.stage]
    cursor = await conn.execute(
        "INSERT INTO outbox (key, kind, source, participant_id, chat_id, payload,"
        " unless_instrument, unless_stage, payload_id, status, due_at, not_before, created_at)"
        f" SELECT ? || ':' || p.id, ?, ?, p.id, b.chat_id, '{{}}', ?, ?,"
        f" CASE coalesce(p.language, ?) {cases} ELSE ? END, 'pending', ?, ?, ?"
        " FROM participants p JOIN telegram_bindings b ON b.participant_id = p.id"
        f" WHERE p.cohort = ?{unless}"
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
class SupervisorStep:
    """One scheduled delivery for the supervisors of the people of some cohorts: one row per
    supervisor, however many of those people they supervise."""

    prefix: str
    kind: str
    source: str
    # The cohorts whose step falls at this same instant: one message covers them all.
    cohorts: tuple[str, ...]
    due_at: datetime
    guard: Guard | None
    default_locale: str

    @property
    def key_prefix(self) -> str:
        """The rows' key without the supervisor's id: ``<step>:sup:<cohorts>``."""
        return f"{self.prefix}:sup:{'+'.join(self.cohorts)}"


@dataclass(frozen=True, slots=True)
class SupervisorRecipient:
    """A bound supervisor who lacks the step: their chat, language and how many people the
    message asks them about (a nudge: those not answered about yet)."""

    supervisor_id: int
    chat_id: int
    language: str
    count: int


async def supervisor_recipients(
    conn: aiosqlite.Connection, step: SupervisorStep
) -> list[SupervisorRecipient]:
    """The bound supervisors of someone in the step's cohorts who lack its row; a guarded
    step leaves out whoever has answered about all of them (``_SUBMITTED``'s rule)."""
    params: list[Any] = [step.default_locale, "+".join(step.cohorts)]
    unless = ""
    if step.guard is not None:
        rule = _SUPERVISEE_SUBMITTED.format(instrument="?", stage="?")
        unless = f" AND NOT {rule}"
        params += [step.guard.instrument, step.guard.stage]
    params.append(step.key_prefix)
    async with conn.execute(
        # The language a supervisor chose (/language, by their Telegram account), else the
        # default; unbound supervisors have no chat and are not reached, like participants.
        "SELECT v.supervisor_id, b.chat_id, coalesce(u.language, ?), count(*)"
        " FROM supervisions v JOIN participants p ON p.id = v.participant_id"
        " JOIN supervisor_bindings b ON b.supervisor_id = v.supervisor_id"
        " LEFT JOIN user_settings u ON u.user_id = b.user_id"
        f" WHERE p.forgotten_at IS NULL AND {_IN_COHORTS.format(cohorts='?')}{unless}"
        " AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.key = ? || ':' || v.supervisor_id)"
        " GROUP BY v.supervisor_id, b.chat_id, u.language ORDER BY v.supervisor_id",
        params,
    ) as cur:
        return [
            SupervisorRecipient(int(r[0]), int(r[1]), str(r[2]), int(r[3]))
            for r in await cur.fetchall()
        ]


async def enqueue_supervisors(
    conn: aiosqlite.Connection,
    step: SupervisorStep,
    recipients: Sequence[SupervisorRecipient],
    messages: dict[tuple[str, int], OutgoingMessage],
    now: datetime,
) -> int:
    """Queue the step for each recipient, the message of their (language, count) stored
    once and shared (it names nobody); how many rows were added."""
    shared = {wanted: await store_payload(conn, message) for wanted, message in messages.items()}
    stamp = to_db_time(now)
    unless = _guard_columns(OutgoingMessage("", unless_submitted=step.guard))
    cursor = await conn.executemany(
        "INSERT INTO outbox (key, kind, source, supervisor_id, chat_id, payload, payload_id,"
        " unless_instrument, unless_stage, unless_cohorts, status, due_at, not_before,"
        " created_at)"
        " VALUES (?, ?, ?, ?, ?, '{}', ?, ?, ?, ?, 'pending', ?, ?, ?)"
        " ON CONFLICT (key) DO NOTHING",
        [
            (
                f"{step.key_prefix}:{r.supervisor_id}",
                step.kind,
                step.source,
                r.supervisor_id,
                r.chat_id,
                shared[(r.language, r.count)],
                *unless,
                to_db_time(step.due_at),
                stamp,
                stamp,
            )
            for r in recipients
        ],
    )
    return max(cursor.rowcount, 0)


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
    status: Status
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
    status: Status,
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


async def submitted_guards(conn: aiosqlite.Connection, rows: Sequence[Row]) -> set[int]:
    """The rows among ``rows`` whose guard's stage their recipient has submitted (a
    supervisor: about everyone they supervise in the row's cohorts)."""
    guarded = [
        r.id for r in rows if r.message.unless_submitted and (r.participant_id or r.supervisor_id)
    ]
    if not guarded:
        return set()
    marks = ", ".join("?" for _ in guarded)
    rule = _SUBMITTED.format(
        participant="o.participant_id",
        supervisor="o.supervisor_id",
        cohorts="o.unless_cohorts",
        instrument="o.unless_instrument",
        stage="o.unless_stage",
    )
    async with conn.execute(
        f"SELECT o.id FROM outbox o WHERE o.id IN ({marks}) AND {rule}", guarded
    ) as cur:
        return {int(r[0]) for r in await cur.fetchall()}


async def unbound_supervisor_rows(conn: aiosqlite.Connection, rows: Sequence[Row]) -> set[int]:
    """The supervisors' rows among ``rows`` whose chat is no longer the supervisor's bound
    account (the binding went or moved): not to be sent, as a forgotten participant's."""
    theirs = [r.id for r in rows if r.supervisor_id is not None]
    if not theirs:
        return set()
    marks = ", ".join("?" for _ in theirs)
    async with conn.execute(
        f"SELECT o.id FROM outbox o WHERE o.id IN ({marks}) AND NOT EXISTS"
        " (SELECT 1 FROM supervisor_bindings b WHERE b.supervisor_id = o.supervisor_id"
        " AND b.chat_id = o.chat_id)",
        theirs,
    ) as cur:
        return {int(r[0]) for r in await cur.fetchall()}


async def reset_interrupted(conn: aiosqlite.Connection) -> int:
    """Rows caught mid-send by a crash go back to pending: each is resent at most once."""
    cursor = await conn.execute(
        "UPDATE outbox SET status = 'pending', last_error = 'interrupted; resent'"
        " WHERE status = 'sending'"
    )
    return cursor.rowcount


async def counts(conn: aiosqlite.Connection, source: str) -> dict[Status, int]:
    """Rows of one broadcast by status."""
    async with conn.execute(
        "SELECT status, count(*) AS n FROM outbox WHERE kind = 'broadcast' AND source = ?"
        " GROUP BY status",
        (source,),
    ) as cur:
        return {Status(row["status"]): row["n"] for row in await cur.fetchall()}


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
