"""``relais backup`` and ``restore``: a consistent copy while the bot runs, and putting one back."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bot.cli.common import EXIT_INVALID, EXIT_OK, Subparsers, clock, command
from bot.settings import Settings
from bot.storage import Database
from bot.storage.files import private_file, problem_with, restore_into, safety_copy
from bot.storage.lock import AlreadyRunning, InstanceLock


def register(sub: Subparsers[argparse.ArgumentParser]) -> None:
    """Add ``backup`` and ``restore``."""
    backup = command(
        sub, "backup", _backup, "copy the database consistently, even while the bot runs"
    )
    backup.add_argument("dest", type=Path)
    restore = command(sub, "restore", _restore, "replace the database with a backup (bot stopped)")
    restore.add_argument("src", type=Path)


async def _backup(settings: Settings, args: argparse.Namespace) -> int:
    """A copy checked for integrity; an existing file or a missing database is refused."""
    dest: Path = args.dest
    if await asyncio.to_thread(dest.exists):
        print(f"relais: {dest} exists; choose a new file", file=sys.stderr)
        return EXIT_INVALID
    # A mistyped RELAIS_DATABASE must not become a new, empty database "backed up".
    problem = await asyncio.to_thread(problem_with, settings.database, check_integrity=False)
    if problem:
        print(f"relais: nothing backed up: {problem} (check RELAIS_DATABASE)", file=sys.stderr)
        return EXIT_INVALID
    await asyncio.to_thread(dest.parent.mkdir, parents=True, exist_ok=True)
    await asyncio.to_thread(private_file, dest)
    async with Database.opened(settings.database, migrate=False) as db:
        await db.backup(dest)
    problem = await asyncio.to_thread(problem_with, dest)
    if problem:
        print(f"relais: the backup failed its check: {problem}", file=sys.stderr)
        return EXIT_INVALID
    print(f"{dest}: consistent copy of {settings.database} (integrity ok)")
    return EXIT_OK


async def _restore(settings: Settings, args: argparse.Namespace) -> int:
    """Bot stopped: the current file is kept beside it, then the backup put in its place."""
    src: Path = args.src
    # Held while restoring, so a bot cannot start on a half-restored file either.
    try:
        lock = InstanceLock(settings.database).acquire()
    except AlreadyRunning as exc:
        print(f"relais: {exc}; stop it before restoring", file=sys.stderr)
        return EXIT_INVALID
    with lock:
        problem = await asyncio.to_thread(problem_with, src)
        if problem:
            print(f"relais: nothing restored: {problem}", file=sys.stderr)
            return EXIT_INVALID
        target = settings.database
        if await asyncio.to_thread(target.exists):
            kept = await asyncio.to_thread(safety_copy, target, clock().now())
            print(f"the current database was kept as {kept}")
        await asyncio.to_thread(restore_into, src, target)
    print(f"{settings.database}: restored from {src}; migrations run at the next start")
    return EXIT_OK
