"""Supervisors (line managers) and whom each supervises, as the roster names them."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from bot.storage.repo import from_db_time, to_db_time


@dataclass(frozen=True, slots=True)
class Link:
    """One roster row's supervisor: an e-mail (and a name), or None to remove the link."""

    participant_id: int
    email: str | None
    name: str | None


@dataclass(frozen=True, slots=True)
class Supervisor:
    """A supervisor as stored."""

    id: int
    email: str
    name: str | None


def sync_apply_links(conn: sqlite3.Connection, links: Sequence[Link], now: datetime) -> int:
    """Create or rename the supervisors named, set or remove each link; the links changed."""
    stamp = to_db_time(now)
    named: dict[str, str | None] = {}
    for link in links:
        if link.email is not None and named.get(link.email) is None:
            named[link.email] = link.name
    for email, name in named.items():
        # A row without a name keeps the name another import gave.
        conn.execute(
            "INSERT INTO supervisors (email, name, created_at, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (email) DO UPDATE SET name = coalesce(excluded.name, name),"
            " updated_at = CASE WHEN excluded.name IS NOT NULL AND excluded.name IS NOT name"
            " THEN excluded.updated_at ELSE updated_at END",
            (email, name, stamp, stamp),
        )
    ids = {
        str(row[1]).lower(): int(row[0])
        for row in conn.execute("SELECT id, email FROM supervisors")
    }
    current = dict(
        conn.execute("SELECT participant_id, supervisor_id FROM supervisions").fetchall()
    )
    changed = 0
    for link in links:
        wanted = ids[link.email.lower()] if link.email is not None else None
        if current.get(link.participant_id) == wanted:
            continue
        changed += 1
        if wanted is None:
            conn.execute(
                "DELETE FROM supervisions WHERE participant_id = ?", (link.participant_id,)
            )
        else:
            conn.execute(
                "INSERT INTO supervisions (participant_id, supervisor_id, since) VALUES (?, ?, ?)"
                " ON CONFLICT (participant_id) DO UPDATE SET"
                " supervisor_id = excluded.supervisor_id, since = excluded.since",
                (link.participant_id, wanted, stamp),
            )
    return changed


async def supervisor_of(conn: aiosqlite.Connection, participant_id: int) -> Supervisor | None:
    """The participant's supervisor, if the roster names one."""
    async with conn.execute(
        "SELECT s.id, s.email, s.name FROM supervisions v JOIN supervisors s"
        " ON s.id = v.supervisor_id WHERE v.participant_id = ?",
        (participant_id,),
    ) as cursor:
        row = await cursor.fetchone()
    return Supervisor(int(row[0]), str(row[1]), row[2]) if row else None


@dataclass(frozen=True, slots=True)
class SupervisorInvite:
    """A supervisor's single-use invitation as stored (only the token's hash)."""

    id: int
    supervisor_id: int
    expires_at: datetime
    used_at: datetime | None
    used_by: int | None
    revoked_at: datetime | None


async def unbound_supervisors(conn: aiosqlite.Connection) -> list[Supervisor]:
    """Supervisors who supervise someone and have not opened an invitation yet."""
    async with conn.execute(
        "SELECT s.id, s.email, s.name FROM supervisors s WHERE NOT EXISTS"
        " (SELECT 1 FROM supervisor_bindings b WHERE b.supervisor_id = s.id)"
        " AND EXISTS (SELECT 1 FROM supervisions v WHERE v.supervisor_id = s.id) ORDER BY s.id"
    ) as cursor:
        return [Supervisor(int(r[0]), str(r[1]), r[2]) for r in await cursor.fetchall()]


async def insert_invite(
    conn: aiosqlite.Connection,
    token_hash: str,
    supervisor_id: int,
    now: datetime,
    expires_at: datetime,
) -> None:
    """Store a new invitation's hash, revoking the supervisor's earlier unused ones."""
    await conn.execute(
        "UPDATE supervisor_invites SET revoked_at = ? WHERE supervisor_id = ?"
        " AND used_at IS NULL AND revoked_at IS NULL",
        (to_db_time(now), supervisor_id),
    )
    await conn.execute(
        "INSERT INTO supervisor_invites (token_hash, supervisor_id, created_at, expires_at)"
        " VALUES (?, ?, ?, ?)",
        (token_hash, supervisor_id, to_db_time(now), to_db_time(expires_at)),
    )


async def invite_by_hash(conn: aiosqlite.Connection, token_hash: str) -> SupervisorInvite | None:
    """The supervisor invitation whose token hashes to this value."""
    async with conn.execute(
        "SELECT id, supervisor_id, expires_at, used_at, used_by, revoked_at"
        " FROM supervisor_invites WHERE token_hash = ?",
        (token_hash,),
    ) as cursor:
        row = await cursor.fetchone()
    if row is None:
        return None
    return SupervisorInvite(
        int(row[0]),
        int(row[1]),
        from_db_time(row[2]),
        from_db_time(row[3]) if row[3] else None,
        row[4],
        from_db_time(row[5]) if row[5] else None,
    )


async def bind(
    conn: aiosqlite.Connection,
    invite: SupervisorInvite,
    user_id: int,
    chat_id: int,
    now: datetime,
) -> bool:
    """Consume the invitation and bind the account; False if someone was quicker."""
    cursor = await conn.execute(
        "UPDATE supervisor_invites SET used_at = ?, used_by = ? WHERE id = ? AND used_at IS NULL",
        (to_db_time(now), user_id, invite.id),
    )
    if cursor.rowcount != 1:
        return False
    await conn.execute(
        "INSERT INTO supervisor_bindings (supervisor_id, user_id, chat_id, bound_at)"
        " VALUES (?, ?, ?, ?)",
        (invite.supervisor_id, user_id, chat_id, to_db_time(now)),
    )
    return True


