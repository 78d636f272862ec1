"""``relais doctor``: what is wrong, one line per problem, each with what to do."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from telegram import Bot
from telegram.error import InvalidToken, NetworkError, TelegramError

from bot.content import ContentError, load_content
from bot.settings import Settings, SettingsError
from bot.storage import Database
from bot.storage import doctor as queries
from bot.storage.files import not_relais
from bot.storage.migrations import SCHEMA_VERSION

BACKLOG_MINUTES = 10


@dataclass
class Report:
    """The findings: ``ok`` lines for what was checked, ``problems`` for what needs action."""

    ok: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


async def diagnose(settings: Settings, *, quick: bool, now: datetime | None = None) -> Report:
    """Run every check; never raise for what it finds."""
    now = now or datetime.now(UTC)
    report = Report()
    try:
        content = load_content(settings.content_dir)
        report.ok.append(f"content valid (version {content.version[:12]})")
    except ContentError as exc:
        for problem in exc.problems:
            report.problems.append(f"content: {problem} — fix it, then run relais check")
    await _database(settings, now, report)
    if not quick:
        await _telegram(settings, report)
    return report


async def _database(settings: Settings, now: datetime, report: Report) -> None:
    path = settings.database
    if not await asyncio.to_thread(path.exists):
        report.problems.append(
            f"database: {path} does not exist — check RELAIS_DATABASE, "
            "or start the bot to create it"
        )
        return
    problem = await asyncio.to_thread(not_relais, path)
    if problem:
        report.problems.append(f"database: {problem} — check RELAIS_DATABASE")
        return
    async with Database.opened(path, migrate=False) as db:
        problems = await db.integrity()
        if problems:
            report.problems.append(
                f"database: integrity check failed ({problems[0]}) — stop the bot and "
                "restore the latest backup with relais restore"
            )
        else:
            report.ok.append("database integrity ok")
        version = await db.user_version()
        if version > SCHEMA_VERSION:
            report.problems.append(
                f"database: schema {version} is newer than this Relais ({SCHEMA_VERSION}) — "
                "upgrade Relais or restore a matching backup"
            )
        elif version < SCHEMA_VERSION:
            report.problems.append(
                f"database: schema {version}, this Relais expects {SCHEMA_VERSION} — take a "
                "backup (relais backup), then start the bot: it migrates at start"
            )
        else:
            report.ok.append(f"database schema current ({version})")
        await _outbox(db, now, report)


async def _outbox(db: Database, now: datetime, report: Report) -> None:
    async with db.read() as conn:
        waiting, oldest = await queries.outbox_backlog(conn)
        failures = await queries.outbox_failures(conn, now - timedelta(days=1))
    if oldest is not None and now - oldest > timedelta(minutes=BACKLOG_MINUTES):
        minutes = int((now - oldest).total_seconds() // 60)
        report.problems.append(
            f"outbox: {waiting} message(s) waiting, the oldest for {minutes} min — is the bot "
            "running? Look at its logs (journalctl -u relais)"
        )
    else:
        report.ok.append(f"outbox: {waiting} message(s) waiting")
    for reason, count in failures:
        hint = (
            "those people blocked the bot; nothing to do"
            if reason.startswith("blocked")
            else "check the server's connection to Telegram"
            if reason.startswith("network")
            else "see the reason"
        )
        report.problems.append(f"outbox: {count} failed in the last 24 h: {reason} — {hint}")


async def _telegram(settings: Settings, report: Report) -> None:
    try:
        token = settings.require_token()
    except SettingsError as exc:
        report.problems.append(f"telegram: {exc}")
        return
    bot = Bot(token, base_url=settings.api_base_url, base_file_url=settings.api_file_url)
    try:
        async with bot:
            report.ok.append(f"token valid: the bot is @{bot.username}")
            info = await bot.get_webhook_info()
    except InvalidToken:
        report.problems.append(
            "telegram: RELAIS_BOT_TOKEN was rejected — get the token again from @BotFather"
        )
        return
    except (NetworkError, TelegramError) as exc:
        report.problems.append(
            f"telegram: cannot reach {settings.api_base_url.split('/bot')[0]} ({exc.message}) "
            "— check the server's internet access or RELAIS_API_BASE_URL"
        )
        return
    wanted = settings.webhook_url
    if wanted and info.url != wanted:
        report.problems.append(
            f"webhook: Telegram has {info.url or 'none'!r}, settings say {wanted!r} — start "
            "the bot (it sets its webhook at start)"
        )
    elif not wanted and info.url:
        report.problems.append(
            f"webhook: {info.url!r} is set but Relais runs by polling — the bot removes it at "
            "start; if another program uses this bot, give Relais its own bot"
        )
    else:
        report.ok.append("webhook: " + (f"set to {wanted}" if wanted else "none (polling)"))
    if info.last_error_message:
        report.problems.append(
            f"webhook: Telegram's last delivery error: {info.last_error_message} — check the "
            "reverse proxy and RELAIS_WEBHOOK_SECRET"
        )


def run_doctor(settings: Settings, *, quick: bool) -> int:
    """Print the findings; exit status 1 if there is any problem."""
    report = asyncio.run(diagnose(settings, quick=quick))
    for line in report.ok:
        print(f"ok: {line}")
    for line in report.problems:
        print(f"problem: {line}")
    return 1 if report.problems else 0
