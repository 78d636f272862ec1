"""The report's summaries: counts of people per answer, kept up to date at submission.

Each person counts once per stage, through their *counted* attempt (the latest submitted
one). Triggers (migration 9) add an attempt's answers to ``answer_tally`` in the
transaction that submits it and take the earlier counted attempt's out, and store its
quiz score and mean rating on the attempt. What triggers cannot follow row by row (a
cohort or gender changed, an answer corrected, a person erased) marks the summaries dirty;
``ensure`` rebuilds them, in one pass over the answers, before they are read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import aiosqlite

from bot.content import Content
from bot.storage.migrations import ATTEMPT_SUMMARY, NOW_SIGNED, TALLY_ROWS
from bot.storage.repo import fetch_all, fetch_one


@dataclass(frozen=True, slots=True)
class Count:
    """People of one cohort and gender who gave one answer to one item at one stage."""

    instrument: str
    stage: str
    item: str
    category: str
    cohort: str
    gender: str
    correct: bool | None
    n: int


@dataclass(frozen=True, slots=True)
class Group:
    """People of one cohort and gender at one stage, and the sums of their values."""

    stage: str
    cohort: str
    gender: str
    n: int
    rated: int = 0  # people with a mean rating (they rated at least one item)
    rating_sum: float = 0.0


@dataclass(frozen=True, slots=True)
class Pair:
    """People of one cohort and gender who scored ``first`` then ``last`` at a quiz."""

    cohort: str
    gender: str
    first: int
    last: int
    n: int


def _items(content: Content) -> set[tuple[str, str, str, str | None]]:
    """(instrument, item, type, JSON key) of every item of the content."""
    return {
        (
            instrument.id,
            item.id,
            item.type,
            json.dumps(item.answer, ensure_ascii=False) if item.type == "quiz" else None,
        )
        for instrument in content.instruments.values()
        for item in instrument.items
    }


async def sync_items(conn: aiosqlite.Connection, content: Content) -> bool:
    """Make ``tally_items`` describe the content; True (and dirty) when it changed."""
    rows = await fetch_all(conn, "SELECT instrument, item, type, answer FROM tally_items")
    have = {(r[0], r[1], r[2], r[3]) for r in rows}
    want = _items(content)
    if have == want:
        return False
    await conn.execute("DELETE FROM tally_items")
    await conn.executemany(
        "INSERT INTO tally_items (instrument, item, type, answer) VALUES (?, ?, ?, ?)",
        sorted(want, key=lambda r: (r[0], r[1])),
    )
    await conn.execute("UPDATE tally_state SET dirty = 1")
    return True


async def is_dirty(conn: aiosqlite.Connection) -> bool:
    """Whether the summaries must be rebuilt before they are read."""
    row = await fetch_one(conn, "SELECT dirty FROM tally_state WHERE id = 1")
    return bool(row[0]) if row else True


async def rebuild(conn: aiosqlite.Connection) -> None:
    """Recount everything from the answers (inside the caller's transaction)."""
    await conn.execute("DELETE FROM answer_tally")
    await conn.execute("UPDATE attempts SET tallied = 0 WHERE tallied = 1")
    await conn.execute(
        "UPDATE attempts SET tallied = 1 WHERE submitted_at IS NOT NULL AND number ="
        " (SELECT MAX(number) FROM attempts b WHERE b.participant_id = attempts.participant_id"
        " AND b.instrument = attempts.instrument AND b.stage = attempts.stage"
        " AND b.submitted_at IS NOT NULL)"
    )
    await conn.execute(
        "UPDATE attempts SET " + ATTEMPT_SUMMARY.format(attempt="attempts") + " WHERE tallied = 1"
    )
    await conn.execute(
        "INSERT INTO answer_tally (instrument, stage, item, category, cohort, gender, correct, n)"
        + TALLY_ROWS.format(attempts="a.tallied = 1", **NOW_SIGNED)
    )
    await conn.execute("UPDATE tally_state SET dirty = 0")


async def ensure(conn: aiosqlite.Connection, content: Content) -> None:
    """Summaries that match the content and the answers (inside a write transaction)."""
    await sync_items(conn, content)
    if await is_dirty(conn):
        await rebuild(conn)


async def counts(conn: aiosqlite.Connection) -> list[Count]:
    """Every non-zero count of the summaries."""
    rows = await fetch_all(
        conn,
        "SELECT instrument, stage, item, category, cohort, gender, correct, n"
        " FROM answer_tally WHERE n > 0",
    )
    return [
        Count(r[0], r[1], r[2], str(r[3]), r[4], r[5], None if r[6] < 0 else bool(r[6]), r[7])
        for r in rows
    ]


async def groups(conn: aiosqlite.Connection, instrument: str) -> list[Group]:
    """Counted attempts at each stage by cohort and gender, with their ratings' sums."""
    rows = await fetch_all(
        conn,
        "SELECT a.stage, p.cohort, COALESCE(p.gender, 'unknown'), COUNT(*), COUNT(a.rating),"
        " COALESCE(SUM(a.rating), 0) FROM attempts a JOIN participants p"
        " ON p.id = a.participant_id WHERE a.tallied = 1 AND a.instrument = ? GROUP BY 1, 2, 3",
        (instrument,),
    )
    return [Group(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]


async def people_at(conn: aiosqlite.Connection, instrument: str, stages: list[str]) -> int:
    """Distinct people with a counted attempt at any of ``stages``."""
    marks = ", ".join("?" for _ in stages)
    row = await fetch_one(
        conn,
        "SELECT COUNT(DISTINCT participant_id) FROM attempts WHERE tallied = 1"
        f" AND instrument = ? AND stage IN ({marks})",
        (instrument, *stages),
    )
    return int(row[0]) if row else 0


_BOTH = (
    "EXISTS (SELECT 1 FROM attempts b WHERE b.participant_id = a.participant_id"
    " AND b.instrument = a.instrument AND b.tallied = 1"
    " AND b.stage = CASE WHEN a.stage = ?1 THEN ?2 ELSE ?1 END)"
)


async def pairs(conn: aiosqlite.Connection, instrument: str, first: str, last: str) -> list[Pair]:
    """People who took both stages of a quiz, by group and (first score, last score)."""
    rows = await fetch_all(
        conn,
        "SELECT p.cohort, COALESCE(p.gender, 'unknown'), a.score, b.score, COUNT(*)"
        " FROM attempts a JOIN attempts b ON b.participant_id = a.participant_id"
        " AND b.instrument = a.instrument AND b.stage = ?2 AND b.tallied = 1"
        " JOIN participants p ON p.id = a.participant_id"
        " WHERE a.tallied = 1 AND a.instrument = ?3 AND a.stage = ?1"
        " GROUP BY 1, 2, 3, 4",
        (first, last, instrument),
    )
    return [Pair(r[0], r[1], r[2] or 0, r[3] or 0, r[4]) for r in rows]


async def right_answers(
    conn: aiosqlite.Connection, instrument: str, first: str, last: str
) -> dict[tuple[str, str], int]:
    """(stage, item) -> people who took both stages and answered that item right there."""
    rows = await fetch_all(
        conn,
        "SELECT a.stage, j.value, COUNT(*) FROM attempts a"
        " JOIN json_each(COALESCE(a.correct_items, '[]')) j"
        " WHERE a.tallied = 1 AND a.instrument = ?3 AND a.stage IN (?1, ?2)"
        f" AND {_BOTH} GROUP BY 1, 2",
        (first, last, instrument),
    )
    return {(r[0], str(r[1])): r[2] for r in rows}


async def scores(
    conn: aiosqlite.Connection, instrument: str, stage: str
) -> dict[int, tuple[int, int]]:
    """Participant -> (score, questions scored) of their counted attempt at a quiz stage."""
    rows = await fetch_all(
        conn,
        "SELECT participant_id, score, score_max FROM attempts WHERE tallied = 1"
        " AND instrument = ? AND stage = ?",
        (instrument, stage),
    )
    return {r[0]: (r[1] or 0, r[2] or 0) for r in rows}


async def open_answers(
    conn: aiosqlite.Connection, instrument: str, stage: str, item: str
) -> list[str]:
    """The typed answers to one item at one stage, over counted attempts, sorted."""
    rows = await fetch_all(
        conn,
        "SELECT x.value FROM attempts a JOIN answers x ON x.attempt_id = a.id AND x.item = ?"
        " WHERE a.tallied = 1 AND a.instrument = ? AND a.stage = ? AND x.value <> 'null'",
        (item, instrument, stage),
    )
    texts = [json.loads(r[0]) for r in rows]
    return sorted(str(t) for t in texts if isinstance(t, str) and t.strip())
