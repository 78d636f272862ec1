"""Supervisors (line managers) and whom each supervises, as the roster names them."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from bot.storage.repo import to_db_time


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
