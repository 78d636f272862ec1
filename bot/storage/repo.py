"""Queries over the schema, returning plain dataclasses.

Functions take an open connection so the caller decides the transaction: a
service that must change several rows atomically wraps them in one
``Database.transaction()``.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import aiosqlite

# Codes are shown to evaluators instead of names; no 0/O or 1/I to misread.
_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


class Role(StrEnum):
    """Staff roles; a person may hold several."""

    COORDINATOR = "coordinator"
    EVALUATOR = "evaluator"
    ADMIN = "admin"


def to_db_time(value: datetime) -> str:
    """Store instants as ISO 8601 UTC text, which sorts chronologically."""
    if value.tzinfo is None:
        raise ValueError("naive datetime cannot be stored")
    return value.astimezone(UTC).isoformat(timespec="seconds")


def from_db_time(value: str) -> datetime:
    """Read back an instant written by ``to_db_time``."""
    return datetime.fromisoformat(value).astimezone(UTC)


def _opt_time(value: str | None) -> datetime | None:
    return from_db_time(value) if value is not None else None


@dataclass(frozen=True, slots=True)
class Participant:
    """A person enrolled in the programme, as imported from the roster."""

    id: int
    code: str
    external_id: str | None
    full_name: str
    email: str | None
    gender: str | None
    agency: str | None
    region: str | None
    cohort: str
    language: str | None


@dataclass(frozen=True, slots=True)
class Binding:
    """The Telegram account a participant enrolled with."""

    participant_id: int
    user_id: int
    chat_id: int
    bound_at: datetime
    reachable: bool


@dataclass(frozen=True, slots=True)
class StaffRole:
    """One role held by one Telegram user."""

    user_id: int
    role: Role
    chat_id: int | None
    display_name: str | None
    granted_at: datetime
    granted_by: str


@dataclass(frozen=True, slots=True)
class Invite:
    """A single-use invite; only the hash of its token is stored."""

    id: int
    token_hash: str
    participant_id: int | None
    role: Role | None
    label: str | None
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    used_by: int | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One staff action."""

    id: int
    at: datetime
    actor: str
    action: str
    target: str | None
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ParticipantFields:
    """What the roster says about a participant (everything but ids and codes)."""

    external_id: str | None
    full_name: str
    email: str | None
    gender: str | None
    agency: str | None
    region: str | None
    cohort: str
    language: str | None


_PARTICIPANT_COLS = (
    "id, code, external_id, full_name, email, gender, agency, region, cohort, language"
)


def _participant(row: sqlite3.Row) -> Participant:
    return Participant(
        id=row["id"],
        code=row["code"],
        external_id=row["external_id"],
        full_name=row["full_name"],
        email=row["email"],
        gender=row["gender"],
        agency=row["agency"],
        region=row["region"],
        cohort=row["cohort"],
        language=row["language"],
    )


def _binding(row: sqlite3.Row) -> Binding:
    return Binding(
        participant_id=row["participant_id"],
        user_id=row["user_id"],
        chat_id=row["chat_id"],
        bound_at=from_db_time(row["bound_at"]),
        reachable=bool(row["reachable"]),
    )


def _invite(row: sqlite3.Row) -> Invite:
    return Invite(
        id=row["id"],
        token_hash=row["token_hash"],
        participant_id=row["participant_id"],
        role=Role(row["role"]) if row["role"] else None,
        label=row["label"],
        created_at=from_db_time(row["created_at"]),
        expires_at=from_db_time(row["expires_at"]),
        used_at=_opt_time(row["used_at"]),
        used_by=row["used_by"],
        revoked_at=_opt_time(row["revoked_at"]),
    )


async def fetch_one(
    conn: aiosqlite.Connection, sql: str, params: tuple[Any, ...] = ()
) -> sqlite3.Row | None:
    """The first row of a query, in one trip to the database thread."""
    # execute + fetchone + close would be three trips, each a thread hand-off.
    rows = await conn.execute_fetchall(sql, params)
    return next(iter(rows), None)


