"""The outbox sender against the emulator: pacing, 429, 403, timeouts, crash recovery."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from telegram import Bot

from bot.clock import FixedClock
from bot.content import Content
from bot.outgoing import Guard, OutgoingMessage
from bot.sandbox.offline import BOT_TOKEN, OfflineBotAPI
from bot.sender import Sender, StatusWriter
from bot.storage import MIGRATIONS, Database, outbox, repo
from bot.storage.outbox import Status
from tests.conftest import FakeTime, add_participant, submitted_attempt


@pytest.fixture
async def bot(api: OfflineBotAPI) -> AsyncIterator[Bot]:
    # A plain Bot: no PTB rate limiter retrying behind the sender's back.
    plain = Bot(BOT_TOKEN, request=api.request())
    async with plain:
        yield plain


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def sender(bot: Bot, db: Database, clock: FixedClock, fake_time: FakeTime) -> Sender:
    return Sender(bot, db, clock, rate=25.0, sleep=fake_time.sleep, monotonic=fake_time.monotonic)


async def queue(
    db: Database,
    clock: FixedClock,
    api: OfflineBotAPI,
    chat_ids: list[int],
    *,
    text: str = "Annonce",
    participant_id: int | None = None,
    message: OutgoingMessage | None = None,
) -> None:
    async with db.transaction() as conn:
        for n, chat_id in enumerate(chat_ids):
            if chat_id not in api.users:
                api.add_user(chat_id, f"User{chat_id}")
            await outbox.enqueue(
                conn,
                key=None,
                kind="broadcast",
                source="broadcast:1",
                participant_id=participant_id,
                chat_id=chat_id,
                message=message or OutgoingMessage(f"{text} {n}"),
                due_at=clock.now(),
                now=clock.now(),
            )


async def statuses(db: Database) -> list[tuple[str, str | None]]:
    async with db.read() as conn:
        return [(r.status, r.last_error) for r in await outbox.rows_of(conn)]


async def test_rate_never_above_the_configured_one(
    sender: Sender, db: Database, clock: FixedClock, api: OfflineBotAPI
) -> None:
    await queue(db, clock, api, list(range(900_001, 900_061)))
    assert await sender.drain_all() == 60
    assert {s for s, _ in await statuses(db)} == {"sent"}
    gaps = [b - a for a, b in zip(sender.sent_times, sender.sent_times[1:], strict=False)]
    assert min(gaps) >= 1 / 25 - 1e-9
    # Never more than 25 in any rolling second, as Telegram counts.
    times = sender.sent_times
    assert all(times[i + 25] - times[i] >= 1.0 for i in range(len(times) - 25))
    assert len(api.calls_to("sendMessage")) == 60


async def test_one_chat_gets_at_most_one_message_a_second(
    sender: Sender, db: Database, clock: FixedClock, api: OfflineBotAPI
) -> None:
    await queue(db, clock, api, [900_100] * 3)
    await sender.drain_all()
    gaps = [b - a for a, b in zip(sender.sent_times, sender.sent_times[1:], strict=False)]
    assert all(gap >= 1.0 for gap in gaps)
    assert [m.text for m in api.visible(900_100)] == ["Annonce 0", "Annonce 1", "Annonce 2"]


async def test_retry_after_waits_then_sends_the_same_row_once(
    sender: Sender, db: Database, clock: FixedClock, api: OfflineBotAPI, fake_time: FakeTime
) -> None:
    # More rows than calls in flight at once, so that some leave after the 429 is back.
    chats = list(range(900_200, 900_200 + sender.max_in_flight + 10))
    await queue(db, clock, api, chats)
    api.inject("error", "sendMessage", status=429, delay=7)
    await sender.drain_all()
    # The first row waits 7 s of the clock; the others went out, after the pause except
    # those already on their way when the 429 came back.
    assert [s for s, _ in await statuses(db)] == ["pending"] + ["sent"] * (len(chats) - 1)
    assert fake_time.now >= 7
    early = [t for t in sender.sent_times if t < 7]
    assert len(early) <= sender.max_in_flight
    clock.advance(timedelta(seconds=7))
    await sender.drain_all()
    assert [s for s, _ in await statuses(db)] == ["sent"] * len(chats)
    for chat in chats:
        assert len(api.visible(chat)) == 1


async def test_blocked_user_fails_with_the_reason_and_is_marked_unreachable(
    sender: Sender, db: Database, clock: FixedClock, api: OfflineBotAPI
) -> None:
    participant = await add_participant(db, clock)
    async with db.transaction() as conn:
        await repo.bind_participant(conn, participant.id, 900_300, 900_300, clock.now())
    api.add_user(900_300, "Nadia").blocked = True
    await queue(db, clock, api, [900_300], participant_id=participant.id)
    await sender.drain_all()
    assert await statuses(db) == [("failed", "blocked: Forbidden: bot was blocked by the user")]
    async with db.read() as conn:
        binding = await repo.binding_for_participant(conn, participant.id)
    assert binding is not None
    assert binding.reachable is False


async def test_network_errors_retry_with_backoff_then_fail(
    sender: Sender, db: Database, clock: FixedClock, api: OfflineBotAPI
) -> None:
    await queue(db, clock, api, [900_400])
    api.inject("drop", "sendMessage", times=2)
    for _ in range(3):
        await sender.drain_all()
        clock.advance(timedelta(seconds=10))
    assert await statuses(db) == [("sent", "network: connection dropped by the sandbox")]
    assert len(api.visible(900_400)) == 1

    await queue(db, clock, api, [900_401])
    api.inject("drop", "sendMessage", times=50)
    for _ in range(8):
        await sender.drain_all()
        clock.advance(timedelta(seconds=60))
    last = (await statuses(db))[-1]
    assert last == ("failed", "network: connection dropped by the sandbox")
    async with db.read() as conn:
        row = (await outbox.rows_of(conn))[-1]
    assert row.attempts == sender.max_attempts


async def test_a_row_caught_mid_send_by_a_crash_is_sent_again_once(
    bot: Bot, db: Database, clock: FixedClock, api: OfflineBotAPI, fake_time: FakeTime
) -> None:
    await queue(db, clock, api, [900_500])
    async with db.transaction() as conn:
        row = (await outbox.rows_of(conn))[0]
        await outbox.mark(conn, row.id, Status.SENDING, now=clock.now(), attempts=1)
    restarted = Sender(bot, db, clock, sleep=fake_time.sleep, monotonic=fake_time.monotonic)
    assert await restarted.start() == 1
    await restarted.drain_all()
    await restarted.drain_all()
    assert await statuses(db) == [("sent", "interrupted; resent")]
    assert len(api.visible(900_500)) == 1


async def test_a_nudge_is_dropped_if_the_participant_submitted_meanwhile(
    sender: Sender, db: Database, clock: FixedClock, api: OfflineBotAPI, content: Content
) -> None:
    participant = await add_participant(db, clock)
    other = await add_participant(db, clock, external_id="A-002")
    nudge = OutgoingMessage("Relance", unless_submitted=Guard("kat", "pre"))
    await queue(db, clock, api, [900_600], participant_id=participant.id, message=nudge)
    await queue(db, clock, api, [900_601], participant_id=other.id, message=nudge)
    await submitted_attempt(db, clock, content, participant.id, "kat", "pre")
    await submitted_attempt(db, clock, content, other.id, "kat", "post")
    await sender.drain_all()
    assert await statuses(db) == [("skipped", "already submitted"), ("sent", None)]
    assert api.visible(900_600) == []
    assert [m.text for m in api.visible(900_601)] == ["Relance"]


async def test_a_nudge_queued_before_the_guard_column_keeps_its_guard(tmp_path: Path) -> None:
    # Rows queued by an older version carried the guard inside the message.
    path = tmp_path / "before.db"
    index = next(i for i, sql in enumerate(MIGRATIONS) if "unless_instrument" in sql)
    old = await Database.open(path, migrations=MIGRATIONS[:index])
    async with old.transaction() as conn:
        shared = await conn.execute(
            "INSERT INTO outbox_payloads (body) VALUES"
            ' (\'{"text": "Relance", "unless_submitted": ["kat", "pre"]}\')'
        )
        for key, payload, payload_id in (
            ("own", '{"text": "Seule", "unless_submitted": ["satisfaction", "intro"]}', None),
            ("shared", "{}", shared.lastrowid),
            ("plain", '{"text": "Annonce"}', None),
        ):
            await conn.execute(
                "INSERT INTO outbox (key, kind, source, payload, payload_id, status, due_at,"
                " not_before, created_at) VALUES (?, 'nudge', 'relances', ?, ?, 'pending',"
                " '2027-01-07T07:00:00', '2027-01-07T07:00:00', '2027-01-07T07:00:00')",
                (key, payload, payload_id),
            )
    await old.close()
    db = await Database.open(path)
    try:
        async with db.read() as conn:
            found = {r.key: r.message for r in await outbox.rows_of(conn)}
    finally:
        await db.close()
    assert found == {
        "own": OutgoingMessage("Seule", unless_submitted=Guard("satisfaction", "intro")),
        "shared": OutgoingMessage("Relance", unless_submitted=Guard("kat", "pre")),
        "plain": OutgoingMessage("Annonce"),
    }


async def test_a_write_locked_database_during_a_broadcast_leaves_nothing_sending_or_sent_twice(
    tmp_path: Path, clock: FixedClock, api: OfflineBotAPI, bot: Bot, fake_time: FakeTime
) -> None:
    path = tmp_path / "locked.db"
    # A short busy timeout, so SQLite refuses the sender's writes as it would after 5 s.
    db = await Database.open(path, busy_timeout_ms=50)
    try:
        chats = list(range(901_000, 901_030))
        await queue(db, clock, api, chats)
        # One call at a time, so the next row's `sending` meets the lock too.
        sender = Sender(
            bot, db, clock, max_in_flight=1, sleep=fake_time.sleep, monotonic=fake_time.monotonic
        )
        held = api.inject("hold", "sendMessage")
        draining = asyncio.create_task(sender.drain_all())
        await held.entered.wait()
        # While the first message is on its way, another process (a roster import, a
        # backup restore) takes the write lock: its `sent` and the next `sending` meet it.
        other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        # In a thread: it may have to wait for the sender's own short transaction.
        await asyncio.to_thread(other.execute, "BEGIN IMMEDIATE")
        held.gate.set()
        async with asyncio.timeout(10):
            await sender.writer.refused.wait()
        assert len(api.calls_to("sendMessage")) == 1  # nothing else left meanwhile
        await asyncio.to_thread(other.execute, "COMMIT")
        other.close()
        async with asyncio.timeout(30):
            assert await draining == 30
        assert {s for s, _ in await statuses(db)} == {"sent"}
        for chat in chats:
            assert len(api.visible(chat)) == 1
        assert len(api.calls_to("sendMessage")) == 30
        assert sender.writer.busy_retries >= 1
    finally:
        await db.close()


async def test_status_writes_that_queue_together_share_one_transaction(
    db: Database, clock: FixedClock, api: OfflineBotAPI
) -> None:
    await queue(db, clock, api, list(range(902_000, 902_010)))
    async with db.read() as conn:
        rows = await outbox.rows_of(conn)
    writer = StatusWriter(db)
    await asyncio.gather(
        *(writer.write(outbox.Change(r.id, Status.SENT, clock.now(), message_id=1)) for r in rows)
    )
    # The first goes alone; the nine that queued while it committed go together.
    assert writer.transactions == 2
    assert {s for s, _ in await statuses(db)} == {"sent"}


async def test_a_stop_that_comes_while_the_sender_looks_for_work_ends_it_at_once(
    sender: Sender, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Stopping the bot sets ``stopping`` and ``wake``; when that happened while the idle
    # sender was settling or reading, the wake-up was cleared and the stop waited out
    # the sender's 30 s idle wait (then was cancelled after 10 s).
    settle = sender.settle

    async def stop_meanwhile() -> None:
        sender.stopping.set()
        sender.wake.set()
        await settle()

    monkeypatch.setattr(sender, "settle", stop_meanwhile)
    # A guard far below the 30 s idle wait, never reached when the wake-up is kept.
    await asyncio.wait_for(sender.run(), timeout=5)


async def test_rate_kept_when_every_sleep_overruns(
    bot: Bot, db: Database, clock: FixedClock, api: OfflineBotAPI
) -> None:
    """A loop busy with a live class wakes the sender late every time: it still keeps
    close to its rate, and never above it in any rolling second."""

    class LateTime(FakeTime):
        async def sleep(self, seconds: float) -> None:
            await super().sleep(seconds + 0.02)  # 20 ms late at every wake-up
            for _ in range(5):
                await asyncio.sleep(0)  # meanwhile the calls in flight come back

    late = LateTime()
    sender = Sender(bot, db, clock, rate=25.0, sleep=late.sleep, monotonic=late.monotonic)
    await queue(db, clock, api, list(range(900_300, 900_400)))
    assert await sender.drain_all() == 100
    times = sender.sent_times
    rate = (len(times) - 1) / (times[-1] - times[0])
    assert rate >= 0.8 * 25  # spaced from the overrun, it would be 1 / 0.06 = 16.7/s
    assert all(times[i + 25] - times[i] >= 1.0 for i in range(len(times) - 25))
