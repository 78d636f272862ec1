"""The report's summaries, kept at submission, always equal a recount from the answers."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.content import Content
from bot.storage import Database, answers, tally
from tests.test_disclosure import make_people, store

LATER = datetime(2027, 3, 1, tzinfo=UTC)


async def summaries(db: Database) -> tuple[set[tuple[object, ...]], set[tuple[object, ...]]]:
    """The counts and the per-attempt summaries, as sets to compare."""
    async with db.read() as conn:
        counts: set[tuple[object, ...]] = {
            (c.instrument, c.stage, c.item, c.category, c.cohort, c.gender, c.correct, c.n)
            for c in await tally.counts(conn)
        }
        rows = await conn.execute_fetchall(
            "SELECT id, tallied, score, score_max, rating, correct_items FROM attempts"
        )
    return counts, {tuple(r) for r in rows}


async def recounted(db: Database) -> tuple[set[tuple[object, ...]], set[tuple[object, ...]]]:
    async with db.transaction() as conn:
        await tally.rebuild(conn)
    return await summaries(db)


async def test_kept_summaries_equal_a_recount_through_resubmissions_and_moves(
    db: Database, content: Content
) -> None:
    people = make_people(content, seed=5, size=12, answer_rate=0.9)
    async with db.transaction() as conn:
        await tally.sync_items(conn, content)
        await conn.execute("UPDATE tally_state SET dirty = 0")
    await store(db, content, people)
    kept = await summaries(db)
    assert kept[0]  # something was counted at submission
    assert kept == await recounted(db)

    # A second attempt at a stage replaces the first in the counts.
    async with db.transaction() as conn:
        rows = list(await conn.execute_fetchall("SELECT participant_id FROM attempts LIMIT 1"))
        first = rows[0][0]
        attempt = await answers.insert_attempt(
            conn,
            participant_id=first,
            instrument="satisfaction",
            stage="intro",
            number=9,
            content_version=content.version,
            seed=1,
            now=LATER,
        )
        await answers.save_answer(conn, attempt.id, "info", 1, LATER)
        await answers.submit(conn, attempt.id, LATER)
    kept = await summaries(db)
    assert kept == await recounted(db)

    # Someone moves to another cohort, someone's gender is corrected: counts follow.
    async with db.transaction() as conn:
        await conn.execute("UPDATE participants SET cohort = 'agadir' WHERE id = ?", (first,))
        await conn.execute("UPDATE participants SET gender = 'other' WHERE id = ?", (first + 1,))
        assert not await tally.is_dirty(conn)  # followed row by row, no recount needed
    kept = await summaries(db)
    assert kept == await recounted(db)
