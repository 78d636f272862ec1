"""Queries for issued certificates and for failed verification attempts."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from bot.storage.repo import fetch_all, fetch_one, from_db_time, to_db_time


@dataclass(frozen=True, slots=True)
class Certificate:
    """A certificate a coordinator approved, and where its delivery stands."""

    id: int
    participant_id: int
    level: str
    code: str
    holder_initials: str
    approved_by: str
    approved_at: datetime
    content_version: str
    delivery: str
    attempts: int
    last_error: str | None
    delivered_at: datetime | None
    file_id: str | None
    revoked_at: datetime | None
    revoked_by: str | None
    revoke_reason: str | None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


_COLS = (
    "id, participant_id, level, code, holder_initials, approved_by, approved_at,"
    " content_version, delivery, attempts, last_error, delivered_at, file_id, revoked_at,"
    " revoked_by, revoke_reason"
)


def _time(value: str | None) -> datetime | None:
    return from_db_time(value) if value is not None else None


def _certificate(row: sqlite3.Row) -> Certificate:
    return Certificate(
        id=row["id"],
        participant_id=row["participant_id"],
        level=row["level"],
        code=row["code"],
        holder_initials=row["holder_initials"],
        approved_by=row["approved_by"],
        approved_at=from_db_time(row["approved_at"]),
        content_version=row["content_version"],
        delivery=row["delivery"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        delivered_at=_time(row["delivered_at"]),
        file_id=row["file_id"],
        revoked_at=_time(row["revoked_at"]),
        revoked_by=row["revoked_by"],
        revoke_reason=row["revoke_reason"],
    )


async def insert(
    conn: aiosqlite.Connection,
    *,
    participant_id: int,
    level: str,
    code: str,
    initials: str,
    actor: str,
    content_version: str,
    now: datetime,
) -> Certificate | None:
    """Record an approval; None when the participant already holds a live one of that level."""
    cur = await conn.execute(
        "INSERT INTO certificates (participant_id, level, code, holder_initials, approved_by,"
        " approved_at, content_version) VALUES (?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (participant_id, level) WHERE revoked_at IS NULL DO NOTHING",
        (participant_id, level, code, initials, actor, to_db_time(now), content_version),
    )
    if cur.rowcount == 0:
        return None
    row = await fetch_one(conn, f"SELECT {_COLS} FROM certificates WHERE id = ?", (cur.lastrowid,))
    assert row is not None
    return _certificate(row)


async def by_code(conn: aiosqlite.Connection, code: str) -> Certificate | None:
    """The certificate with this verification code."""
    row = await fetch_one(conn, f"SELECT {_COLS} FROM certificates WHERE code = ?", (code,))
    return _certificate(row) if row else None


async def by_id(conn: aiosqlite.Connection, certificate_id: int) -> Certificate | None:
    """The certificate with this row id."""
    row = await fetch_one(conn, f"SELECT {_COLS} FROM certificates WHERE id = ?", (certificate_id,))
    return _certificate(row) if row else None


async def of_participant(conn: aiosqlite.Connection, participant_id: int) -> list[Certificate]:
    """A participant's certificates, revoked ones included, oldest first."""
    rows = await fetch_all(
        conn,
        f"SELECT {_COLS} FROM certificates WHERE participant_id = ? ORDER BY id",
        (participant_id,),
    )
    return [_certificate(r) for r in rows]


async def all_certificates(conn: aiosqlite.Connection) -> list[Certificate]:
    """Every certificate, revoked ones included, in approval order."""
    rows = await fetch_all(conn, f"SELECT {_COLS} FROM certificates ORDER BY id")
    return [_certificate(r) for r in rows]


async def to_deliver(conn: aiosqlite.Connection) -> list[Certificate]:
    """Live certificates not yet sent (a ``sending`` one was cut short by a crash)."""
    rows = await fetch_all(
        conn,
        f"SELECT {_COLS} FROM certificates WHERE delivery IN ('pending', 'sending')"
        " AND revoked_at IS NULL ORDER BY id",
    )
    return [_certificate(r) for r in rows]


async def set_delivery(
    conn: aiosqlite.Connection,
    certificate_id: int,
    delivery: str,
    *,
    now: datetime | None = None,
    file_id: str | None = None,
    error: str | None = None,
) -> None:
    """Move a certificate's delivery to ``sending``, ``sent``, ``failed`` or back to pending."""
    await conn.execute(
        "UPDATE certificates SET delivery = ?, attempts = attempts + (? = 'sending'),"
        " last_error = ?, delivered_at = COALESCE(?, delivered_at),"
        " file_id = COALESCE(?, file_id) WHERE id = ?",
        (
            delivery,
            delivery,
            error,
            to_db_time(now) if now is not None and delivery == "sent" else None,
            file_id,
            certificate_id,
        ),
    )


async def revoke(
    conn: aiosqlite.Connection, certificate_id: int, *, actor: str, reason: str, now: datetime
) -> bool:
    """Revoke a live certificate; False if it already was."""
    cur = await conn.execute(
        "UPDATE certificates SET revoked_at = ?, revoked_by = ?, revoke_reason = ?"
        " WHERE id = ? AND revoked_at IS NULL",
        (to_db_time(now), actor, reason, certificate_id),
    )
    return cur.rowcount == 1


async def counts_by_level(conn: aiosqlite.Connection) -> dict[str, int]:
    """Live (not revoked) certificates per level, for the report."""
    rows = await fetch_all(
        conn,
        "SELECT level, COUNT(*) AS n FROM certificates WHERE revoked_at IS NULL GROUP BY level",
    )
    counts = {"participation": 0, "success": 0}
    counts.update({row["level"]: row["n"] for row in rows})
    return counts


async def record_failure(conn: aiosqlite.Connection, key: str, now: datetime) -> None:
    """Remember one wrong code tried by ``key`` (a Telegram user or an address)."""
    await conn.execute(
        "INSERT INTO verification_failures (key, at) VALUES (?, ?)", (key, to_db_time(now))
    )


async def failures_since(conn: aiosqlite.Connection, key: str, since: datetime) -> int:
    """Wrong codes ``key`` tried since ``since``."""
    row = await fetch_one(
        conn,
        "SELECT COUNT(*) AS n FROM verification_failures WHERE key = ? AND at >= ?",
        (key, to_db_time(since)),
    )
    return int(row["n"]) if row else 0


async def forget_failures(conn: aiosqlite.Connection, before: datetime) -> None:
    """Drop failures older than the rate-limit window: they no longer count."""
    await conn.execute("DELETE FROM verification_failures WHERE at < ?", (to_db_time(before),))