async def supervisor_for_user(conn: aiosqlite.Connection, user_id: int) -> Supervisor | None:
    """The supervisor bound to this Telegram account."""
    async with conn.execute(
        "SELECT s.id, s.email, s.name FROM supervisor_bindings b JOIN supervisors s"
        " ON s.id = b.supervisor_id WHERE b.user_id = ?",
        (user_id,),
    ) as cursor:
        row = await cursor.fetchone()
    return Supervisor(int(row[0]), str(row[1]), row[2]) if row else None


async def is_bound(conn: aiosqlite.Connection, supervisor_id: int) -> bool:
    """Whether the supervisor has enrolled a Telegram account already."""
    async with conn.execute(
        "SELECT 1 FROM supervisor_bindings WHERE supervisor_id = ?", (supervisor_id,)
    ) as cursor:
        return await cursor.fetchone() is not None


# --- whom a supervisor answers about -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Supervisee:
    """Someone a supervisor answers about: only what their questionnaire needs (the name its
    texts show, the cohort its window is resolved on), never results."""

    participant_id: int
    name: str
    cohort: str


_SUPERVISEES = (
    "SELECT p.id, p.full_name, p.cohort FROM supervisions v JOIN participants p"
    " ON p.id = v.participant_id WHERE v.supervisor_id = ? AND p.forgotten_at IS NULL"
)


async def supervisees(conn: aiosqlite.Connection, supervisor_id: int) -> list[Supervisee]:
    """The people the roster says this supervisor supervises now, by name."""
    async with conn.execute(_SUPERVISEES + " ORDER BY p.full_name, p.id", (supervisor_id,)) as cur:
        return [Supervisee(int(r[0]), str(r[1]), str(r[2])) for r in await cur.fetchall()]


async def supervisee(
    conn: aiosqlite.Connection, supervisor_id: int, participant_id: int
) -> Supervisee | None:
    """The participant, if this supervisor supervises them now (None: not, or no longer)."""
    async with conn.execute(_SUPERVISEES + " AND p.id = ?", (supervisor_id, participant_id)) as cur:
        row = await cur.fetchone()
    return Supervisee(int(row[0]), str(row[1]), str(row[2])) if row else None


async def answered_count(conn: aiosqlite.Connection, supervisor_id: int) -> int:
    """How many questionnaires the supervisor has sent (for their /mydata)."""
    async with conn.execute(
        "SELECT count(*) FROM supervisor_attempts WHERE supervisor_id = ?"
        " AND submitted_at IS NOT NULL",
        (supervisor_id,),
    ) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def binding_of(conn: aiosqlite.Connection, supervisor_id: int) -> tuple[int, datetime] | None:
    """The Telegram account bound to the supervisor and when (for their /mydata)."""
    async with conn.execute(
        "SELECT user_id, bound_at FROM supervisor_bindings WHERE supervisor_id = ?",
        (supervisor_id,),
    ) as cur:
        row = await cur.fetchone()
    return (int(row[0]), from_db_time(row[1])) if row else None


async def supervisor_by_email(conn: aiosqlite.Connection, email: str) -> Supervisor | None:
    """The supervisor the roster names with this e-mail (compared without case)."""
    async with conn.execute(
        "SELECT id, email, name FROM supervisors WHERE email = ?", (email,)
    ) as cursor:
        row = await cursor.fetchone()
    return Supervisor(int(row[0]), str(row[1]), row[2]) if row else None


# A supervisor's erasure, in order: what is found through their Telegram account first,
# then what names them. Their answers stay under the per-pair pseudonym unless asked.
_ERASE_SUPERVISOR = (
    "DELETE FROM user_settings WHERE user_id IN"
    " (SELECT user_id FROM supervisor_bindings WHERE supervisor_id = :sid)",
    # Their own enrolment is audited under their Telegram id: keep the entry, not the id.
    "UPDATE audit_log SET actor = 'supervisor:' || :sid WHERE actor IN"
    " (SELECT 'telegram:' || user_id FROM supervisor_bindings WHERE supervisor_id = :sid)",
    "UPDATE outbox SET status = 'cancelled' WHERE supervisor_id = :sid AND status = 'pending'",
    "UPDATE outbox SET chat_id = NULL WHERE supervisor_id = :sid",
    "UPDATE supervisor_attempts SET chat_id = NULL, message_id = NULL WHERE supervisor_id = :sid",
    "DELETE FROM supervisor_bindings WHERE supervisor_id = :sid",
    "DELETE FROM supervisor_invites WHERE supervisor_id = :sid",
    "DELETE FROM supervisions WHERE supervisor_id = :sid",
    # The row stays (their pseudonymous answers point at it); the e-mail is unique and
    # required, so it becomes the row's own id.
    "UPDATE supervisors SET email = 'forgotten:' || id, name = NULL, updated_at = :now"
    " WHERE id = :sid",
)


async def erase_supervisor(
    conn: aiosqlite.Connection, supervisor_id: int, *, with_answers: bool, now: datetime
) -> None:
    """Erase what identifies a supervisor (and their answers if asked), in one transaction."""
    params = {"sid": supervisor_id, "now": to_db_time(now)}
    for statement in _ERASE_SUPERVISOR:
        await conn.execute(statement, params)
    if with_answers:
        # Their answers go with the attempts (ON DELETE CASCADE).
        await conn.execute("DELETE FROM supervisor_attempts WHERE supervisor_id = :sid", params)