async def fetch_all(
    conn: aiosqlite.Connection, sql: str, params: tuple[Any, ...] = ()
) -> list[sqlite3.Row]:
    """Every row of a query, in one trip to the database thread."""
    return list(await conn.execute_fetchall(sql, params))


# --- participants -------------------------------------------------------------------------


async def get_participant(conn: aiosqlite.Connection, participant_id: int) -> Participant | None:
    """The participant with this row id."""
    row = await fetch_one(
        conn, f"SELECT {_PARTICIPANT_COLS} FROM participants WHERE id = ?", (participant_id,)
    )
    return _participant(row) if row else None


async def find_participant(
    conn: aiosqlite.Connection, *, external_id: str | None = None, email: str | None = None
) -> Participant | None:
    """The participant with this external id, else with this email."""
    if external_id:
        row = await fetch_one(
            conn,
            f"SELECT {_PARTICIPANT_COLS} FROM participants WHERE external_id = ?",
            (external_id,),
        )
        if row:
            return _participant(row)
    if email:
        row = await fetch_one(
            conn, f"SELECT {_PARTICIPANT_COLS} FROM participants WHERE email = ?", (email,)
        )
        if row:
            return _participant(row)
    return None


async def participant_by_key(conn: aiosqlite.Connection, key: str) -> Participant | None:
    """The participant whose code, external id or e-mail is ``key``."""
    row = await fetch_one(
        conn,
        f"SELECT {_PARTICIPANT_COLS} FROM participants WHERE code = ? OR external_id = ?"
        " OR email = ?",
        (key.upper(), key, key),
    )
    return _participant(row) if row else None


async def list_participants(conn: aiosqlite.Connection) -> list[Participant]:
    """Every participant, in import order."""
    rows = await fetch_all(conn, f"SELECT {_PARTICIPANT_COLS} FROM participants ORDER BY id")
    return [_participant(r) for r in rows]


def _random_code() -> str:
    return "P-" + "".join(secrets.choice(_CODE_ALPHABET) for _ in range(6))


async def _new_code(conn: aiosqlite.Connection) -> str:
    while True:
        code = _random_code()
        if await fetch_one(conn, "SELECT 1 FROM participants WHERE code = ?", (code,)) is None:
            return code


_INSERT_PARTICIPANT = (
    "INSERT INTO participants (code, external_id, full_name, email, gender, agency, region,"
    " cohort, language, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
)
_UPDATE_PARTICIPANT = (
    "UPDATE participants SET external_id = ?, full_name = ?, email = ?, gender = ?, agency = ?,"
    " region = ?, cohort = ?, language = COALESCE(?, language), updated_at = ? WHERE id = ?"
)


def _insert_params(code: str, fields: ParticipantFields, stamp: str) -> tuple[Any, ...]:
    return (
        code,
        fields.external_id,
        fields.full_name,
        fields.email,
        fields.gender,
        fields.agency,
        fields.region,
        fields.cohort,
        fields.language,
        stamp,
        stamp,
    )


def _update_params(participant_id: int, fields: ParticipantFields, stamp: str) -> tuple[Any, ...]:
    return (
        fields.external_id,
        fields.full_name,
        fields.email,
        fields.gender,
        fields.agency,
        fields.region,
        fields.cohort,
        fields.language,
        stamp,
        participant_id,
    )


async def insert_participant(
    conn: aiosqlite.Connection, fields: ParticipantFields, now: datetime
) -> Participant:
    """Add a participant with a fresh pseudonymous code."""
    code = await _new_code(conn)
    cur = await conn.execute(_INSERT_PARTICIPANT, _insert_params(code, fields, to_db_time(now)))
    participant = await get_participant(conn, int(cur.lastrowid or 0))
    assert participant is not None
    return participant


