"""kill -9 at random moments: the bot, a real process polling the emulator, loses nothing.

Participants take the KAT while the bot is killed and restarted; then a broadcast runs
while it is killed again. Every answer the participant saw acknowledged is stored
exactly once; every recipient gets the broadcast, twice at most once per kill.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.clock import SystemClock
from bot.content import load_content
from bot.sandbox.emulator import BotAPIEmulator, ChatEvent, SentMessage, SimUser
from bot.sandbox.offline import BOT_TOKEN
from bot.sandbox.server import EmulatorServer
from bot.services import broadcasts
from bot.storage import Database, repo
from bot.storage import answers as store
from tests.conftest import CONTENT_DIR, add_participant

PARTICIPANTS = 8
KILLS = 3
QUIET_SECONDS = 0.3


class Bot:
    """The bot as a separate process, started and killed like a real deployment."""

    def __init__(self, env: dict[str, str], api: BotAPIEmulator) -> None:
        self.env, self.api = env, api
        self.process: subprocess.Popen[bytes] | None = None
        self.kills = 0

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
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await asyncio.to_thread(self.process.wait)
        self.kills += 1

    async def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            await asyncio.to_thread(self.process.wait, 30)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[BotAPIEmulator, EmulatorServer, Path]]:
    # The pre-test open now, whatever today's date: the test runs on the real clock.
    content_dir = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, content_dir)
    kat = content_dir / "kat.yaml"
    kat.write_text(
        kat.read_text(encoding="utf-8").replace(
            "opens: 2027-01-04T08:00", "opens: 2020-01-01T08:00"
        ),
        encoding="utf-8",
    )
    api = BotAPIEmulator()
    async with EmulatorServer(api) as server:
        yield api, server, content_dir


def env_for(server: EmulatorServer, database: Path, content_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAIS_")}
    env.update(
        RELAIS_BOT_TOKEN=BOT_TOKEN,
        RELAIS_API_BASE_URL=server.base_url,
        RELAIS_API_FILE_URL=server.base_file_url,
        RELAIS_DATABASE=str(database),
        RELAIS_CONTENT_DIR=str(content_dir),
        RELAIS_LOG_LEVEL="WARNING",
        RELAIS_OUTBOX_RATE="30",
    )
    return env


async def bot_reply(api: BotAPIEmulator, user: SimUser, mark: int) -> list[ChatEvent]:
    """Wait until the bot did something in this chat after ``mark``, then until it is quiet.

    The bot is another process: there is no hook to tell when it finished an update, so
    a short silence stands for it (a person, too, waits until the screen settles).
    """

    def replies() -> list[ChatEvent]:
        return [e for e in api.events[user.user_id][mark:] if e.kind != "user"]

    async with asyncio.timeout(60), api.changed:
        await api.changed.wait_for(lambda: bool(replies()))
    while True:
        try:
            await _more_than(api, replies, len(replies()))
        except TimeoutError:
            return replies()


async def _more_than(
    api: BotAPIEmulator, replies: Callable[[], list[ChatEvent]], seen: int
) -> None:
    async with asyncio.timeout(QUIET_SECONDS), api.changed:
        await api.changed.wait_for(lambda: len(replies()) > seen)


async def press(
    api: BotAPIEmulator, user: SimUser, message: SentMessage, data: str
) -> list[ChatEvent]:
    mark = len(api.events[user.user_id])
    await api.push_update("callback_query", api.callback_query(user, message, data))
    return await bot_reply(api, user, mark)


def keyboard(api: BotAPIEmulator, user: SimUser) -> SentMessage:
    return next(m for m in reversed(api.visible(user.user_id)) if m.buttons)


async def take_kat(
    api: BotAPIEmulator, user: SimUser, acknowledged: dict[str, str], bot: Bot, kill_at: set[int]
) -> None:
    """Answer every question with its first option; recover from a lost screen like a person."""
    placeholder = SentMessage(user.user_id, 1, "…")
    await press(api, user, placeholder, "qo:kat:pre")
    taps = 0
    while True:
        if any(m.text.startswith("Merci") for m in api.visible(user.user_id)):
            return
        screen = keyboard(api, user)
        first = screen.buttons[0][0]["callback_data"]
        if taps in kill_at:
            kill_at.discard(taps)
            await bot.kill()
            pushed = asyncio.create_task(press(api, user, screen, first))
            await bot.start()
            events = await pushed
        else:
            events = await press(api, user, screen, first)
        taps += 1
        edited = [e for e in events if e.kind == "edited"]
        if edited and screen.text != edited[-1].text:
            item = (
                screen.text.split("Question ")[-1].split("/")[0]
                if "Question " in screen.text
                else "S"
            )
            acknowledged[item] = first.rsplit(":", 1)[-1]
        elif any(e.kind == "answer" for e in events):
            # An old screen: ask for the questionnaire again, as from /me.
            await press(api, user, placeholder, "qo:kat:pre")


@pytest.mark.resilience
async def test_kill_9_during_the_kat_and_a_broadcast_loses_nothing(
    world: tuple[BotAPIEmulator, EmulatorServer, Path], tmp_path: Path
) -> None:
    api, server, content_dir = world
    database = tmp_path / "relais.db"
    clock = SystemClock()
    db = await Database.open(database)
    users = []
    try:
        for n in range(PARTICIPANTS):
            participant = await add_participant(db, clock, external_id=f"K-{n}")  # type: ignore[arg-type]
            async with db.transaction() as conn:
                await repo.bind_participant(
                    conn, participant.id, 990_000 + n, 990_000 + n, clock.now()
                )
            users.append((participant, api.add_user(990_000 + n, f"P{n}")))
    finally:
        await db.close()

    bot = Bot(env_for(server, database, content_dir), api)
    rng = random.Random(9)
    await bot.start()
    try:
        acknowledged: dict[int, dict[str, str]] = {}
        kill_plan = {rng.randrange(PARTICIPANTS): {rng.randrange(1, 11)} for _ in range(KILLS)}
        for index, (participant, user) in enumerate(users):
            acknowledged[participant.id] = {}
            await take_kat(
                api, user, acknowledged[participant.id], bot, kill_plan.get(index, set())
            )

        # A broadcast to everyone, killed twice while it runs.
        db = await Database.open(database)
        try:
            people = await broadcasts.recipients(db, load_content(content_dir), "all", clock.now())
            await broadcasts.create(
                db,
                created_by=0,
                audience="all",
                payload={"text": "Annonce"},
                people=people,
                now=clock.now(),
            )
        finally:
            await db.close()
        for _ in range(2):
            async with asyncio.timeout(60), api.changed:
                await api.changed.wait_for(lambda: len(api.calls_to("sendMessage")) > 0)
            await bot.kill()
            await bot.start()
        async with asyncio.timeout(90), api.changed:
            await api.changed.wait_for(
                lambda: all(
                    any(m.text == "Annonce" for m in api.visible(u.user_id)) for _, u in users
                )
            )
    finally:
        await bot.stop()

    db = await Database.open(database)
    try:
        async with db.read() as conn:
            for participant, _user in users:
                attempt = await store.latest_attempt(conn, participant.id, "kat", "pre")
                assert attempt is not None
                assert attempt.submitted
                stored = await store.answers_of(conn, attempt.id)
                assert len(stored) == 10  # one row per question: nothing twice
                for number, option in acknowledged[participant.id].items():
                    if number != "S":
                        assert stored[f"q{int(number):02d}"] == option
            async with conn.execute(
                "SELECT count(*) FROM outbox WHERE source LIKE 'broadcast:%' AND status != 'sent'"
            ) as cur:
                row = await cur.fetchone()
        assert row is not None
        assert row[0] == 0
    finally:
        await db.close()
    assert bot.kills >= 3
    for _, user in users:
        copies = sum(1 for m in api.visible(user.user_id) if m.text == "Annonce")
        assert 1 <= copies <= 1 + bot.kills
