"""Queries for questionnaire attempts and answers, returning plain dataclasses.

Two families of tables share these statements: the participants' (``attempts``,
``answers``) and the supervisors' about the people they supervise (``supervisor_attempts``,
``supervisor_answers``); see ``Tables``.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from bot.storage.repo import _opt_time, fetch_all, fetch_one, from_db_time, to_db_time


@dataclass(frozen=True, slots=True)
class Tables:
    """One family of attempt and answer tables, and the statements every tap runs on it.

    The participants' own questionnaires and the supervisors' questionnaires about each
    person they supervise are stored apart (nothing counting participants can meet the
    latter) but answered by the same engine: every statement is written once, in
    ``tables``, for both. Table and column names are constants here, never input.
    """

    attempts: str
    answers: str
    # Who answers: the participant themselves, or the supervisor (about ``participant_id``).
    owner: str
    # What else a new attempt is given (the supervisors' per-pair pseudonym).
    extra: tuple[str, ...]
    # Joined where a query must only find what the owner may still answer: a supervisor's
    # attempts about someone they no longer supervise are out of reach.
    current: str
    move: str
    submit: str
    save_answer: str
    delete_answer: str
    # The attempt ``a``'s answers as one JSON object, for a SELECT list.
    answers_json: str


def tables(
    attempts: str, answers: str, owner: str, extra: tuple[str, ...] = (), current: str = ""
) -> Tables:
    """A family's statements, built once at import."""
    return Tables(
        attempts,
        answers,
        owner,
        extra,
        current,
        move=(
            f"UPDATE {attempts} SET position = ?, draft = ?, revision = revision + 1,"
            " updated_at = ? WHERE id = ? RETURNING *"
        ),
        submit=(
            f"UPDATE {attempts} SET submitted_at = ?, updated_at = ?, revision = revision + 1"
            " WHERE id = ? AND submitted_at IS NULL RETURNING *"
        ),
        save_answer=(
            f"INSERT INTO {answers} (attempt_id, item, value, answered_at, item_version,"
            " correct) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (attempt_id, item) DO UPDATE SET"
            " value = excluded.value, answered_at = excluded.answered_at,"
            " item_version = excluded.item_version, correct = excluded.correct"
        ),
        delete_answer=f"DELETE FROM {answers} WHERE attempt_id = ? AND item = ?",
        answers_json=(
            f"(SELECT json_group_object(x.item, json(x.value)) FROM {answers} x"
            " WHERE x.attempt_id = a.id) AS answers_json"
        ),
    )


PARTICIPANTS = tables("attempts", "answers", "participant_id")
SUPERVISORS = tables(
    "supervisor_attempts",
    "supervisor_answers",
    "supervisor_id",
    extra=("supervisor_id", "pseudonym"),
    current=(
        " JOIN supervisions v ON v.participant_id = a.participant_id"
        " AND v.supervisor_id = a.supervisor_id"
    ),
)


@dataclass(frozen=True, slots=True)
class Attempt:
    """One participant answering one stage of one instrument (or, in the supervisors'
    tables, a supervisor answering it about ``participant_id``)."""

    id: int
    participant_id: int
    instrument: str
    stage: str
    number: int
    content_version: str
    seed: int
    position: int
    revision: int
    draft: list[str] | None
    chat_id: int | None
    message_id: int | None
    started_at: datetime
    updated_at: datetime
    submitted_at: datetime | None

    @property
    def submitted(self) -> bool:
        return self.submitted_at is not None


def _attempt(row: sqlite3.Row) -> Attempt:
    return Attempt(
        id=row["id"],
        participant_id=row["participant_id"],
        instrument=row["instrument"],
        stage=row["stage"],
        number=row["number"],
        content_version=row["content_version"],
        seed=row["seed"],
        position=row["position"],
        revision=row["revision"],
        draft=json.loads(row["draft"]) if row["draft"] else None,
        chat_id=row["chat_id"],
        message_id=row["message_id"],
        started_at=from_db_time(row["started_at"]),
        updated_at=from_db_time(row["updated_at"]),
        submitted_at=_opt_time(row["submitted_at"]),
    )


@dataclass(frozen=True, slots=True)
class OwnedAttempt:
    """An attempt with what a tap needs of its participant, and its answers so far.

    ``subject`` is the name of the person a supervisor answers about (None for a
    participant's own questionnaire): the texts' ``{name}``.
    """

    attempt: Attempt
    cohort: str
    language: str | None
    answers: dict[str, Any]
    subject: str | None = None


