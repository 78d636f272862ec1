"""What every command group shares: exit codes, the audit actor, the clock, the bot's name."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.clock import Clock, SystemClock
from bot.settings import Settings, SettingsError

EXIT_OK, EXIT_INVALID, EXIT_CONFIG = 0, 1, 2
CLI_ACTOR = "cli"

# What ``set_defaults(run=…)`` stores: the parsed arguments in, the exit status out
# (a coroutine for the commands that use the database; ``main`` runs it).
Command = Callable[[Settings, argparse.Namespace], int | Coroutine[Any, Any, int]]
Subparsers = argparse._SubParsersAction  # one level of ``relais COMMAND [ACTION]``


def command(
    parent: Subparsers[argparse.ArgumentParser],
    name: str,
    run: Command,
    help: str,
    **kwargs: Any,
) -> argparse.ArgumentParser:
    """Add ``relais … NAME`` that runs ``run``; its help line is also its description."""
    kwargs.setdefault("description", _sentence(help))
    parser = parent.add_parser(name, help=help, **kwargs)
    parser.set_defaults(run=run)
    return parser


def group(
    parent: Subparsers[argparse.ArgumentParser], name: str, help: str
) -> Subparsers[argparse.ArgumentParser]:
    """Add ``relais NAME ACTION``: a group whose actions each set their own ``run``."""
    parser = parent.add_parser(name, help=help, description=_sentence(help))
    return parser.add_subparsers(dest=f"{name}_command", required=True, metavar="ACTION")


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def clock() -> Clock:
    """The commands' clock: the system's (tests replace ``SystemClock`` here)."""
    return SystemClock()


def fail(message: str) -> int:
    """Say why on stderr, prefixed ``relais:``; the exit status of refused input."""
    print(f"relais: {message}", file=sys.stderr)
    return EXIT_INVALID


def read_input(path: Path) -> bytes | None:
    """The bytes of an input file, or None after saying on stderr why it cannot be read."""
    try:
        return path.read_bytes()
    except OSError as exc:
        print(f"relais: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return None


def day(value: str | None, name: str) -> datetime | None:
    """``--NAME YYYY-MM-DD`` as midnight UTC; a malformed date stops the command."""
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    except ValueError:
        raise SystemExit(f"relais: --{name} {value!r}: expected YYYY-MM-DD") from None


async def bot_username(settings: Settings, override: str | None) -> str:
    """``--bot-username``, else ``RELAIS_BOT_USERNAME``, else asked of Telegram (``getMe``)."""
    if override:
        return override.lstrip("@")
    if settings.bot_username:
        return settings.bot_username
    from telegram import Bot
    from telegram.error import InvalidToken, TelegramError

    try:
        async with Bot(settings.require_token(), base_url=settings.api_base_url) as bot:
            username = bot.username
    except InvalidToken:
        # PTB's message quotes the token itself: say it in our own words.
        raise SettingsError(
            "RELAIS_BOT_TOKEN: rejected by Telegram; check it with @BotFather, "
            "or set RELAIS_BOT_USERNAME"
        ) from None
    except TelegramError as exc:
        raise SettingsError(
            f"RELAIS_BOT_USERNAME: unset, and Telegram could not be asked ({type(exc).__name__}); "
            "set it or try again"
        ) from None
    if not username:
        raise SettingsError("RELAIS_BOT_USERNAME: could not be read from Telegram; set it")
    return username
