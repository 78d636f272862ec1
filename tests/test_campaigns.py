"""Campaigns: what is due for whom and when, queued exactly once, missed ones skipped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.app import running, runtime_of
from bot.callbacks import open_data
from bot.clock import FixedClock
from bot.content import Content
from bot.content.models import Nudge
from bot.i18n import Translator, load_catalogs
from bot.outgoing import Guard
from bot.sandbox.offline import OfflineBotAPI
from bot.scheduling import replan
from bot.services.campaigns import cohort_steps, plan
from bot.services.questionnaire import reopen_stage
from bot.settings import Settings
from bot.storage import Database, outbox, repo
from bot.storage.repo import Participant
from tests.conftest import add_participant, offline_app, submitted_attempt


def translator(content: Content) -> Translator:
    load_catalogs()
    return Translator("fr", content.programme.tz)


async def bound(db: Database, clock: FixedClock, external_id: str, cohort: str) -> Participant:
    participant = await add_participant(db, clock, external_id=external_id, cohort=cohort)
    async with db.transaction() as conn:
        await repo.bind_participant(
            conn, participant.id, 700 + participant.id, 700 + participant.id, clock.now()
        )
    return participant


async def run_plan(db: Database, content: Content, now: datetime) -> tuple[int, int]:
    """Messages queued, and steps recorded as missed, by one planner run."""
    report = await plan(db, content, lambda loc: Translator(loc, content.programme.tz), now, "fr")
    return report.queued, len(report.missed)


async def marks(db: Database) -> dict[tuple[str, str], outbox.Mark]:
    async with db.read() as conn:
        return await outbox.plan_marks(conn)


async def rows(db: Database) -> list[outbox.Row]:
    async with db.read() as conn:
        return await outbox.rows_of(conn)


def test_reminders_follow_the_cohort_and_the_zone_offsets(content: Content) -> None:
    steps = cohort_steps(content, "tanger")
    reminders = [step for step in steps if step.session is not None]
    sessions = {step.session.id for step in reminders if step.session}
    assert "tanger-module-2" in sessions
    assert "agadir-module-2" not in sessions
    intro = [s for s in reminders if s.session and s.session.id == "intro-live"]
    module2 = [s for s in reminders if s.session and s.session.id == "tanger-module-2"]
    # 13 January 10:00 in Casablanca is UTC+1; 15 February 09:00 falls in Ramadan, UTC+0.
    assert {s.due_at for s in intro} == {
        datetime(2027, 1, 12, 9, 0, tzinfo=UTC),
        datetime(2027, 1, 13, 8, 0, tzinfo=UTC),
    }
    assert {s.due_at for s in module2} == {
        datetime(2027, 2, 14, 9, 0, tzinfo=UTC),
        datetime(2027, 2, 15, 8, 0, tzinfo=UTC),
    }
    keys = [step.prefix for step in steps]
    assert len(keys) == len(set(keys))


def test_nudges_every_three_days_at_most_three_while_the_stage_is_open(content: Content) -> None:
    nudges = [
        step
        for step in cohort_steps(content, "tanger")
        if isinstance(step.campaign, Nudge) and step.instrument and step.instrument.id == "kat"
    ]
    pre = [step for step in nudges if step.stage and step.stage.id == "pre"]
    # Pre-test open 4 January 08:00 to 13 January 10:00: the third nudge is two hours
    # before it closes; none after.
    assert [step.due_at.astimezone(UTC).isoformat() for step in pre] == [
        "2027-01-07T07:00:00+00:00",
        "2027-01-10T07:00:00+00:00",
        "2027-01-13T07:00:00+00:00",
    ]
    post = [step for step in nudges if step.stage and step.stage.id == "post"]
    assert len(post) == 3


async def test_due_messages_are_queued_once_even_across_a_restart(
    db: Database, clock: FixedClock, content: Content, tmp_path: Path
) -> None:
    nadia = await bound(db, clock, "A-1", "tanger")
    # 12 January 09:10 UTC: the one-day reminder of the introduction went out 10 minutes ago.
    now = datetime(2027, 1, 12, 9, 10, tzinfo=UTC)
    queued, _skipped = await run_plan(db, content, now)
    assert queued >= 1
    again = await run_plan(db, content, now)
    assert again == (0, 0)
    reminder = next(r for r in await rows(db) if r.kind == "reminder" and r.status == "pending")
    assert reminder.participant_id == nadia.id
    assert "⏰ Rappel : <b>Module d'introduction" in reminder.message.text
    assert "mardi 12 janvier" not in reminder.message.text
    assert "mercredi 13 janvier 2027 à 10:00" in reminder.message.text

    # A new process on the same file plans nothing twice.
    reopened = await Database.open(db.path)
    try:
        assert await run_plan(reopened, content, now + timedelta(minutes=1)) == (0, 0)
    finally:
        await reopened.close()


async def test_grace_window_and_started_sessions(
    db: Database, clock: FixedClock, content: Content
) -> None:
    await bound(db, clock, "A-1", "tanger")
    # The bot was down from before the one-day reminder (12 Jan 09:00 UTC) until 10:00:
    # 60 minutes late is beyond the 45-minute grace: recorded once for the cohort, with
    # the reason, and nothing queued.
    _, missed = await run_plan(db, content, datetime(2027, 1, 12, 10, 0, tzinfo=UTC))
    assert missed >= 1
    day_before = (await marks(db))[("tanger", "rappels-sessions:intro-live:1d")]
    assert day_before.reason == "missed: the bot was not running at the time"
    assert not [r for r in await rows(db) if r.key and ":intro-live:1d:" in r.key]
    # Back at 08:30 on the 13th: the one-hour reminder (08:00) is 30 minutes late, in grace.
    await run_plan(db, content, datetime(2027, 1, 13, 8, 30, tzinfo=UTC))
    hour_before = next(r for r in await rows(db) if r.key and ":intro-live:1h:" in r.key)
    assert hour_before.status == "pending"


async def test_reminder_for_a_session_already_started_is_never_sent(
    db: Database, clock: FixedClock, content: Content
) -> None:
    await bound(db, clock, "A-1", "tanger")
    await run_plan(db, content, datetime(2027, 1, 13, 9, 5, tzinfo=UTC))
    assert not [r for r in await rows(db) if r.key and ":intro-live:" in r.key]
    recorded = await marks(db)
    for delay in ("1d", "1h"):
        assert recorded[("tanger", f"rappels-sessions:intro-live:{delay}")].reason == (
            "session already started"
        )
    # Recorded once: the next run reports nothing new.
    assert await run_plan(db, content, datetime(2027, 1, 13, 9, 6, tzinfo=UTC)) == (0, 0)


async def test_invitation_carries_a_start_button_and_nudges_stop_at_submission(
    db: Database, clock: FixedClock, content: Content
) -> None:
    nadia = await bound(db, clock, "A-1", "tanger")
    await run_plan(db, content, datetime(2027, 1, 4, 8, 30, tzinfo=UTC))
    invitation = next(
        r for r in await rows(db) if r.kind == "invitation" and ":kat:pre" in (r.key or "")
    )
    assert invitation.message.buttons[0][0].data == open_data("kat", "pre")
    assert invitation.message.buttons[0][0].text.startswith("Commencer : ")
    assert invitation.message.unless_submitted is None
    await submitted_attempt(db, clock, content, nadia.id, "kat", "pre")
    await run_plan(db, content, datetime(2027, 1, 7, 8, 30, tzinfo=UTC))
    assert not [r for r in await rows(db) if r.kind == "nudge" and r.key and ":kat:pre:" in r.key]


async def test_late_enrolments_and_cohort_moves_get_their_rows_in_their_language(
    db: Database, clock: FixedClock, content: Content
) -> None:
    nadia = await bound(db, clock, "A-1", "tanger")
    await bound(db, clock, "A-3", "agadir")
    # 12 January 09:10 UTC: the one-day reminder of the introduction is due.
    now = datetime(2027, 1, 12, 9, 10, tzinfo=UTC)
    await run_plan(db, content, now)
    nadias = {r.key for r in await rows(db) if r.participant_id == nadia.id}

    # Youssef enrols after the planner has run, in English: he gets the same steps as
    # Nadia, written in English, and nobody gets anything twice.
    youssef = await add_participant(db, clock, external_id="A-2", cohort="tanger", language="en")
    async with db.transaction() as conn:
        await repo.bind_participant(conn, youssef.id, 902, 902, clock.now())
    queued, _ = await run_plan(db, content, now)
    assert queued >= 1
    everything = await rows(db)
    his = [r for r in everything if r.participant_id == youssef.id]
    assert {r.key.rsplit(":", 1)[0] for r in his if r.key} == {
        k.rsplit(":", 1)[0] for k in nadias if k
    }
    assert {r.key for r in everything if r.participant_id == nadia.id} == nadias
    assert len({r.key for r in everything}) == len(everything)
    reminder = next(r for r in his if r.kind == "reminder" and r.status == "pending")
    assert reminder.message.text.startswith("⏰ Reminder: <b>")

    # Moved to Agadir, he gets Agadir's module 2 reminder (due 21 February 09:00 UTC),
    # though that step was planned for Agadir before he moved.
    later = datetime(2027, 2, 21, 9, 5, tzinfo=UTC)
    await run_plan(db, content, later)
    async with db.transaction() as conn:
        moved = repo.ParticipantFields(
            external_id="A-2",
            full_name=youssef.full_name,
            email=youssef.email,
            gender=None,
            agency=None,
            region=None,
            cohort="agadir",
            language=None,
        )
        await repo.update_participant(conn, youssef.id, moved, clock.now())
    await run_plan(db, content, later)
    keys = [r.key or "" for r in await rows(db) if r.participant_id == youssef.id]
    assert any(":agadir-module-2:" in key for key in keys)


async def test_a_reopened_stage_is_nudged_again_and_a_submitted_one_is_not(
    db: Database, clock: FixedClock, content: Content
) -> None:
    # The same rule as /pending and the "not yet answered" audience: the latest attempt.
    nadia = await bound(db, clock, "A-1", "tanger")
    omar = await bound(db, clock, "A-2", "tanger")
    await submitted_attempt(db, clock, content, nadia.id, "kat", "pre")
    await submitted_attempt(db, clock, content, omar.id, "kat", "pre")
    await reopen_stage(db, content, omar.code, "kat", "pre", actor="test", now=clock.now())
    # 7 January 08:30 UTC: the first pre-test nudge (07:00) is due.
    await run_plan(db, content, datetime(2027, 1, 7, 8, 30, tzinfo=UTC))
    nudged = [r for r in await rows(db) if r.kind == "nudge" and r.key and ":kat:pre:" in r.key]
    assert [r.participant_id for r in nudged] == [omar.id]
    assert nudged[0].message.unless_submitted == Guard("kat", "pre")
    assert nudged[0].message.buttons[0][0].data == open_data("kat", "pre")


async def test_someone_without_a_language_is_reminded_in_the_configured_default(
    settings: Settings, content: Content, clock: FixedClock, api: OfflineBotAPI
) -> None:
    # Through the running bot's planner, so that the setting's wiring is what is tested.
    english = settings.model_copy(update={"default_locale": "en"})
    application = offline_app(english, content, api, clock)
    async with running(application):
        db = runtime_of(application).db
        await bound(db, clock, "A-1", "tanger")  # no language of her own
        await bound(db, clock, "A-2", "tanger")
        async with db.transaction() as conn:
            await conn.execute("UPDATE participants SET language = 'fr' WHERE external_id = 'A-2'")
        # 12 January 09:10 UTC: the one-day reminder of the introduction is due.
        clock.set(datetime(2027, 1, 12, 9, 10, tzinfo=UTC))
        await replan(application)
        texts = {r.participant_id: r.message.text for r in await rows(db) if r.kind == "reminder"}
    assert [text.split(" <b>")[0] for _, text in sorted(texts.items())] == [
        "⏰ Reminder:",
        "⏰ Rappel :",
    ]
