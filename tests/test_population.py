"""The demo's simulated class: it answers through the bot's own services, the same each time."""

from __future__ import annotations

from pathlib import Path
from statistics import fmean
from typing import Any

from bot.app import RelaisApp
from bot.clock import FixedClock
from bot.content import Content
from bot.demo import REPORT_AT
from bot.i18n import Translator
from bot.sandbox.chat import SimulatedUser, direct_delivery
from bot.sandbox.emulator import BotAPIEmulator
from bot.sandbox.harness import SAMPLE_ROSTER, seed
from bot.sandbox.offline import OfflineBotAPI
from bot.sandbox.population import USER_ID_BASE, ClassReport, simulate_class
from bot.services.scores import kat_result
from bot.storage import Database, repo
from bot.storage import answers as store
from tests.conftest import START


async def _simulate(
    db: Database, api: BotAPIEmulator, content: Content, out: Path, people: int, seed_value: int
) -> ClassReport:
    seeded = await seed(db, content, FixedClock(START), SAMPLE_ROSTER.read_bytes())
    return await simulate_class(
        db,
        api,
        content,
        seeded.participants[:people],
        start=START,
        until=REPORT_AT,
        out=out,
        seed=seed_value,
    )


async def test_a_simulated_participant_sees_in_the_chat_what_the_simulation_answered(
    app: RelaisApp,
    db: Database,
    content: Content,
    clock: FixedClock,
    api: OfflineBotAPI,
    tmp_path: Path,
) -> None:
    report = await _simulate(db, api, content, tmp_path, people=12, seed_value=5)
    assert report.enrolled + report.never_enrolled == 12
    assert report.enrolled >= 8
    clock.set(REPORT_AT)
    async with db.read() as conn:
        posts = {
            a.participant_id
            for a, _ in await store.submitted_with_answers(conn, "kat")
            if a.stage == "post"
        }
        async with conn.execute("SELECT DISTINCT participant_id FROM attendance") as cur:
            attendance = {row[0] for row in await cur.fetchall()}
    assert posts
    participant_id = min(posts)
    result = await kat_result(db, content, participant_id)
    assert result is not None
    # The bot, asked by that person's Telegram account, shows the scores the taps stored.
    me = await SimulatedUser(api, direct_delivery(app, api), USER_ID_BASE + participant_id).send(
        "/me"
    )
    async with db.read() as conn:
        participant = await repo.get_participant(conn, participant_id)
    assert participant is not None
    t = Translator(participant.language or "fr", content.programme.tz)
    assert result.post is not None
    assert t.gettext("After the training: %(n)d/%(max)d", n=result.post, max=10) in me.text
    if result.pre is not None:
        assert t.gettext("Before the training: %(n)d/%(max)d", n=result.pre, max=10) in me.text
    # Attendance came in through the import, as a coordinator's sheet would.
    assert participant_id in attendance
    assert (tmp_path / "attendance.csv").read_text(encoding="utf-8").count("\n") > 12


async def _submitted(db: Database) -> list[tuple[int, str, str, dict[str, Any]]]:
    found = []
    async with db.read() as conn:
        for kind in ("kat", "satisfaction", "followup"):
            for attempt, answers in await store.submitted_with_answers(conn, kind):
                found.append((attempt.participant_id, kind, attempt.stage, answers))
    return sorted(found, key=lambda entry: entry[:3])


async def test_the_same_seed_gives_the_same_class_and_the_class_learns(
    content: Content, tmp_path: Path
) -> None:
    runs = []
    for name, seed_value in (("a", 11), ("b", 11), ("c", 12)):
        folder = tmp_path / name
        folder.mkdir()
        db = await Database.open(folder / "relais.db")
        try:
            report = await _simulate(db, BotAPIEmulator(), content, folder, 24, seed_value)
            runs.append((report, await _submitted(db)))
            pre, post = [], []
            for participant_id, kind, stage, _ in runs[-1][1]:
                if kind == "kat" and stage == "post":
                    result = await kat_result(db, content, participant_id)
                    assert result is not None
                    if result.pre is not None and result.post is not None:
                        pre.append(result.pre)
                        post.append(result.post)
        finally:
            await db.close()
        assert len(pre) >= 12
        assert fmean(post) > fmean(pre) + 1  # scores rise on average
    (first, answers_a), (second, answers_b), (_, answers_c) = runs
    assert first.submitted == second.submitted
    assert answers_a == answers_b
    assert answers_a != answers_c
    # Most answer, not all: some never enrol, and fewer answer the follow-up than enrolled.
    assert first.never_enrolled < 6
    assert first.submitted["followup:six-months"] < first.enrolled