async def update_participant(
    conn: aiosqlite.Connection, participant_id: int, fields: ParticipantFields, now: datetime
) -> None:
    """Overwrite a participant's roster fields; a blank language keeps the chosen one."""
    await conn.execute(_UPDATE_PARTICIPANT, _update_params(participant_id, fields, to_db_time(now)))


# --- the same statements, synchronous, for ``Database.run`` (a whole import in one trip) --------


def sync_participants(conn: sqlite3.Connection) -> list[Participant]:
    """Every participant (``list_participants``)."""
    rows = conn.execute(f"SELECT {_PARTICIPANT_COLS} FROM participants ORDER BY id").fetchall()
    return [_participant(r) for r in rows]


def sync_insert_participants(
    conn: sqlite3.Connection, many: Sequence[ParticipantFields], now: datetime
) -> None:
    """``insert_participant`` for many, each with a fresh code, in one statement."""
    taken = {row[0] for row in conn.execute("SELECT code FROM participants")}
    stamp = to_db_time(now)
    params = []
    for fields in many:
        code = _random_code()
        while code in taken:
            code = _random_code()
        taken.add(code)
        params.append(_insert_params(code, fields, stamp))
    conn.executemany(_INSERT_PARTICIPANT, params)


def sync_update_participants(
    conn: sqlite3.Connection, many: Sequence[tuple[int, ParticipantFields]], now: datetime
) -> None:
    """``update_participant`` for many, in one statement."""
    stamp = to_db_time(now)
    conn.executemany(_UPDATE_PARTICIPANT, [_update_params(i, f, stamp) for i, f in many])


def sync_audit(
    conn: sqlite3.Connection,
    *,
    actor: str,
    action: str,
    target: str | None,
    details: dict[str, Any] | None,
    now: datetime,
) -> None:
    """``audit``."""
    conn.execute(_AUDIT, _audit_params(actor, action, target, details, now))


async def set_participant_language(
    conn: aiosqlite.Connection, participant_id: int, language: str, now: datetime
) -> None:
    """Record the language a participant chose."""
    await conn.execute(
        "UPDATE participants SET language = ?, updated_at = ? WHERE id = ?",
        (language, to_db_time(now), participant_id),
    )


# --- Telegram bindings ---------------------------------------------------------------------


async def participant_for_user(
    conn: aiosqlite.Connection, user_id: int
) -> tuple[Participant, Binding] | None:
    """The participant bound to this Telegram user, with the binding."""
    row = await fetch_one(
        conn,
        "SELECT p.id, p.code, p.external_id, p.full_name, p.email, p.gender, p.agency, p.region,"
        " p.cohort, p.language, b.participant_id, b.user_id, b.chat_id, b.bound_at, b.reachable"
        " FROM telegram_bindings b JOIN participants p ON p.id = b.participant_id"
        " WHERE b.user_id = ?",
        (user_id,),
    )
    return (_participant(row), _binding(row)) if row else None


@dataclass(frozen=True, slots=True)
class UserRecord:
    """Everything stored about one Telegram user: enrolment, staff roles, chosen language."""

    enrolment: tuple[Participant, Binding] | None
    roles: frozenset[Role]
    language: str | None


async def user_record(conn: aiosqlite.Connection, user_id: int) -> UserRecord:
    """The participant bound to this user, their staff roles and saved language, in one query.

    Every update starts with this lookup, so it is one trip to the database, not three.
    """
    row = await fetch_one(
        conn,
        "SELECT p.id, p.code, p.external_id, p.full_name, p.email, p.gender, p.agency, p.region,"
        " p.cohort, p.language, b.participant_id, b.user_id, b.chat_id, b.bound_at, b.reachable,"
        " (SELECT group_concat(role) FROM staff_roles WHERE user_id = u.id) AS staff,"
        " (SELECT language FROM user_settings WHERE user_id = u.id) AS saved_language"
        " FROM (SELECT ? AS id) u LEFT JOIN telegram_bindings b ON b.user_id = u.id"
        " LEFT JOIN participants p ON p.id = b.participant_id",
        (user_id,),
    )
    assert row is not None  # the FROM always yields one row
    enrolment = (_participant(row), _binding(row)) if row["participant_id"] is not None else None
    roles = frozenset(Role(r) for r in (row["staff"] or "").split(",") if r)
    return UserRecord(enrolment, roles, row["saved_language"])