# The attempt, if it belongs to the participant bound to this Telegram user, with that
# participant's cohort and language and the answers so far: every tap runs it first.
ATTEMPT_OF_USER = (
    "SELECT a.*, p.cohort AS owner_cohort, p.language AS owner_language,"
    f" NULL AS subject_name, {PARTICIPANTS.answers_json}"
    " FROM attempts a JOIN telegram_bindings b ON b.participant_id = a.participant_id"
    " JOIN participants p ON p.id = a.participant_id WHERE a.id = ? AND b.user_id = ?"
)


# The same for a supervisor's attempt: bound to this user, about someone they supervise
# now, with that person's cohort (the window) and name, and the supervisor's language.
SUPERVISOR_ATTEMPT_OF_USER = (
    f"SELECT a.*, p.cohort AS owner_cohort, p.full_name AS subject_name,"
    " (SELECT language FROM user_settings WHERE user_id = b.user_id) AS owner_language,"
    f" {SUPERVISORS.answers_json}"
    " FROM supervisor_attempts a"
    " JOIN supervisor_bindings b ON b.supervisor_id = a.supervisor_id"
    f"{SUPERVISORS.current}"
    " JOIN participants p ON p.id = a.participant_id WHERE a.id = ? AND b.user_id = ?"
)


def owned_attempt(rows: list[sqlite3.Row]) -> OwnedAttempt | None:
    """The result of ``ATTEMPT_OF_USER`` (or its supervisors' twin); None if the attempt is
    not the user's."""
    if not rows:
        return None
    row = rows[0]
    answers: dict[str, Any] = json.loads(row["answers_json"] or "{}")
    return OwnedAttempt(
        _attempt(row), row["owner_cohort"], row["owner_language"], answers, row["subject_name"]
    )


async def latest_attempt(
    conn: aiosqlite.Connection,
    participant_id: int,
    instrument: str,
    stage: str,
    *,
    supervisor_id: int | None = None,
) -> Attempt | None:
    """The participant's most recent attempt at a stage (reopened ones count up); with
    ``supervisor_id``, that supervisor's about the participant."""
    if supervisor_id is None:
        row = await fetch_one(
            conn,
            "SELECT * FROM attempts WHERE participant_id = ? AND instrument = ? AND stage = ?"
            " ORDER BY number DESC LIMIT 1",
            (participant_id, instrument, stage),
        )
    else:
        row = await fetch_one(
            conn,
            "SELECT * FROM supervisor_attempts WHERE supervisor_id = ? AND participant_id = ?"
            " AND instrument = ? AND stage = ? ORDER BY number DESC LIMIT 1",
            (supervisor_id, participant_id, instrument, stage),
        )
    return _attempt(row) if row else None


async def attempts_of(conn: aiosqlite.Connection, participant_id: int) -> list[Attempt]:
    """Every attempt of a participant, oldest first."""
    rows = await fetch_all(
        conn, "SELECT * FROM attempts WHERE participant_id = ? ORDER BY id", (participant_id,)
    )
    return [_attempt(r) for r in rows]


@dataclass(frozen=True, slots=True)
class OpenAttempt:
    """An attempt not sent yet, with the cohort its window is resolved on and, for a
    supervisor's, the name of the person it is about."""

    attempt: Attempt
    cohort: str
    subject: str | None


async def open_attempts_of(
    conn: aiosqlite.Connection, owner_id: int, *, tables: Tables = PARTICIPANTS
) -> list[OpenAttempt]:
    """The owner's attempts not sent yet that they may still answer, oldest first."""
    subject = "p.full_name" if tables is SUPERVISORS else "NULL"
    rows = await fetch_all(
        conn,
        f"SELECT a.*, p.cohort AS subject_cohort, {subject} AS subject_name"
        f" FROM {tables.attempts} a{tables.current}"
        " JOIN participants p ON p.id = a.participant_id"
        f" WHERE a.{tables.owner} = ? AND a.submitted_at IS NULL ORDER BY a.id",
        (owner_id,),
    )
    return [OpenAttempt(_attempt(r), r["subject_cohort"], r["subject_name"]) for r in rows]


