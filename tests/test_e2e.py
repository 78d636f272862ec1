"""End to end over HTTP: the real Application polling (or hooked to) the local Bot API emulator."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest
from pydantic import SecretStr

from bot.app import webhook_of
from bot.cli import EXIT_OK, main
from bot.clock import FixedClock
from bot.content import Content
from bot.sandbox.emulator import BotAPIEmulator
from bot.sandbox.harness import SAMPLE_ROSTER, Sandbox, running_bot, seed
from bot.sandbox.server import SECRET_HEADER, EmulatorServer
from bot.settings import Settings
from bot.storage import repo
from tests.conftest import CONTENT_DIR


@pytest.fixture
def emulator(clock: FixedClock) -> BotAPIEmulator:
    return BotAPIEmulator(clock=clock)


@pytest.fixture
async def server(emulator: BotAPIEmulator) -> AsyncIterator[EmulatorServer]:
    async with EmulatorServer(emulator, webhook_retry_seconds=0.05) as running:
        yield running


# paced=False everywhere here: the production limiter decides on virtual time, so no test
# waits out Telegram's pacing on the real clock (the pacing is tested in test_ratelimit).
@pytest.fixture
async def sandbox(
    emulator: BotAPIEmulator,
    server: EmulatorServer,
    settings: Settings,
    content: Content,
    clock: FixedClock,
) -> AsyncIterator[Sandbox]:
    async with running_bot(
        emulator, server, settings, content, clock=clock, paced=False
    ) as running:
        yield running


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_roster_imported_by_cli_then_enrolment_over_http(
    emulator: BotAPIEmulator,
    server: EmulatorServer,
    settings: Settings,
    content: Content,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RELAIS_DATABASE", str(settings.database))
    monkeypatch.setenv("RELAIS_CONTENT_DIR", str(CONTENT_DIR))
    # The CLI runs its own event loop, as it does from a shell.
    assert await asyncio.to_thread(main, ["roster", "import", str(SAMPLE_ROSTER)]) == EXIT_OK
    async with running_bot(
        emulator, server, settings, content, clock=clock, paced=False
    ) as sandbox:
        seeded = await seed(sandbox.db, content, clock, SAMPLE_ROSTER.read_bytes())
        assert seeded.report.created == 0  # the CLI already imported all 100
        assert len(seeded.participants) == 100
        invite = seeded.participants[0]
        assert invite.participant is not None
        omar = sandbox.user(800_001, "Omar")
        turn = await omar.send(f"/start {invite.token}")
        assert turn.text.startswith(f"Bienvenue, {invite.participant.full_name} !")
        me = await omar.send("/me")
        assert "Cohorte : Marrakech" in me.text
        async with sandbox.db.read() as conn:
            found = await repo.participant_for_user(conn, 800_001)
        assert found is not None
        assert found[0].id == invite.participant.id
    # Every call went over HTTP, through PTB's own transport.
    assert [c.method for c in emulator.calls_to("getUpdates")]
    assert emulator.calls_to("setMyCommands")


async def test_stranger_and_language_switch(sandbox: Sandbox, content: Content) -> None:
    stranger = sandbox.user(800_010, "Visiteur")
    turn = await stranger.send("Bonjour")
    assert "lien d'invitation personnel" in turn.text
    assert "Module" not in turn.text

    seeded = await seed(sandbox.db, content, sandbox.clock, SAMPLE_ROSTER.read_bytes())
    nadia = sandbox.user(800_011, "Nadia")
    await nadia.send(f"/start {seeded.participants[1].token}")
    ask = await nadia.send("/language")
    assert ask.last.button_texts == ["Français", "English", "العربية"]
    chosen = await nadia.press("English")
    assert chosen.edited[0].text.startswith("Done")
    assert chosen.answers
    me = await nadia.send("/me")
    assert "Cohort: Tangier" in me.text


async def test_blocked_user_is_marked_unreachable_and_nothing_breaks(
    sandbox: Sandbox, content: Content, emulator: BotAPIEmulator
) -> None:
    seeded = await seed(sandbox.db, content, sandbox.clock, SAMPLE_ROSTER.read_bytes())
    amal = sandbox.user(800_020, "Amal")
    await amal.send(f"/start {seeded.participants[2].token}")
    await amal.block()
    async with sandbox.db.read() as conn:
        found = await repo.participant_for_user(conn, 800_020)
    assert found is not None
    assert found[1].reachable is False

    # A message that was already on its way when she blocked: the reply gets 403.
    update_id = await emulator.push_update("message", emulator.user_message(amal.account, "/me"))
    await sandbox.app.wait_handled(update_id)
    assert emulator.calls_to("sendMessage")[-1].params["chat_id"] in ("800020", 800_020)
    assert not [e for e in amal.events if e.kind == "sent" and "Cohorte" in e.message.text]  # type: ignore[union-attr]

    await amal.unblock()
    async with sandbox.db.read() as conn:
        found = await repo.participant_for_user(conn, 800_020)
    assert found is not None
    assert found[1].reachable is True
    assert "Cohorte" in (await amal.send("/me")).text


async def test_restart_on_the_same_database_loses_nothing(
    emulator: BotAPIEmulator,
    server: EmulatorServer,
    settings: Settings,
    content: Content,
    clock: FixedClock,
) -> None:
    async with running_bot(emulator, server, settings, content, clock=clock, paced=False) as first:
        seeded = await seed(first.db, content, clock, SAMPLE_ROSTER.read_bytes())
        salma = first.user(800_030, "Salma")
        await salma.send(f"/start {seeded.participants[3].token}")
        await salma.send("/language")
        await salma.press("العربية")
    handled_before = len(emulator.calls_to("sendMessage"))

    async with running_bot(emulator, server, settings, content, clock=clock, paced=False) as second:
        again = second.user(800_030, "Salma")
        me = await again.send("/me")
        assert "الفوج" in me.text  # still enrolled, still in Arabic
        # Updates confirmed before the restart are not delivered twice.
        assert len(emulator.calls_to("sendMessage")) == handled_before + 1
        replay = await second.user(800_031, "Other").send(f"/start {seeded.participants[3].token}")
        assert "déjà été utilisé" in replay.text


async def test_webhook_mode_receives_updates_and_refuses_a_wrong_secret(
    emulator: BotAPIEmulator,
    server: EmulatorServer,
    settings: Settings,
    content: Content,
    clock: FixedClock,
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/relais-hook"
    hook = webhook_of(
        Settings(webhook_url=url, webhook_port=port, webhook_secret=SecretStr("s3cret-token"))
    )
    async with running_bot(
        emulator, server, settings, content, clock=clock, webhook=hook, paced=False
    ) as sandbox:
        assert emulator.webhook is not None
        assert emulator.webhook.secret_token == "s3cret-token"
        seeded = await seed(sandbox.db, content, clock, SAMPLE_ROSTER.read_bytes())
        youssef = sandbox.user(800_040, "Youssef")
        turn = await youssef.send(f"/start {seeded.participants[1].token}")
        assert turn.text.startswith("Bienvenue")
        assert any(status == 200 for _, status in server.webhook_deliveries)
        assert not emulator.calls_to("getUpdates")

        sent_before = len(emulator.calls_to("sendMessage"))
        forged = {
            "update_id": 999_999,
            "message": emulator.user_message(youssef.account, "/me"),
        }
        async with aiohttp.ClientSession() as session:
            for headers in ({SECRET_HEADER: "wrong"}, {}):
                async with session.post(url, json=forged, headers=headers) as response:
                    assert response.status == 403
        # The forged update was never handled: a genuine one after it is, and alone.
        me = await youssef.send("/me")
        assert "Cohorte" in me.text
        assert len(emulator.calls_to("sendMessage")) == sent_before + 1
    assert emulator.webhook is not None or emulator.calls_to("deleteWebhook")


async def test_the_running_bot_checkpoints_the_wal_in_its_own_job(sandbox: Sandbox) -> None:
    # Commits no longer copy the WAL (a participant's answer would pay for it): a job does.
    assert sandbox.app.job_queue is not None
    assert "relais-checkpoint" in {job.name for job in sandbox.app.job_queue.jobs()}
    async with sandbox.db.read() as conn, conn.execute("PRAGMA wal_autocheckpoint") as cur:
        assert tuple(await cur.fetchone() or ()) == (0,)
