"""``relais broadcast``: an announcement queued in the running bot's outbox, and its progress."""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING

from bot.cli.common import EXIT_OK, Subparsers, clock, command, fail
from bot.content import load_content
from bot.settings import Settings
from bot.storage import Database
from bot.storage.lock import running_pid

if TYPE_CHECKING:
    from bot.clock import Clock
    from bot.i18n import Translator

# Seconds between two looks at the outbox while the running bot sends.
POLL_SECONDS = 1.0


def register(sub: Subparsers[argparse.ArgumentParser]) -> None:
    """Add ``broadcast``."""
    cast = command(
        sub, "broadcast", _broadcast, "send an announcement through the running bot's outbox"
    )
    cast.add_argument(
        "--audience",
        required=True,
        help="all, staff, cohort:ID or pending:INSTRUMENT:STAGE",
    )
    cast.add_argument("--text", required=True, help="the message (Telegram HTML)")
    cast.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    cast.add_argument("--no-wait", action="store_true", help="queue and exit without progress")


async def _broadcast(settings: Settings, args: argparse.Namespace) -> int:
    from bot.i18n import Translator, load_catalogs
    from bot.outgoing import OutgoingMessage
    from bot.services import broadcasts
    from bot.services.text import clean_text, message_problem

    # Checked as the chat flow's preview checks it: otherwise every message would fail.
    text = clean_text(args.text)
    problem = message_problem(text)
    if problem:
        return fail(f"--text: {problem}; nothing queued")
    content = load_content(settings.content_dir)
    async with Database.opened(settings.database) as db:
        cli_clock = clock()
        people = await broadcasts.recipients(db, content, args.audience, cli_clock.now())
        if not people:
            return fail(f"nobody reachable in audience {args.audience!r}")
        if not args.yes:
            prompt = f"Send to {len(people)} people? [y/N] "
            try:
                answer = (await asyncio.to_thread(input, prompt)).strip().lower()
            except EOFError:
                answer = ""
            if answer not in ("y", "yes", "o", "oui"):
                print("cancelled: nothing was sent")
                return EXIT_OK
        created = await broadcasts.create(
            db,
            created_by=0,
            audience=args.audience,
            message=OutgoingMessage(text),
            people=people,
            now=cli_clock.now(),
        )
        print(f"broadcast #{created.id}: {len(people)} message(s) queued")
        if running_pid(settings.database) is None:
            print("note: the bot is not running; they go out when it starts")
        if args.no_wait:
            return EXIT_OK
        load_catalogs()
        t = Translator(settings.default_locale, content.programme.tz)
        await follow(db, created.id, cli_clock, t, settings.outbox_rate)
        return EXIT_OK


async def pause() -> None:
    """Wait before looking at the outbox again (the running bot sends meanwhile)."""
    await asyncio.sleep(POLL_SECONDS)


async def follow(db: Database, broadcast_id: int, clock: Clock, t: Translator, rate: float) -> None:
    """Print the chat's progress display as plain lines, each time it changes, until it is over."""
    import html

    from bot.services import broadcasts
    from bot.views.broadcast import progress_text

    shown = ""
    while (found := await broadcasts.standing(db, broadcast_id, clock.now())) is not None:
        text = html.unescape(progress_text(t, found.progress, rate, found.cancelled))
        if text != shown:
            print(text, flush=True)
            shown = text
        if found.over:
            return
        await pause()
