"""``relais check``, ``demo`` and ``sandbox``: the content checked, played and tried out."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime
from pathlib import Path

from bot.cli.common import EXIT_INVALID, EXIT_OK, Subparsers, command, fail
from bot.content import Content, ContentError, load_content
from bot.content.loader import in_locale, untranslated
from bot.i18n import LOCALES
from bot.settings import Settings
from bot.storage import Database


def register(sub: Subparsers[argparse.ArgumentParser]) -> None:
    """Add ``check``, ``demo`` and ``sandbox``."""
    check = command(
        sub,
        "check",
        _check,
        "validate every content file and exit non-zero on problems; with the database, "
        "say which items with answers the content changes",
    )
    check.add_argument(
        "--database",
        type=Path,
        default=None,
        help="the database to compare with (default: RELAIS_DATABASE, when it exists)",
    )
    check.add_argument(
        "--locale",
        choices=LOCALES,
        default=None,
        help="the language of the YAML syntax messages (default: RELAIS_DEFAULT_LOCALE, fr)",
    )
    demo = command(
        sub,
        "demo",
        _demo,
        "play the scripted demo against the local emulator (no token, no network)",
    )
    demo.add_argument("--out", type=Path, default=Path("demo-output"), help="output folder")
    demo.add_argument(
        "--people",
        type=int,
        default=None,
        metavar="N",
        help="simulate only the first N people of the roster (default: all of it)",
    )
    demo.add_argument(
        "--seed", type=int, default=2027, help="seed of the simulated class (default: 2027)"
    )
    sandbox = command(
        sub,
        "sandbox",
        _sandbox,
        "chat with the bot in this terminal through a local Telegram emulator",
        description="Start a local Telegram Bot API emulator and the real bot against it, "
        "with the content and a demo roster, and chat as a participant or staff member. "
        "Type :help inside for the commands.",
    )
    sandbox.add_argument(
        "--as",
        dest="role",
        default="participant",
        choices=["participant", "coordinator", "evaluator", "admin", "stranger"],
        help="who you play (default: the first participant of the roster)",
    )
    sandbox.add_argument(
        "--script", type=Path, metavar="FILE", help="play these lines and print the transcript"
    )
    sandbox.add_argument(
        "--clock",
        nargs="?",
        const="start",
        metavar="WHEN",
        help="simulated time that :clock can move; WHEN is an ISO date with zone "
        "(default: a week before the first session)",
    )
    sandbox.add_argument(
        "--roster", type=Path, metavar="CSV", help="roster to seed (default: the sample)"
    )
    sandbox.add_argument(
        "--database", type=Path, help="keep the sandbox's data in this file (default: temporary)"
    )


def _check(settings: Settings, args: argparse.Namespace) -> int:
    database: Path | None = args.database
    locale: str = args.locale or settings.default_locale
    try:
        content = load_content(settings.content_dir)
    except ContentError as exc:
        raise ContentError([in_locale(p, locale) for p in exc.problems]) from None
    names = ", ".join(p.name for p in content.files)
    print(f"content valid: {names} (version {content.version[:12]})")
    path = database or settings.database
    if path.is_file():
        asyncio.run(_check_against(content, path))
    elif database is not None:
        return fail(f"no database at {database}")
    # Not an error: a missing translation shows in French. Listed so the team can fill it.
    for locale, problems in untranslated(settings.content_dir).items():
        if not problems:
            print(f"{locale}: every text translated")
            continue
        print(f"{locale}: {len(problems)} text(s) will show in French:")
        for problem in problems:
            print(f"  {problem}")
    return EXIT_OK


async def _check_against(content: Content, path: Path) -> None:
    """Before a reload: which items with answers the content changes, and how many answers."""
    from bot.services.versions import pending_changes
    from bot.storage import versions as stored_versions

    # Read only: the check must not migrate or write a database the bot may be using.
    async with Database.opened(path, migrate=False) as db:
        async with db.read() as conn:
            versioned = await stored_versions.recorded(conn)
        if not versioned:
            print(f"database {path}: item versions not recorded yet (the next start does it)")
            return
        changes = await pending_changes(db, content)
    if not changes:
        print(f"database {path}: no item with answers changes")
        return
    print(f"database {path}: {len(changes)} change(s) to items with answers at the next reload:")
    for change in changes:
        print(f"  {change}")


def _demo(settings: Settings, args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    return run_demo(args.out, settings, people=args.people, seed_value=args.seed)


def _sandbox(settings: Settings, args: argparse.Namespace) -> int:
    from bot.sandbox.run import SandboxOptions, default_start, run_sandbox

    content = load_content(settings.content_dir)
    start = None
    if args.clock == "start":
        start = default_start(content)
    elif args.clock is not None:
        try:
            start = datetime.fromisoformat(args.clock)
        except ValueError:
            start = None
        if start is None or start.tzinfo is None:
            print(
                f"relais: --clock {args.clock!r}: give an ISO date with its zone, "
                "e.g. 2027-01-06T09:00+01:00",
                file=sys.stderr,
            )
            return EXIT_INVALID
    for path in (args.script, args.roster):
        if path is not None and not path.is_file():
            return fail(f"cannot read {path}")
    options = SandboxOptions(
        role=args.role,
        script=args.script,
        clock_start=start,
        database=args.database,
        roster=args.roster,
    )
    return run_sandbox(settings, content, options)