async def bound_participants(conn: aiosqlite.Connection) -> list[tuple[Participant, Binding]]:
    """Every participant enrolled with Telegram, with the binding, by id."""
    rows = await fetch_all(
        conn,
        "SELECT p.id, p.code, p.external_id, p.full_name, p.email, p.gender, p.agency, p.region,"
        " p.cohort, p.language, b.participant_id, b.user_id, b.chat_id, b.bound_at, b.reachable"
        " FROM telegram_bindings b JOIN participants p ON p.id = b.participant_id ORDER BY p.id",
        (),
    )
    return [(_participant(r), _binding(r)) for r in rows]


async def binding_for_participant(
    conn: aiosqlite.Connection, participant_id: int
) -> Binding | None:
    """The Telegram binding of a participant, if enrolled."""
    row = await fetch_one(
        conn, "SELECT * FROM telegram_bindings WHERE participant_id = ?", (participant_id,)
    )
    return _binding(row) if row else None


async def bind_participant(
    conn: aiosqlite.Connection, participant_id: int, user_id: int, chat_id: int, now: datetime
) -> None:
    """Bind a Telegram account to a participant."""
    await conn.execute(
        "INSERT INTO telegram_bindings (participant_id, user_id, chat_id, bound_at, reachable)"
        " VALUES (?, ?, ?, ?, 1)",
        (participant_id, user_id, chat_id, to_db_time(now)),
    )


async def set_reachable(conn: aiosqlite.Connection, user_id: int, reachable: bool) -> bool:
    """Record whether the bot can write to this account; False if it is not bound."""
    cursor = await conn.execute(
        "UPDATE telegram_bindings SET reachable = ? WHERE user_id = ?", (int(reachable), user_id)
    )
    return cursor.rowcount > 0


async def unbound_participants(conn: aiosqlite.Connection) -> list[Participant]:
    """Participants who have not enrolled with Telegram yet."""
    rows = await fetch_all(
        conn,
        f"SELECT {_PARTICIPANT_COLS} FROM participants WHERE forgotten_at IS NULL AND id NOT IN"
        " (SELECT participant_id FROM telegram_bindings) ORDER BY id",
    )
    return [_participant(r) for r in rows]


# --- staff ---------------------------------------------------------------------------------


async def grant_role(
    conn: aiosqlite.Connection,
    user_id: int,
    role: Role,
    *,
    chat_id: int | None,
    display_name: str | None,
    granted_by: str,
    now: datetime,
) -> bool:
    """Give a role; return False if the user already had it."""
    cur = await conn.execute(
        "INSERT OR IGNORE INTO staff_roles (user_id, role, chat_id, display_name, granted_at,"
        " granted_by) VALUES (?, ?, ?, ?, ?, ?)",
        (user_id, role.value, chat_id, display_name, to_db_time(now), granted_by),
    )
    return cur.rowcount == 1


async def revoke_role(conn: aiosqlite.Connection, user_id: int, role: Role) -> bool:
    """Take a role away; return False if the user did not have it."""
    cur = await conn.execute(
        "DELETE FROM staff_roles WHERE user_id = ? AND role = ?", (user_id, role.value)
    )
    return cur.rowcount == 1


