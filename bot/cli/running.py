"""``relais run``, ``reload`` and ``doctor``: the bot's process and its health."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys

from telegram.request import BaseRequest

from bot.cli.common import EXIT_CONFIG, EXIT_INVALID, EXIT_OK, Subparsers, command
from bot.content import Content, load_content
from bot.settings import Settings
from bot.storage.lock import AlreadyRunning, InstanceLock, running_pid


def register(sub: Subparsers[argparse.ArgumentParser]) -> None:
    """Add ``run``, ``reload`` and ``doctor``."""
    command(sub, "run", _run_command, "run the bot against Telegram (long polling)")
    command(sub, "reload", _reload, "make the running bot reload the content (checks it first)")
    doctor = command(sub, "doctor", _doctor, "check token, database, content, outbox and webhook")
    doctor.add_argument(
        "--quick", action="store_true", help="skip the checks that need Telegram (health checks)"
    )


def _run_command(settings: Settings, _args: argparse.Namespace) -> int:
    return run_bot(settings)


def run_bot(
    settings: Settings,
    *,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
) -> int:
    """Run the bot until stopped, holding the database's lock; tests pass their requests."""
    from bot.logs import configure_logging

    token = settings.require_token()
    secrets = [token] + (
        [settings.webhook_secret.get_secret_value()] if settings.webhook_secret else []
    )
    configure_logging(settings.log_level, secrets=secrets, fmt=settings.log_format)
    content = load_content(settings.content_dir)
    # Before anything opens the database: a second bot would send everything twice.
    try:
        lock = InstanceLock(settings.database).acquire()
    except AlreadyRunning as exc:
        print(f"relais: {exc}; not starting a second one", file=sys.stderr)
        return EXIT_INVALID
    with lock:
        return _run_locked(settings, content, request, get_updates_request, token)


def _run_locked(
    settings: Settings,
    content: Content,
    request: BaseRequest | None,
    get_updates_request: BaseRequest | None,
    token: str,
) -> int:
    from telegram.error import InvalidToken

    from bot.app import build_application, webhook_of
    from bot.handlers import ALLOWED_UPDATES

    app = build_application(
        settings, content, request=request, get_updates_request=get_updates_request, token=token
    )
    try:
        if settings.webhook_url:
            app.run_webhook(**webhook_of(settings).options(), close_loop=False)
        else:
            app.run_polling(allowed_updates=ALLOWED_UPDATES, close_loop=False)
    except InvalidToken:
        # PTB's message quotes the token itself: say it in our own words.
        print(
            "relais: configuration error: RELAIS_BOT_TOKEN: rejected by Telegram; "
            "check it with @BotFather",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    except Exception:
        # Through the logger, so the traceback is redacted like every other line.
        logging.getLogger("relais").exception("the bot stopped on an unexpected error")
        return EXIT_INVALID
    return EXIT_OK


def _reload(settings: Settings, _args: argparse.Namespace) -> int:
    content = load_content(settings.content_dir)
    # The pid comes from the lock the bot holds, so it is that live process and no other.
    pid = running_pid(settings.database)
    try:
        if pid is None or pid <= 0:
            raise ProcessLookupError
        os.kill(pid, signal.SIGHUP)
    except OSError:
        print(
            f"relais: no running bot found on {settings.database}; the content is valid and "
            "will be used at the next start",
            file=sys.stderr,
        )
        return EXIT_INVALID
    print(f"content version {content.version[:12]} sent to the running bot (pid {pid})")
    return EXIT_OK


def _doctor(settings: Settings, args: argparse.Namespace) -> int:
    from bot.doctor import run_doctor

    return run_doctor(settings, quick=args.quick)
