"""kill -9 at random moments: the bot, a real process polling the emulator, loses nothing.

Fifty participants take the KAT at the same time while the bot is killed and restarted;
then a broadcast to 2,000 runs while it is killed again. Every answer a participant saw
acknowledged is stored exactly once; every recipient gets the broadcast, and there are
duplicates only of messages on their way when a kill came.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import Clock, ShiftedClock
from bot.content import load_content
from bot.outgoing import OutgoingMessage
from bot.sandbox.emulator import BotAPIEmulator, ChatEvent, RateLimit, SentMessage, SimUser
from bot.sandbox.offline import BOT_TOKEN
from bot.sandbox.server import EmulatorServer
from bot.sender import Sender
from bot.services import broadcasts
from bot.storage import Database, repo
from bot.storage import answers as store
from bot.storage.outbox import Status
from bot.storage.repo import ParticipantFields
from tests.conftest import CONTENT_DIR, START

KAT_PARTICIPANTS = 50
KAT_KILLS = 3
BROADCAST_RECIPIENTS = 2000
BROADCAST_KILLS = 2
REPLY_SECONDS = 90.0
# A guard against a hung bot, never waited out when things work: a press lost in a kill
# is known as soon as the killed process is replaced.
PATIENCE_SECONDS = 60.0
ATTEMPTS = 5


class Bot:
    """The bot as a separate process, started and killed like a real deployment."""

    def __init__(self, env: dict[str, str], api: BotAPIEmulator) -> None:
        self.env, self.api = env, api
        self.process: subprocess.Popen[bytes] | None = None
        self.kills = 0
        # For each kill, the last update the killed process had confirmed to Telegram
        # (fetched, so never delivered again), once its replacement is polling.
        self.confirmed_at_kill: list[int] = []
        # For each kill, the outbox rows the dead process had marked ``sending``: the only
        # ones a restart sends again, so the only possible duplicates.
        self.sending_at_kill: list[int] = []

    async def start(self) -> None:
        polls = len(self.api.calls_to("getUpdates"))
        self.process = await asyncio.to_thread(
            subprocess.Popen,
            [sys.executable, "-c", "from bot.cli import main; raise SystemExit(main(['run']))"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # Ready once it polls the emulator.
        async with asyncio.timeout(30), self.api.changed:
            await self.api.changed.wait_for(lambda: len(self.api.calls_to("getUpdates")) > polls)

    async def kill(self) -> None:
        """kill -9, then a new process on the same database, as a supervisor restarts it."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await asyncio.to_thread(self.process.wait)
        self.kills += 1
        confirmed = self.api.acknowledged
        self.sending_at_kill.append(await asyncio.to_thread(self._sending))
        await self.start()
        # Whatever the dead process had in flight has reached the emulator by now.
        async with self.api.changed:
            self.confirmed_at_kill.append(confirmed)
            self.api.changed.notify_all()

    def _sending(self) -> int:
        # Read while no process runs: what the killed one had committed (WAL included).
        with closing(sqlite3.connect(self.env["RELAIS_DATABASE"])) as conn:
            (count,) = conn.execute(
                "SELECT count(*) FROM outbox WHERE status = ?", (Status.SENDING,)
            ).fetchone()
        return int(count)

    async def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            await asyncio.to_thread(self.process.wait, 30)


def simulated_clock() -> ShiftedClock:
    """Real time passing from ``START`` (a week before the first session, the pre-test open),
    whatever today's date: the bot processes get the same offset, restarts included."""
    return ShiftedClock(START - datetime.now(UTC))


@pytest.fixture
def content_dir() -> Path:
    return CONTENT_DIR


