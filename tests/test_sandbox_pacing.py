"""A scripted sandbox (the demo, ``relais sandbox --script``) waits on virtual time only."""

from __future__ import annotations

import asyncio

from bot.app import runtime_of
from bot.clock import FixedClock
from bot.content import Content
from bot.sandbox.emulator import BotAPIEmulator
from bot.sandbox.harness import running_bot
from bot.sandbox.server import EmulatorServer
from bot.settings import Settings


async def test_the_outbox_paces_a_script_on_virtual_time(
    settings: Settings, content: Content, clock: FixedClock
) -> None:
    emulator = BotAPIEmulator(clock=clock)
    async with (
        EmulatorServer(emulator) as server,
        running_bot(emulator, server, settings, content, clock=clock, paced=False) as sandbox,
    ):
        sender = runtime_of(sandbox.app).sender
        assert sender is not None
        before = sender.monotonic()
        # An hour of the outbox's pacing passes at once (before: a real second per message
        # to one chat, so every reminder a moved clock made due waited in the demo). The
        # timeout only guards against a hang.
        async with asyncio.timeout(5):
            await sender.sleep(3600)
        assert sender.monotonic() - before == 3600
