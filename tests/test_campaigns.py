"""Campaigns: what is due for whom and when, queued exactly once, missed ones skipped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.clock import FixedClock
from bot.content import Content
from bot.i18n import Translator, load_catalogs
from bot.services.campaigns import deliveries_for, plan
from bot.storage import Database, outbox, repo
from bot.storage.repo import Participant
from tests.conftest import add_participant, submitted_attempt


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
    report = await plan(db, content, lambda loc: Translator(loc, content.programme.tz), now)
    return report.queued, report.skipped


async def rows(db: Database) -> list[outbox.Row]:
    async with db.read() as conn:
        return await outbox.rows_of(conn)


def test_reminders_follow_the_cohort_and_the_zone_offsets(content: Content) -> None:
    tanger = Participant(1, "P-1", "A-1", "Nadia", None, None, None, None, "tanger", "fr")
    reminders = [d for d in deliveries_for(content, tanger, set()) if d.session is not None]
    sessions = {d.session.id for d in reminders if d.session}
    assert "tanger-module-2" in sessions
    assert "agadir-module-2" not in sessions
    intro = [d for d in reminders if d.session and d.session.id == "intro-live"]
    module2 = [d for d in reminders if d.session and d.session.id == "tanger-module-2"]
    # 13 January 10:00 in Casablanca is UTC+1; 15 February 09:00 falls in Ramadan, UTC+0.
    assert {d.due_at for d in intro} == {
        datetime(2027, 1, 12, 9, 0, tzinfo=UTC),
        datetime(2027, 1, 13, 8, 0, tzinfo=UTC),
    }
    assert {d.due_at for d in module2} == {
        datetime(2027, 2, 14, 9, 0, tzinfo=UTC),
        datetime(2027, 2, 15, 8, 0, tzinfo=UTC),
    }
    keys = [d.key for d in deliveries_for(content, tanger, set())]
    assert len(keys) == len(set(keys))


def test_nudges_every_three_days_at_most_three_and_not_after_submission(content: Content) -> None:
    someone = Participant(1, "P-1", "A-1", "Nadia", None, None, None, None, "tanger", "fr")
    nudges = [
        d
        for d in deliveries_for(content, someone, set())
        if d.campaign.kind == "nudge" and d.instrument and d.instrument.kind == "kat"
    ]
    pre = [d for d in nudges if d.stage and d.stage.id == "pre"]
    # Pre-test open 4 January 08:00 to 13 January 10:00: the third nudge is two hours
    # before it closes; none after.
    assert [d.due_at.astimezone(UTC).isoformat() for d in pre] == [
        "2027-01-07T07:00:00+00:00",
        "2027-01-10T07:00:00+00:00",
        "2027-01-13T07:00:00+00:00",
    ]
    post = [d for d in nudges if d.stage and d.stage.id == "post"]
    assert len(post) == 3
    after = deliveries_for(content, someone, {("kat", "pre")})
    assert not [d for d in after if d.campaign.kind == "nudge" and d.stage and d.stage.id == "pre"]


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
    assert "⏰ Rappel : <b>Module d'introduction" in reminder.payload["text"]
    assert "mardi 12 janvier" not in reminder.payload["text"]
    assert "mercredi 13 janvier 2027 à 10:00" in reminder.payload["text"]

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
    # 60 minutes late is beyond the 45-minute grace: skipped, with the reason.
    await run_plan(db, content, datetime(2027, 1, 12, 10, 0, tzinfo=UTC))
    day_before = next(r for r in await rows(db) if r.key and ":intro-live:1d:" in r.key)
    assert day_before.status == "skipped"
    assert day_before.last_error == "missed: the bot was not running at the time"
    # Back at 08:30 on the 13th: the one-hour reminder (08:00) is 30 minutes late, in grace.
    await run_plan(db, content, datetime(2027, 1, 13, 8, 30, tzinfo=UTC))
    hour_before = next(r for r in await rows(db) if r.key and ":intro-live:1h:" in r.key)
    assert hour_before.status == "pending"


async def test_reminder_for_a_session_already_started_is_never_sent(
    db: Database, clock: FixedClock, content: Content
) -> None:
    await bound(db, clock, "A-1", "tanger")
    await run_plan(db, content, datetime(2027, 1, 13, 9, 5, tzinfo=UTC))
    reminders = [r for r in await rows(db) if r.key and ":intro-live:" in r.key]
    assert {r.status for r in reminders} == {"skipped"}
    assert {r.last_error for r in reminders} == {"session already started"}


async def test_invitation_carries_a_start_button_and_nudges_stop_at_submission(
    db: Database, clock: FixedClock, content: Content
) -> None:
    nadia = await bound(db, clock, "A-1", "tanger")
    await run_plan(db, content, datetime(2027, 1, 4, 8, 30, tzinfo=UTC))
    invitation = next(r for r in await rows(db) if r.kind == "invitation")
    assert invitation.payload["buttons"][0][0]["data"] == "qo:kat:pre"
    assert invitation.payload["buttons"][0][0]["text"].startswith("Commencer : ")
    await submitted_attempt(db, clock, content, nadia.id, "kat", "pre")
    await run_plan(db, content, datetime(2027, 1, 7, 8, 30, tzinfo=UTC))
    assert not [r for r in await rows(db) if r.kind == "nudge" and r.key and ":kat:pre:" in r.key]
