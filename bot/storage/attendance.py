"""The SQL of the attendance sources: Zoom visits, e-campus completions and the aliases
a coordinator resolved (the yes/no import is in ``progress``)."""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from bot.storage.repo import from_db_time, to_db_time

# Who a report row is: (person, participant id, name, e-mail, reason). Matched rows keep
# only 'p:<id>' and the id; unmatched ones the name and e-mail as written, and why.
Who = tuple[str, int | None, str | None, str | None, str | None]
# An unmatched person for the review: (session or 'e-campus', person, name, e-mail,
# reason, rows).
Unmatched = tuple[str, str, str | None, str | None, str | None, int]


async def aliases(conn: aiosqlite.Connection) -> dict[str, int | None]:
    """Person key -> the participant it was resolved to (None: to ignore)."""
    async with conn.execute("SELECT person, participant_id FROM attendance_aliases") as cur:
        return {row[0]: row[1] for row in await cur.fetchall()}


async def add_visit(
    conn: aiosqlite.Connection,
    session_id: str,
    who: Who,
    joined: datetime,
    left: datetime,
    now: datetime,
) -> int:
    """Record one Zoom visit; 0 when the same visit is already recorded, else 1."""
    cursor = await conn.execute(
        "INSERT OR IGNORE INTO attendance_visits (session, person, participant_id, name,"
        " email, reason, joined_at, left_at, imported_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (session_id, *who, to_db_time(joined), to_db_time(left), to_db_time(now)),
    )
    return cursor.rowcount


async def matched_visits(
    conn: aiosqlite.Connection, session_id: str
) -> dict[int, list[tuple[datetime, datetime]]]:
    """Participant id -> their visits (joined, left) of one session."""
    intervals: dict[int, list[tuple[datetime, datetime]]] = {}
    async with conn.execute(
        "SELECT participant_id, joined_at, left_at FROM attendance_visits"
        " WHERE session = ? AND participant_id IS NOT NULL",
        (session_id,),
    ) as cur:
        for row in await cur.fetchall():
            intervals.setdefault(row[0], []).append((from_db_time(row[1]), from_db_time(row[2])))
    return intervals


async def record_completion(
    conn: aiosqlite.Connection,
    activity: str,
    who: Who,
    *,
    completed: bool,
    state: str,
    at: datetime | None,
    now: datetime,
) -> None:
    """Record one e-campus completion state; a re-import updates it."""
    await conn.execute(
        "INSERT INTO ecampus_completions (activity, person, participant_id, name, email,"
        " reason, completed, state, completed_at, imported_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (activity, person) DO UPDATE"
        " SET completed = excluded.completed, state = excluded.state,"
        " completed_at = excluded.completed_at, imported_at = excluded.imported_at",
        (
            activity,
            *who,
            int(completed),
            state,
            to_db_time(at) if at else None,
            to_db_time(now),
        ),
    )


# The rows nobody was matched to, one per person (and session, for Zoom), by source.
_UNMATCHED = {
    "zoom": "SELECT session, person, MAX(name), MAX(email), MAX(reason), COUNT(*)"
    " FROM attendance_visits WHERE participant_id IS NULL GROUP BY session, person",
    "ecampus": "SELECT 'e-campus', person, MAX(name), MAX(email), MAX(reason), COUNT(*)"
    " FROM ecampus_completions WHERE participant_id IS NULL GROUP BY person",
}
SOURCES = tuple(_UNMATCHED)


async def unmatched(conn: aiosqlite.Connection, source: str) -> list[Unmatched]:
    """The rows of one source (``zoom`` or ``ecampus``) nobody was matched to, grouped."""
    async with conn.execute(_UNMATCHED[source]) as cur:
        return [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in await cur.fetchall()]


async def save_alias(
    conn: aiosqlite.Connection, person: str, participant_id: int | None, actor: str, now: datetime
) -> None:
    """Remember who a person key is (None: someone to ignore); the latest decision wins."""
    await conn.execute(
        "INSERT INTO attendance_aliases (person, participant_id, created_by, created_at)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (person) DO UPDATE SET"
        " participant_id = excluded.participant_id, created_by = excluded.created_by,"
        " created_at = excluded.created_at",
        (person, participant_id, actor, to_db_time(now)),
    )


async def drop_unmatched(conn: aiosqlite.Connection, person: str) -> None:
    """Delete the unmatched rows of a person to ignore (a guest speaker)."""
    await conn.execute(
        "DELETE FROM attendance_visits WHERE person = ? AND participant_id IS NULL", (person,)
    )
    await conn.execute(
        "DELETE FROM ecampus_completions WHERE person = ? AND participant_id IS NULL", (person,)
    )


async def unmatched_visit_sessions(conn: aiosqlite.Connection, person: str) -> list[str]:
    """The sessions a person has unmatched visits of."""
    async with conn.execute(
        "SELECT DISTINCT session FROM attendance_visits"
        " WHERE person = ? AND participant_id IS NULL",
        (person,),
    ) as cur:
        return [row[0] for row in await cur.fetchall()]


async def explain_unmatched_visits(
    conn: aiosqlite.Connection, person: str, session_id: str, reason: str
) -> None:
    """Say why a person's visits of a session stay unmatched."""
    await conn.execute(
        "UPDATE attendance_visits SET reason = ? WHERE person = ? AND session = ?"
        " AND participant_id IS NULL",
        (reason, person, session_id),
    )


async def match_visits(
    conn: aiosqlite.Connection, person: str, session_id: str, participant_id: int
) -> int:
    """Give a person's unmatched visits of a session to a participant; how many moved."""
    cursor = await conn.execute(
        "UPDATE OR IGNORE attendance_visits SET person = ?, participant_id = ?,"
        " name = NULL, email = NULL, reason = NULL"
        " WHERE person = ? AND session = ? AND participant_id IS NULL",
        (f"p:{participant_id}", participant_id, person, session_id),
    )
    # A visit already recorded under the participant: the copy goes.
    await conn.execute(
        "DELETE FROM attendance_visits WHERE person = ? AND session = ? AND participant_id IS NULL",
        (person, session_id),
    )
    return cursor.rowcount


async def match_completions(conn: aiosqlite.Connection, person: str, participant_id: int) -> int:
    """Give a person's unmatched e-campus rows to a participant; how many moved."""
    cursor = await conn.execute(
        "UPDATE OR IGNORE ecampus_completions SET person = ?, participant_id = ?,"
        " name = NULL, email = NULL, reason = NULL"
        " WHERE person = ? AND participant_id IS NULL",
        (f"p:{participant_id}", participant_id, person),
    )
    await conn.execute(
        "DELETE FROM ecampus_completions WHERE person = ? AND participant_id IS NULL", (person,)
    )
    return cursor.rowcount