def env_for(
    server: EmulatorServer, database: Path, content_dir: Path, clock: ShiftedClock
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAIS_")}
    env.update(
        RELAIS_CLOCK_OFFSET=str(clock.offset / timedelta(seconds=1)),
        RELAIS_BOT_TOKEN=BOT_TOKEN,
        RELAIS_API_BASE_URL=server.base_url,
        RELAIS_API_FILE_URL=server.base_file_url,
        RELAIS_DATABASE=str(database),
        RELAIS_CONTENT_DIR=str(content_dir),
        RELAIS_LOG_LEVEL="WARNING",
        RELAIS_OUTBOX_RATE="30",
    )
    return env


async def enrol(
    database: Path, api: BotAPIEmulator, count: int, clock: Clock
) -> list[tuple[int, SimUser]]:
    """``count`` participants on the roster, each bound to an emulator account."""
    db = await Database.open(database)
    people = []
    try:
        async with db.transaction() as conn:
            for n in range(count):
                fields = ParticipantFields(
                    external_id=f"K-{n:04d}",
                    full_name=f"Participant {n}",
                    email=None,
                    gender=None,
                    agency=None,
                    region=None,
                    cohort="tanger",
                    language="fr",
                )
                participant = await repo.insert_participant(conn, fields, clock.now())
                user_id = 990_000 + n
                await repo.bind_participant(conn, participant.id, user_id, user_id, clock.now())
                people.append((participant.id, api.add_user(user_id, f"P{n}")))
    finally:
        await db.close()
    return people


@dataclass
class Taps:
    """Every press the participants made, shared with the task that kills the bot."""

    done: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def count(self) -> None:
        self.done += 1
        self.changed.set()


def settled(events: list[ChatEvent], opening: bool) -> bool:
    """Whether the bot has finished with a press: refused it, or showed what comes next."""
    for event in events:
        if event.kind == "answer" and event.text:
            return True  # refused, with the reason
        # Opening shows the questionnaire in the message pressed, or in a new one.
        if opening and event.kind in ("sent", "edited") and event.message and event.message.buttons:
            return True
        if not opening and event.kind == "edited":
            return True
    return False


async def press(
    bot: Bot, user: SimUser, message: SentMessage, data: str, *, opening: bool
) -> list[ChatEvent] | None:
    """Tap a button and wait for the bot to finish with it; None if a kill lost it.

    A kill can lose a press: the bot had fetched it (so Telegram will not send it again)
    but not handled it. A person then sees nothing happen and tries again.
    """
    api = bot.api
    mark = len(api.events[user.user_id])
    kills = len(bot.confirmed_at_kill)
    update_id = await api.push_update("callback_query", api.callback_query(user, message, data))

    def replies() -> list[ChatEvent]:
        return [e for e in api.events[user.user_id][mark:] if e.kind != "user"]

    def lost() -> bool:
        return any(update_id <= confirmed for confirmed in bot.confirmed_at_kill[kills:])

    async with asyncio.timeout(PATIENCE_SECONDS), api.changed:
        await api.changed.wait_for(lambda: settled(replies(), opening) or lost())
    return replies() if settled(replies(), opening) else None


async def reopen(bot: Bot, user: SimUser) -> None:
    """Ask for the questionnaire again (as from /me), until the bot shows it."""
    placeholder = SentMessage(user.user_id, 1, "…")
    for _ in range(ATTEMPTS):
        if await press(bot, user, placeholder, "qo:kat:pre", opening=True) is not None:
            return
    raise AssertionError(f"the bot never showed the questionnaire to {user.user_id}")


async def take_kat(bot: Bot, user: SimUser, acknowledged: dict[str, str], taps: Taps) -> None:
    """Answer every question with its first option; recover from a lost screen like a person."""
    api = bot.api
    await reopen(bot, user)
    for _ in range(ATTEMPTS * 12):
        if sent(api, user):
            return
        screen = next(m for m in reversed(api.visible(user.user_id)) if m.buttons)
        first = screen.buttons[0][0]["callback_data"]
        shown = screen.text  # the emulator edits the message object in place
        events = await press(bot, user, screen, first, opening=False)
        taps.count()
        edited = [e for e in events or [] if e.kind == "edited"]
        if edited and shown != edited[-1].text and "Question " in shown:
            # Seen by the participant: the next question replaced this one.
            number = shown.split("Question ")[-1].split("/")[0]
            acknowledged[f"q{int(number):02d}"] = first.rsplit(":", 1)[-1]
        elif not edited:
            # Refused (an old screen) or lost in a kill: ask for the questionnaire again.
            await reopen(bot, user)
    raise AssertionError(f"participant {user.user_id} never got to the end")


def sent(api: BotAPIEmulator, user: SimUser) -> bool:
    """The participant knows their answers were sent: the thank-you, or, when a kill lost
    that edit after the submission was stored, the bot's notice that they already were."""
    if any(m.text.startswith("Merci") for m in api.visible(user.user_id)):
        return True
    return any(
        e.kind == "answer" and "déjà été envoyées" in e.text for e in api.events[user.user_id]
    )


async def kill_at(bot: Bot, taps: Taps, moments: list[int]) -> None:
    """Kill the bot when the participants' presses reach each moment, then restart it."""
    for moment in moments:
        while taps.done < moment:
            taps.changed.clear()
            await taps.changed.wait()
        await bot.kill()


@pytest.mark.resilience
async def test_kill_9_while_50_participants_take_the_kat_loses_no_answer(
    content_dir: Path, tmp_path: Path
) -> None:
    clock = simulated_clock()
    api = BotAPIEmulator(clock=clock)
    database = tmp_path / "relais.db"
    people = await enrol(database, api, KAT_PARTICIPANTS, clock)
    rng = random.Random(9)
    # Eleven presses each at least (open is not counted): kill within the first 500.
    moments = sorted(rng.sample(range(20, KAT_PARTICIPANTS * 10), KAT_KILLS))
    acknowledged: dict[int, dict[str, str]] = {pid: {} for pid, _ in people}
    async with EmulatorServer(api) as server:
        bot = Bot(env_for(server, database, content_dir, clock), api)
        await bot.start()
        taps = Taps()
        try:
            killer = asyncio.create_task(kill_at(bot, taps, moments))
            await asyncio.gather(
                *(take_kat(bot, user, acknowledged[pid], taps) for pid, user in people)
            )
            await killer
        finally:
            await bot.stop()
    assert bot.kills == KAT_KILLS

    db = await Database.open(database)
    try:
        async with db.read() as conn:
            for pid, _user in people:
                attempt = await store.latest_attempt(conn, pid, "kat", "pre")
                assert attempt is not None
                assert attempt.submitted
                stored = await store.answers_of(conn, attempt.id)
                assert len(stored) == 10  # one row per question: nothing twice
                for item, option in acknowledged[pid].items():
                    assert stored[item] == option, (pid, item)
    finally:
        await db.close()
    # The acknowledgements were really checked: nearly every question was seen moving on.
    # Taps run concurrently, so a kill can catch every participant's tap after its commit
    # and before its edit: at most one question per participant per kill goes unseen.
    assert sum(len(seen) for seen in acknowledged.values()) >= KAT_PARTICIPANTS * (10 - KAT_KILLS)


@pytest.mark.resilience
async def test_kill_9_during_a_broadcast_to_2000_reaches_everyone_once(
    content_dir: Path, tmp_path: Path
) -> None:
    # Telegram's ceiling, enforced: a restarted sender must not burst past it either.
    clock = simulated_clock()
    api = BotAPIEmulator(clock=clock, global_rate=RateLimit(30, 1.0))
    database = tmp_path / "relais.db"
    people = await enrol(database, api, BROADCAST_RECIPIENTS, clock)
    db = await Database.open(database)
    try:
        recipients = await broadcasts.recipients(db, load_content(content_dir), "all", clock.now())
        await broadcasts.create(
            db,
            created_by=0,
            audience="all",
            message=OutgoingMessage("Annonce"),
            people=recipients,
            now=clock.now(),
        )
    finally:
        await db.close()
    assert len(recipients) == BROADCAST_RECIPIENTS

    def delivered() -> int:
        return sum(1 for c in api.calls_to("sendMessage") if c.params.get("text") == "Annonce")

    rng = random.Random(20)
    moments = sorted(rng.sample(range(100, BROADCAST_RECIPIENTS - 100), BROADCAST_KILLS))
    async with EmulatorServer(api) as server:
        bot = Bot(env_for(server, database, content_dir, clock), api)
        await bot.start()
        try:
            for moment in moments:
                async with asyncio.timeout(REPLY_SECONDS), api.changed:
                    await api.changed.wait_for(lambda m=moment: delivered() >= m)  # type: ignore[misc]
                await bot.kill()
            async with asyncio.timeout(180), api.changed:
                await api.changed.wait_for(
                    lambda: all(
                        any(m.text == "Annonce" for m in api.visible(user.user_id))
                        for _, user in people
                    )
                )
        finally:
            await bot.stop()
    assert bot.kills == BROADCAST_KILLS

    copies = Counter(
        m.chat_id for _, user in people for m in api.visible(user.user_id) if m.text == "Annonce"
    )
    assert set(copies) == {user.user_id for _, user in people}
    # A kill can only duplicate a message it caught on its way (marked sending, not yet
    # sent): the sender's in-flight limit bounds those, not one per kill.
    duplicates = sum(copies.values()) - len(copies)
    assert duplicates <= sum(bot.sending_at_kill)
    assert all(n <= Sender.max_in_flight + int(Sender.rate) for n in bot.sending_at_kill)
    db = await Database.open(database)
    try:
        async with (
            db.read() as conn,
            conn.execute(
                "SELECT status, count(*) FROM outbox WHERE kind = 'broadcast' GROUP BY status"
            ) as cur,
        ):
            assert [tuple(row) for row in await cur.fetchall()] == [("sent", BROADCAST_RECIPIENTS)]
    finally:
        await db.close()