async def submitted_with_answers(
    conn: aiosqlite.Connection, instrument: str
) -> list[tuple[Attempt, dict[str, Any]]]:
    """The latest submitted attempt per participant and stage, with its answers, in one
    query (thousands of participants would otherwise make a trip per attempt)."""
    rows = await fetch_all(
        conn,
        "SELECT a.*, (SELECT json_group_object(x.item, json(x.value)) FROM answers x"
        " WHERE x.attempt_id = a.id) AS answers_json FROM attempts a"
        " WHERE instrument = ? AND submitted_at IS NOT NULL"
        " AND number = (SELECT MAX(number) FROM attempts b WHERE b.participant_id ="
        " a.participant_id AND b.instrument = a.instrument AND b.stage = a.stage"
        " AND b.submitted_at IS NOT NULL) ORDER BY id",
        (instrument,),
    )
    return [(_attempt(r), json.loads(r["answers_json"] or "{}")) for r in rows]


async def open_with_answers(
    conn: aiosqlite.Connection, instrument: str, *, tables: Tables = PARTICIPANTS
) -> list[tuple[Attempt, dict[str, Any]]]:
    """Every attempt at an instrument not yet sent, with its answers so far, in one query."""
    rows = await fetch_all(
        conn,
        f"SELECT a.*, {tables.answers_json} FROM {tables.attempts} a"
        " WHERE instrument = ? AND submitted_at IS NULL ORDER BY id",
        (instrument,),
    )
    return [(_attempt(r), json.loads(r["answers_json"] or "{}")) for r in rows]


@dataclass(frozen=True, slots=True)
class SupervisorKey:
    """A supervisor's attempt is theirs and carries the pair's pseudonym."""

    supervisor_id: int
    pseudonym: str


async def insert_attempt(
    conn: aiosqlite.Connection,
    *,
    participant_id: int,
    instrument: str,
    stage: str,
    number: int,
    content_version: str,
    seed: int,
    now: datetime,
    supervisor: SupervisorKey | None = None,
) -> Attempt:
    """Start a new attempt at the first item (a supervisor's about ``participant_id``)."""
    family = PARTICIPANTS if supervisor is None else SUPERVISORS
    extra = () if supervisor is None else (supervisor.supervisor_id, supervisor.pseudonym)
    columns = ", ".join(
        (
            *("participant_id", "instrument", "stage", "number", "content_version", "seed"),
            *("started_at", "updated_at", *family.extra),
        )
    )
    values = (participant_id, instrument, stage, number, content_version, seed)
    stamps = (to_db_time(now), to_db_time(now))
    row = await fetch_one(
        conn,
        f"INSERT INTO {family.attempts} ({columns})"
        f" VALUES ({', '.join('?' * (8 + len(extra)))}) RETURNING *",
        values + stamps + extra,
    )
    assert row is not None
    return _attempt(row)


async def pair_pseudonym(
    conn: aiosqlite.Connection, supervisor_id: int, participant_id: int
) -> str | None:
    """The pseudonym a supervisor's earlier attempts about this person carry, if any."""
    row = await fetch_one(
        conn,
        "SELECT pseudonym FROM supervisor_attempts WHERE supervisor_id = ? AND participant_id = ?"
        " ORDER BY id LIMIT 1",
        (supervisor_id, participant_id),
    )
    return str(row["pseudonym"]) if row else None


async def move(
    conn: aiosqlite.Connection,
    attempt: Attempt,
    *,
    position: int,
    draft: list[str] | None,
    now: datetime,
    tables: Tables = PARTICIPANTS,
) -> Attempt:
    """Set the current item and the pending selection; every change makes older buttons stale."""
    row = await fetch_one(conn, tables.move, _move_params(attempt, position, draft, now))
    assert row is not None
    return _attempt(row)


def _move_params(
    attempt: Attempt, position: int, draft: list[str] | None, now: datetime
) -> tuple[Any, ...]:
    return (position, json.dumps(draft) if draft is not None else None, to_db_time(now), attempt.id)


async def set_message(
    conn: aiosqlite.Connection,
    attempt_id: int,
    chat_id: int,
    message_id: int,
    *,
    tables: Tables = PARTICIPANTS,
) -> None:
    """Remember which message shows the attempt, to edit it in place."""
    await conn.execute(
        f"UPDATE {tables.attempts} SET chat_id = ?, message_id = ? WHERE id = ?",
        (chat_id, message_id, attempt_id),
    )


async def submit(
    conn: aiosqlite.Connection, attempt_id: int, now: datetime, *, tables: Tables = PARTICIPANTS
) -> Attempt | None:
    """Lock the attempt; the locked attempt, or None if it was already submitted."""
    row = await fetch_one(conn, tables.submit, (to_db_time(now), to_db_time(now), attempt_id))
    return _attempt(row) if row else None


