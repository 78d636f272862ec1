"""The ``relais`` command: one module per command group, each adding its sub-commands.

Every sub-command stores what runs it with ``set_defaults(run=…)``; ``main`` reads the
settings once, runs it, and turns the errors every command can meet into one line and
an exit status.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Coroutine, Sequence

from bot.cli import (
    attendance,
    broadcast,
    certificates,
    database,
    evaluation,
    participants,
    running,
    trying,
)
from bot.cli.common import EXIT_CONFIG, EXIT_INVALID, EXIT_OK, Command
from bot.content import ContentError
from bot.settings import SettingsError, load_settings
from bot.storage import MigrationError
from bot.storage.lock import AlreadyRunning

__all__ = ["EXIT_CONFIG", "EXIT_INVALID", "EXIT_OK", "main", "parser"]

# The order of ``relais --help``: running the bot, the people, the programme, the results.
GROUPS = (running, trying, participants, attendance, broadcast, certificates, evaluation, database)


def parser() -> argparse.ArgumentParser:
    """The whole command line: each group's module adds its commands, in ``GROUPS`` order."""
    top = argparse.ArgumentParser(
        prog="relais",
        description="Relais: the Telegram bot of a blended training programme.",
        epilog="Each command has its own help: relais COMMAND --help.",
    )
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in GROUPS:
        module.register(sub)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``relais`` console script."""
    args = parser().parse_args(argv)
    run: Command = args.run
    try:
        settings = load_settings()
        outcome = run(settings, args)
        return asyncio.run(outcome) if isinstance(outcome, Coroutine) else outcome
    except SettingsError as exc:
        print(f"relais: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except ContentError as exc:
        print(str(exc), file=sys.stderr)
        print(f"relais: {len(exc.problems)} problem(s) in the content", file=sys.stderr)
        return EXIT_INVALID
    except MigrationError as exc:
        print(f"relais: database error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except AlreadyRunning as exc:
        # The sandbox or demo pointed at the database a running bot uses.
        print(f"relais: {exc}", file=sys.stderr)
        return EXIT_INVALID
