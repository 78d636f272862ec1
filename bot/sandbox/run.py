"""What ``relais sandbox`` does: start the emulator and the bot, then a terminal session."""

from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from bot.clock import Clock, FixedClock, SystemClock
from bot.content import Content
from bot.logs import configure_logging
from bot.sandbox.harness import Sandbox, Seed, open_sandbox, seed
from bot.sandbox.terminal import Session, Style, Transcript, interact, play_script
from bot.settings import Settings


@dataclass(frozen=True)
class SandboxOptions:
    """What the command line chose."""

    role: str = "participant"
    script: Path | None = None
    clock_start: datetime | None = None
    database: Path | None = None
    roster: Path | None = None


def default_start(content: Content) -> datetime:
    """A week before the programme's first session: a good moment to preview it."""
    return content.programme.all_sessions()[0].start_utc - timedelta(days=7)


LOG_NAME = "relais-sandbox.log"


def log_path(options: SandboxOptions) -> Path:
    """Where the bot's log goes: beside a kept database, else in the working directory."""
    folder = options.database.parent if options.database else Path.cwd()
    return folder / LOG_NAME


def run_sandbox(settings: Settings, content: Content, options: SandboxOptions) -> int:
    """Run the sandbox to completion and return the exit status."""
    # The transcript is the chat: warnings and tracebacks go to a log file, never between
    # the messages (Python's warnings too).
    log = log_path(options)
    configure_logging("WARNING", path=log)
    logging.captureWarnings(True)
    try:
        return _run(settings, content, options, log)
    finally:
        for handler in logging.getLogger().handlers:
            handler.close()
        logging.captureWarnings(False)
        configure_logging("WARNING")


def _run(settings: Settings, content: Content, options: SandboxOptions, log: Path) -> int:
    with tempfile.TemporaryDirectory(prefix="relais-sandbox-") as tmp:
        database = options.database or Path(tmp) / "sandbox.db"
        local = settings.model_copy(update={"database": database})
        clock: Clock = FixedClock(options.clock_start) if options.clock_start else SystemClock()
        try:
            return asyncio.run(_session(local, content, clock, options, log))
        except KeyboardInterrupt:
            # Ctrl-C is how people leave a terminal program: no traceback for it.
            print()
            return 130


async def _session(
    settings: Settings, content: Content, clock: Clock, options: SandboxOptions, log: Path
) -> int:
    roster = options.roster.read_bytes() if options.roster else None
    paced = options.script is None  # a person at the keyboard: Telegram's pacing, felt
    async with open_sandbox(settings, content, clock=clock, paced=paced) as sandbox:
        seeded = await _seed(sandbox, content, clock, roster)
        interactive = options.script is None
        transcript = Transcript(Style(color=interactive and sys.stdout.isatty()), print)
        session = Session(sandbox, seeded, transcript, role=options.role)
        if options.script is None:
            return await interact(session, log)
        lines = options.script.read_text(encoding="utf-8").splitlines()
        return await play_script(session, lines, str(options.script))


async def _seed(sandbox: Sandbox, content: Content, clock: Clock, roster: bytes | None) -> Seed:
    from bot.sandbox.harness import SAMPLE_ROSTER

    return await seed(sandbox.db, content, clock, roster or SAMPLE_ROSTER.read_bytes())