async def answers_of(
    conn: aiosqlite.Connection, attempt_id: int, *, tables: Tables = PARTICIPANTS
) -> dict[str, Any]:
    """Item id -> answer value (None for a skipped optional item)."""
    rows = await fetch_all(
        conn, f"SELECT item, value FROM {tables.answers} WHERE attempt_id = ?", (attempt_id,)
    )
    return {row["item"]: json.loads(row["value"]) for row in rows}


@dataclass(frozen=True, slots=True)
class Stamp:
    """The version of the item an answer was given to, and whether it was right (quiz only)."""

    version: str
    correct: bool | None


async def save_answer(
    conn: aiosqlite.Connection,
    attempt_id: int,
    item: str,
    value: Any,
    now: datetime,
    stamp: Stamp | None = None,
    *,
    tables: Tables = PARTICIPANTS,
) -> None:
    """Record or replace the answer to one item: a re-sent tap stays one row.

    Without a stamp the row is versioned at the next start (``services.versions.register``).
    """
    await conn.execute(tables.save_answer, _answer_params(attempt_id, item, value, now, stamp))


def _answer_params(
    attempt_id: int, item: str, value: Any, now: datetime, stamp: Stamp | None
) -> tuple[Any, ...]:
    version = stamp.version if stamp else None
    correct = None if stamp is None or stamp.correct is None else int(stamp.correct)
    return (
        attempt_id,
        item,
        json.dumps(value, ensure_ascii=False),
        to_db_time(now),
        version,
        correct,
    )


async def typed_already(
    conn: aiosqlite.Connection, owner_id: int, message_id: int, *, tables: Tables = PARTICIPANTS
) -> bool:
    """Whether a typed message this old or newer already answered one of the attempts."""
    async with conn.execute(
        f"SELECT 1 FROM {tables.attempts} WHERE {tables.owner} = ? AND typed_message_id >= ?"
        " LIMIT 1",
        (owner_id, message_id),
    ) as cur:
        return await cur.fetchone() is not None


async def note_typed_message(
    conn: aiosqlite.Connection, attempt_id: int, message_id: int, *, tables: Tables = PARTICIPANTS
) -> None:
    """Remember the typed message that answered, so its redelivery is recognised."""
    await conn.execute(
        f"UPDATE {tables.attempts} SET typed_message_id = ? WHERE id = ?", (message_id, attempt_id)
    )


async def delete_answers(
    conn: aiosqlite.Connection, attempt_id: int, items: list[str], *, tables: Tables = PARTICIPANTS
) -> None:
    """Forget answers to items a changed earlier answer has hidden."""
    await conn.executemany(tables.delete_answer, [(attempt_id, i) for i in items])


# --- the same statements, synchronous, for ``Database.run`` (the connection's own thread) --------


def sync_owned_attempt(
    conn: sqlite3.Connection, attempt_id: int, user_id: int, *, tables: Tables = PARTICIPANTS
) -> OwnedAttempt | None:
    """``ATTEMPT_OF_USER``: the attempt if it is this Telegram user's, with its answers."""
    query = ATTEMPT_OF_USER if tables is PARTICIPANTS else SUPERVISOR_ATTEMPT_OF_USER
    return owned_attempt(conn.execute(query, (attempt_id, user_id)).fetchall())


def sync_save_answer(
    conn: sqlite3.Connection,
    attempt_id: int,
    item: str,
    value: Any,
    now: datetime,
    stamp: Stamp | None = None,
    *,
    tables: Tables = PARTICIPANTS,
) -> None:
    """``save_answer``."""
    conn.execute(tables.save_answer, _answer_params(attempt_id, item, value, now, stamp))


def sync_delete_answers(
    conn: sqlite3.Connection, attempt_id: int, items: list[str], *, tables: Tables = PARTICIPANTS
) -> None:
    """``delete_answers``."""
    conn.executemany(tables.delete_answer, [(attempt_id, i) for i in items])


def sync_move(
    conn: sqlite3.Connection,
    attempt: Attempt,
    *,
    position: int,
    draft: list[str] | None,
    now: datetime,
    tables: Tables = PARTICIPANTS,
) -> Attempt:
    """``move``."""
    # fetchall: a RETURNING statement left unfinished would hold up the COMMIT.
    (row,) = conn.execute(tables.move, _move_params(attempt, position, draft, now)).fetchall()
    return _attempt(row)


def sync_submit(
    conn: sqlite3.Connection, attempt_id: int, now: datetime, *, tables: Tables = PARTICIPANTS
) -> Attempt | None:
    """``submit``."""
    rows = conn.execute(tables.submit, (to_db_time(now), to_db_time(now), attempt_id)).fetchall()
    return _attempt(rows[0]) if rows else None
