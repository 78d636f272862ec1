"""A broadcast drained by the real Sender through the HTTP emulator that enforces 30 msg/s."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

from telegram import Bot

from benchmarks.common import ADMIN_ID, CONTENT_DIR, Outcome, Row, bulk_build, create_schema, mark
from bot.clock import SystemClock
from bot.content import load_content
from bot.outgoing import OutgoingMessage
from bot.sandbox.emulator import BotAPIEmulator, JSONDict, RateLimit, Upload
from bot.sandbox.offline import BOT_TOKEN
from bot.sandbox.server import EmulatorServer
from bot.sender import Sender
from bot.services import broadcasts
from bot.storage import Database

RATE = 30.0


class CountingEmulator(BotAPIEmulator):
    """The emulator, counting the HTTP status of every answer it gives."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.statuses: Counter[int] = Counter()

    async def call(
        self, method: str, params: JSONDict, uploads: dict[str, Upload] | None = None
    ) -> tuple[int, JSONDict]:
        """Answer as the emulator does, and count the status."""
        status, body = await super().call(method, params, uploads)
        self.statuses[status] += 1
        return status, body


async def _pending(db: Database) -> int:
    async with (
        db.read() as conn,
        conn.execute("SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')") as cur,
    ):
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def run(n: int, workdir: Path) -> Outcome:
    """Queue ``n`` recipients with ``broadcasts.create``, drain them, and read the pace."""
    path = workdir / "relais.db"
    content = load_content(CONTENT_DIR)
    await create_schema(path)
    bulk_build(path, content, n, answers=False)
    clock = SystemClock()
    db = await Database.open(path)
    try:
        people = await broadcasts.recipients(db, content, "all", clock.now())
        assert len(people) == n, f"{len(people)} reachable recipients, expected {n}"
        started = time.perf_counter()
        await broadcasts.create(
            db,
            created_by=ADMIN_ID,
            audience="all",
            message=OutgoingMessage("Rappel : la séance d'introduction commence demain à 9 h."),
            people=people,
            now=clock.now(),
        )
        queued_in = time.perf_counter() - started
        api = CountingEmulator(global_rate=RateLimit(int(RATE), 1.0))
        async with EmulatorServer(api) as server, Bot(BOT_TOKEN, base_url=server.base_url) as bot:
            sender = Sender(bot, db, clock, rate=RATE)
            await sender.start()
            started = time.perf_counter()
            while True:
                await sender.drain_all()
                if not await _pending(db):
                    break
                await asyncio.sleep(0.05)  # rows put back after a 429 wait for their not_before
            elapsed = time.perf_counter() - started
    finally:
        await db.close()
    times = sender.sent_times
    sent = len(times)
    paced = (sent - 1) / (times[-1] - times[0]) if sent > 1 else 0.0
    ratio = paced / RATE
    too_many = api.statuses[429]
    ideal = (n - 1) / RATE
    name = f"broadcast ({n:,} recipients)"
    rows = [
        Row(
            name,
            "achieved rate",
            f"{paced:.2f} msg/s",
            f"{RATE:.0f} msg/s configured",
            f"{ratio:.3f} (≥ 0.95)",
            mark(ratio >= 0.95),
        ),
        Row(name, "429 responses", str(too_many), "0", "= 0", mark(too_many == 0)),
        Row(
            name,
            "time to completion",
            f"{elapsed:.1f} s",
            f"{ideal:.1f} s ideal",
            f"{elapsed / ideal:.3f}×" if ideal else "—",
            "—",
        ),
        Row(name, "messages sent", f"{sent:,}", f"{n:,}", "all delivered", mark(sent == n)),
    ]
    notes = [
        f"broadcast: {n:,} outbox rows queued by `broadcasts.create` in {queued_in:.1f} s;"
        " `Sender(rate=30)` → real `telegram.Bot` (no PTB rate limiter) → HTTP `EmulatorServer`"
        " with `global_rate=RateLimit(30, 1.0)`; achieved rate = (sent − 1) / (last − first"
        f" send); emulator statuses {dict(sorted(api.statuses.items()))}."
    ]
    return Outcome(rows, notes)