async def list_staff(conn: aiosqlite.Connection) -> list[StaffRole]:
    """Every stored staff role."""
    rows = await fetch_all(conn, "SELECT * FROM staff_roles ORDER BY user_id, role")
    return [
        StaffRole(
            user_id=r["user_id"],
            role=Role(r["role"]),
            chat_id=r["chat_id"],
            display_name=r["display_name"],
            granted_at=from_db_time(r["granted_at"]),
            granted_by=r["granted_by"],
        )
        for r in rows
    ]


# --- invites -------------------------------------------------------------------------------


async def insert_invite(
    conn: aiosqlite.Connection,
    token_hash: str,
    *,
    participant_id: int | None,
    role: Role | None,
    label: str | None,
    now: datetime,
    expires_at: datetime,
) -> int:
    """Store a new invite's hash; return its id."""
    cur = await conn.execute(
        "INSERT INTO invites (token_hash, participant_id, role, label, created_at, expires_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (
            token_hash,
            participant_id,
            role.value if role else None,
            label,
            to_db_time(now),
            to_db_time(expires_at),
        ),
    )
    return int(cur.lastrowid or 0)


async def invite_by_hash(conn: aiosqlite.Connection, token_hash: str) -> Invite | None:
    """The invite whose token hashes to this value."""
    row = await fetch_one(conn, "SELECT * FROM invites WHERE token_hash = ?", (token_hash,))
    return _invite(row) if row else None


async def mark_invite_used(
    conn: aiosqlite.Connection, invite_id: int, user_id: int, now: datetime
) -> bool:
    """Consume an invite; False if it was already used (a concurrent redeem)."""
    cur = await conn.execute(
        "UPDATE invites SET used_at = ?, used_by = ? WHERE id = ? AND used_at IS NULL",
        (to_db_time(now), user_id, invite_id),
    )
    return cur.rowcount == 1


async def revoke_pending_invites(
    conn: aiosqlite.Connection, participant_id: int, now: datetime
) -> int:
    """Revoke a participant's unused invites; return how many."""
    cur = await conn.execute(
        "UPDATE invites SET revoked_at = ? WHERE participant_id = ? AND used_at IS NULL"
        " AND revoked_at IS NULL",
        (to_db_time(now), participant_id),
    )
    return cur.rowcount


# --- audit and user settings ---------------------------------------------------------------


async def audit(
    conn: aiosqlite.Connection,
    *,
    actor: str,
    action: str,
    target: str | None,
    details: dict[str, Any] | None,
    now: datetime,
) -> None:
    """Record a staff action."""
    await conn.execute(_AUDIT, _audit_params(actor, action, target, details, now))


_AUDIT = "INSERT INTO audit_log (at, actor, action, target, details) VALUES (?, ?, ?, ?, ?)"


def _audit_params(
    actor: str, action: str, target: str | None, details: dict[str, Any] | None, now: datetime
) -> tuple[Any, ...]:
    return (to_db_time(now), actor, action, target, json.dumps(details or {}, ensure_ascii=False))


async def audit_entries(conn: aiosqlite.Connection, action: str | None = None) -> list[AuditEntry]:
    """The audit log, oldest first, optionally for one action."""
    sql = "SELECT * FROM audit_log" + (" WHERE action = ?" if action else "") + " ORDER BY id"
    rows = await fetch_all(conn, sql, (action,) if action else ())
    return [
        AuditEntry(
            id=r["id"],
            at=from_db_time(r["at"]),
            actor=r["actor"],
            action=r["action"],
            target=r["target"],
            details=json.loads(r["details"]),
        )
        for r in rows
    ]


async def set_user_language(
    conn: aiosqlite.Connection, user_id: int, language: str, now: datetime
) -> None:
    """Record the language a non-participant user chose."""
    await conn.execute(
        "INSERT INTO user_settings (user_id, language, updated_at) VALUES (?, ?, ?)"
        " ON CONFLICT(user_id) DO UPDATE SET language = excluded.language,"
        " updated_at = excluded.updated_at",
        (user_id, language, to_db_time(now)),
    )
