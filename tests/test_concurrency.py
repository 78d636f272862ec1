"""Updates of different people run at the same time; one person's, strictly in order."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from typing import Any

import aiosqlite
import pytest
from telegram import Update

from bot.callbacks import Action, open_data, parse_tap, tap_data
from bot.clock import FixedClock
from bot.content import Content
from bot.sandbox.chat import SimulatedUser
from bot.sandbox.emulator import SentMessage
from bot.sandbox.offline import OfflineBotAPI
from bot.services.roster import import_roster
from bot.storage import Database, repo
from bot.storage import answers as store
from bot.storage.repo import Participant
from bot.updates import PerUserProcessor, ordering_key
from tests.conftest import add_participant, invite_for

KAT_BUTTON = "Commencer : Test avant la formation"


async def enrolled(
    db: Database, clock: FixedClock, new_user: Callable[..., SimulatedUser], external_id: str
) -> tuple[SimulatedUser, Participant]:
    participant = await add_participant(db, clock, external_id=external_id)
    invite = await invite_for(db, clock, participant)
    user = new_user("Khadija")
    await user.send(f"/start {invite.token}")
    await user.send("/me")
    await user.press(KAT_BUTTON)
    assert "Question 1/10" in user.chat[-1].text
    return user, participant


async def kat_answers(db: Database, participant: Participant) -> dict[str, Any]:
    async with db.read() as conn:
        attempt = await store.latest_attempt(conn, participant.id, "kat", "pre")
        assert attempt is not None
        return await store.answers_of(conn, attempt.id)


async def test_two_taps_of_one_user_delivered_together_are_applied_in_order_while_others_overlap(
    db: Database,
    clock: FixedClock,
    content: Content,
    api: OfflineBotAPI,
    new_user: Callable[..., SimulatedUser],
) -> None:
    amina, amina_p = await enrolled(db, clock, new_user, "A-001")
    omar, omar_p = await enrolled(db, clock, new_user, "A-002")
    kat = content.instrument("kat")
    assert kat is not None
    screen = amina.chat[-1]
    first = screen.buttons[0][0]["callback_data"]
    shown = parse_tap(first)
    assert shown is not None
    second_option = (kat.items[1].options or [])[0].id
    # The tap on question 2 as her phone sends it once question 2 shows (one revision on).
    second = tap_data(shown.attempt_id, shown.revision + 1, Action.ANSWER, second_option)

    # Amina's first tap is held at Telegram (its answerCallbackQuery does not come back).
    held = api.inject("hold", "answerCallbackQuery")
    tap_one = asyncio.create_task(amina.press_data(first, screen))
    await held.entered.wait()
    # Her second tap arrives at once, as a double tap or a fast thumb does.
    tap_two = asyncio.create_task(amina.press_data(second, screen))

    # Meanwhile Omar's tap is handled from start to finish: different people overlap.
    async with asyncio.timeout(5):
        turn = await omar.press(omar.chat[-1].button_texts[0])
    assert "Question 2/10" in turn.edited[0].text
    assert list(await kat_answers(db, omar_p)) == ["q01"]
    # Amina's second tap has not started: it waits for her first to be finished.
    assert list(await kat_answers(db, amina_p)) == ["q01"]
    assert not tap_two.done()

    held.gate.set()
    await asyncio.gather(tap_one, tap_two)
    assert list(await kat_answers(db, amina_p)) == ["q01", "q02"]
    assert (await kat_answers(db, amina_p))["q02"] == second_option
    # She saw question 2 and then question 3, in that order: the screen ends on 3.
    edits = [e.message.text for e in amina.events if e.kind == "edited" and e.message]
    assert "Question 3/10" in amina.chat[-1].text
    assert edits.count(amina.chat[-1].text) >= 1
    assert not any(e.kind == "answer" and e.text for e in amina.events)  # nothing refused


async def test_a_waiting_update_cancelled_before_its_turn_does_not_run_or_leak() -> None:
    processor = PerUserProcessor(max_concurrent_updates=8)
    update = Update.de_json(
        {
            "update_id": 1,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": 5, "type": "private"},
                "from": {"id": 5, "is_bot": False, "first_name": "A"},
                "text": "x",
            },
        },
        None,
    )
    assert ordering_key(update) == ("user", 5)
    release = asyncio.Event()
    ran: list[str] = []

    async def handle(name: str) -> None:
        ran.append(name)
        await release.wait()

    first = asyncio.create_task(processor.process_update(update, handle("first")))
    second = asyncio.create_task(processor.process_update(update, handle("second")))
    third = asyncio.create_task(processor.process_update(update, handle("third")))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert ran == ["first"]
    second.cancel()
    release.set()
    await first
    await third
    assert ran == ["first", "third"]
    assert second.cancelled()
    assert processor.keys_in_progress == 0


async def test_opening_a_questionnaire_edits_the_message_its_button_is_on(
    db: Database,
    clock: FixedClock,
    api: OfflineBotAPI,
    new_user: Callable[..., SimulatedUser],
) -> None:
    participant = await add_participant(db, clock)
    invite = await invite_for(db, clock, participant)
    user = new_user("Khadija")
    await user.send(f"/start {invite.token}")
    me = (await user.send("/me")).last
    calls = len(api.calls)
    turn = await user.press(KAT_BUTTON, me)
    made = [c.method for c in api.calls[calls:]]
    # One answer and one edit: /me's message becomes the questionnaire, nothing is sent.
    assert made == ["answerCallbackQuery", "editMessageText"]
    assert not turn.sent
    assert "Question 1/10" in user.chat[-1].text
    assert user.chat[-1].message_id == me.message_id
    async with db.read() as conn:
        attempt = await store.latest_attempt(conn, participant.id, "kat", "pre")
    assert attempt is not None
    assert (attempt.chat_id, attempt.message_id) == (user.user_id, me.message_id)
    # The next tap edits that same message; the answer and the edit travel together.
    calls = len(api.calls)
    await user.press(user.chat[-1].button_texts[0])
    assert sorted(c.method for c in api.calls[calls:]) == ["answerCallbackQuery", "editMessageText"]
    assert user.chat[-1].message_id == me.message_id


async def test_a_button_on_a_message_that_cannot_be_edited_opens_in_a_new_one(
    db: Database,
    clock: FixedClock,
    api: OfflineBotAPI,
    new_user: Callable[..., SimulatedUser],
) -> None:
    user, participant = await enrolled(db, clock, new_user, "A-003")
    shown = user.chat[-1]
    # A button on a message Telegram no longer has (deleted by the person, say).
    gone = SentMessage(user.user_id, 9999, "Invitation", date=api.now())
    turn = await user.press_data(open_data("kat", "pre"), gone)
    assert len(turn.sent) == 1
    assert "Question 1/10" in turn.sent[0].text
    assert shown in turn.deleted  # the earlier questionnaire message made way
    async with db.read() as conn:
        attempt = await store.latest_attempt(conn, participant.id, "kat", "pre")
    assert attempt is not None
    assert attempt.message_id == turn.sent[0].message_id


async def test_database_run_commits_the_work_or_rolls_all_of_it_back(db: Database) -> None:
    def insert(conn: sqlite3.Connection, fail: bool) -> int:
        conn.execute(
            "INSERT INTO audit_log (at, actor, action, target, details) VALUES (?, ?, ?, ?, ?)",
            ("2027-01-01T00:00:00", "test", "run", "x", "{}"),
        )
        if fail:
            raise RuntimeError("refused half-way")
        return int(
            conn.execute("SELECT count(*) FROM audit_log WHERE action = 'run'").fetchone()[0]
        )

    assert await db.run(lambda conn: insert(conn, False)) == 1
    with pytest.raises(RuntimeError, match="half-way"):
        await db.run(lambda conn: insert(conn, True))
    async with (
        db.read() as conn,
        conn.execute("SELECT count(*) FROM audit_log WHERE action = 'run'") as cur,
    ):
        row = await cur.fetchone()
    assert row is not None
    assert row[0] == 1  # the failed run left nothing behind


async def test_a_roster_import_holds_the_database_for_one_trip_whatever_its_size(
    db: Database, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # While a command-line import writes, the running bot's taps and outbox wait for its
    # lock: the import is one transaction done in one trip to the database thread, not
    # several trips per row (minutes of lock for a 50,000-row file).
    rows = "".join(
        f"R-{n:05d},Participant {n},p{n}@example.org,F,,,tanger,fr\n" for n in range(2000)
    )
    data = ("external_id,full_name,email,gender,agency,region,cohort,language\n" + rows).encode()
    trips = 0
    queue: Any = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal trips
        trips += 1
        return await queue(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    report = await import_roster(
        db, data, cohort_ids=("tanger", "agadir", "marrakech"), clock=clock, actor="test"
    )
    assert report.created == 2000
    assert trips == 1
    # A re-import with one change updates that one, still in one trip.
    trips = 0
    again = data.replace(b"Participant 7,", b"Participant Sept,")
    report = await import_roster(
        db, again, cohort_ids=("tanger", "agadir", "marrakech"), clock=clock, actor="test"
    )
    assert (report.created, report.updated, report.unchanged) == (0, 1, 1999)
    assert trips == 1
    async with db.read() as conn:
        people = await repo.list_participants(conn)
    assert len({p.code for p in people}) == 2000
    assert next(p for p in people if p.external_id == "R-00007").full_name == "Participant Sept"


async def test_a_tap_answers_the_press_and_edits_the_screen_at_the_same_time(
    db: Database,
    clock: FixedClock,
    api: OfflineBotAPI,
    new_user: Callable[..., SimulatedUser],
) -> None:
    user, _participant = await enrolled(db, clock, new_user, "A-004")
    screen = user.chat[-1]
    held = api.inject("hold", "answerCallbackQuery")
    tap = asyncio.create_task(user.press(screen.button_texts[0]))
    await held.entered.wait()
    # The answer is still on its way, and the next question is already shown: one round
    # trip to Telegram per tap, not two.
    async with asyncio.timeout(5), api.changed:
        await api.changed.wait_for(lambda: "Question 2/10" in user.chat[-1].text)
    assert not tap.done()
    held.gate.set()
    turn = await tap
    assert len(turn.answers) == 1
    assert not turn.answers[0]["text"]  # answered, nothing refused
