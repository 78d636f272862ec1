"""The ``relais`` command: run the bot, check content, import the roster, issue invites."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from telegram.request import BaseRequest

from bot.clock import SystemClock
from bot.content import Content, ContentError, load_content
from bot.content.loader import in_locale, untranslated
from bot.i18n import DEFAULT_LOCALE, LOCALES, Translator
from bot.settings import Settings, SettingsError, load_settings
from bot.storage import Database, MigrationError, repo
from bot.storage.lock import AlreadyRunning, InstanceLock, running_pid
from bot.storage.repo import Role

if TYPE_CHECKING:
    from bot.content import Content
    from bot.i18n import Translator

EXIT_OK, EXIT_INVALID, EXIT_CONFIG = 0, 1, 2
CLI_ACTOR = "cli"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="relais",
        description="Relais: the Telegram bot of a blended training programme.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("run", help="run the bot against Telegram (long polling)")
    check = sub.add_parser(
        "check",
        help="validate every content file and exit non-zero on problems; with the database, "
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
        default=DEFAULT_LOCALE,
        help="the language of the YAML syntax messages (default: fr)",
    )
    demo = sub.add_parser(
        "demo", help="play the scripted demo against the local emulator (no token, no network)"
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

    sandbox = sub.add_parser(
        "sandbox",
        help="chat with the bot in this terminal through a local Telegram emulator",
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

    roster = sub.add_parser("roster", help="manage the participants' roster")
    roster_sub = roster.add_subparsers(dest="roster_command", required=True, metavar="ACTION")
    imp = roster_sub.add_parser("import", help="import or update participants from a CSV file")
    imp.add_argument("file", type=Path)

    attendance = sub.add_parser("attendance", help="record who attended which session")
    attendance_sub = attendance.add_subparsers(
        dest="attendance_command", required=True, metavar="ACTION"
    )
    att_imp = attendance_sub.add_parser(
        "import", help="import attendance from a CSV file (participant;session;attended)"
    )
    att_imp.add_argument("file", type=Path)
    zoom = attendance_sub.add_parser(
        "import-zoom",
        help="import a Zoom participant report for one session (share of its duration)",
    )
    zoom.add_argument("file", type=Path)
    zoom.add_argument("--session", required=True, help="the session id in programme.yaml")
    zoom.add_argument(
        "--timezone",
        help="the Zoom account's time zone, e.g. Europe/Paris (default: the programme's)",
    )
    moodle = attendance_sub.add_parser(
        "import-moodle", help="import Moodle's activity-completion report (the e-campus)"
    )
    moodle.add_argument("file", type=Path)
    review = attendance_sub.add_parser(
        "review", help="list the report rows nobody could match, and write a mapping file"
    )
    review.add_argument("--session", help="only this session's Zoom rows")
    review.add_argument(
        "--out", type=Path, metavar="FILE", help="write them as a mapping file to fill in"
    )
    roll = attendance_sub.add_parser(
        "list", help="who is recorded present at a session and who is missing"
    )
    roll.add_argument("session", help="the session id in programme.yaml")
    resolve = attendance_sub.add_parser(
        "resolve", help="apply a filled-in mapping file (name;email;participant)"
    )
    resolve.add_argument("file", type=Path)

    attempts = sub.add_parser("attempts", help="manage questionnaire attempts")
    attempts_sub = attempts.add_subparsers(dest="attempts_command", required=True, metavar="ACTION")
    reopen = attempts_sub.add_parser(
        "reopen", help="let a participant answer a submitted questionnaire stage again"
    )
    reopen.add_argument("participant", help="participant code, external id or e-mail")
    reopen.add_argument("instrument", choices=["kat", "satisfaction", "followup"])
    reopen.add_argument("stage", help="stage id, e.g. pre or post")

    certs = sub.add_parser("certificates", help="approve, issue, revoke and verify certificates")
    certs_sub = certs.add_subparsers(dest="certificates_command", required=True, metavar="ACTION")
    certs_sub.add_parser("list", help="who is ready, who is missing what, what was issued")
    approve = certs_sub.add_parser(
        "approve", help="approve a ready certificate (the running bot sends it in the chat)"
    )
    approve.add_argument("participant", nargs="?", help="participant code, external id or e-mail")
    approve.add_argument("level", nargs="?", choices=["participation", "success"])
    approve.add_argument("--all", action="store_true", help="approve everything ready")
    issue = certs_sub.add_parser("issue", help="write the PDF of an approved certificate")
    issue.add_argument("code", help="the certificate's verification code")
    issue.add_argument("--out", type=Path, help="PDF file (default: <code>.pdf)")
    issue.add_argument("--bot-username", help="bot username for the QR code (default: settings)")
    cert_revoke = certs_sub.add_parser("revoke", help="revoke a certificate")
    cert_revoke.add_argument("code")
    cert_revoke.add_argument("--reason", required=True)
    verify = certs_sub.add_parser("verify", help="what anyone checking this code is told")
    verify.add_argument("code")

    sub.add_parser("reload", help="make the running bot reload the content (checks it first)")
    cast = sub.add_parser("broadcast", help="send an announcement through the running bot's outbox")
    cast.add_argument(
        "--audience",
        required=True,
        help="all, staff, cohort:ID or pending:INSTRUMENT:STAGE",
    )
    cast.add_argument("--text", required=True, help="the message (Telegram HTML)")
    cast.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    cast.add_argument("--no-wait", action="store_true", help="queue and exit without progress")

    export = sub.add_parser(
        "export",
        help="export the responses (pseudonymous CSV or XLSX), or the grades for Moodle",
    )
    export.add_argument(
        "--format",
        choices=["csv", "xlsx", "moodle"],
        default="xlsx",
        help="moodle: KAT percentages and certificates by e-mail for Moodle's CSV grade"
        " import (identities: owner-only file, audited)",
    )
    export.add_argument("--out", type=Path, help="file to write (default: relais-export.FORMAT)")
    export.add_argument("--instrument", choices=["kat", "satisfaction", "followup"])
    export.add_argument("--cohort", help="only this cohort")
    export.add_argument("--since", help="answers from this date (YYYY-MM-DD)")
    export.add_argument("--until", help="answers before this date (YYYY-MM-DD)")
    export.add_argument("--locale", choices=["fr", "en", "ar"], default="fr")
    export.add_argument(
        "--with-identities",
        type=Path,
        metavar="FILE",
        help="also write codes with names and e-mails (coordinators only; audited)",
    )
    backup = sub.add_parser(
        "backup", help="copy the database consistently, even while the bot runs"
    )
    backup.add_argument("dest", type=Path)
    restore = sub.add_parser("restore", help="replace the database with a backup (bot stopped)")
    restore.add_argument("src", type=Path)
    doctor = sub.add_parser("doctor", help="check token, database, content, outbox and webhook")
    doctor.add_argument(
        "--quick", action="store_true", help="skip the checks that need Telegram (health checks)"
    )
    forget = sub.add_parser("forget", help="erase a participant's identity and Telegram binding")
    forget.add_argument("participant", help="participant code, external id or e-mail")
    forget.add_argument("--answers", action="store_true", help="delete their answers too")

    report = sub.add_parser("report", help="write the evaluation report (HTML, and PNG charts)")
    report.add_argument("--out", type=Path, default=Path("relais-report.html"))
    report.add_argument("--charts", type=Path, metavar="DIR", help="also write the charts as PNG")
    report.add_argument("--locale", choices=["fr", "en", "ar"], default="fr")
    report.add_argument(
        "--without-open-answers",
        action="store_true",
        help="leave the typed answers out (the version for the employer)",
    )

    invites = sub.add_parser("invites", help="issue one invite link per participant not enrolled")
    invites.add_argument("--out", type=Path, default=Path("invites.csv"), help="CSV to write")
    invites.add_argument("--qr", type=Path, metavar="DIR", help="also write one QR code PNG each")
    invites.add_argument("--cohort", help="only this cohort")
    invites.add_argument("--bot-username", help="bot username for the links (else from settings)")

    staff = sub.add_parser("staff", help="manage staff roles")
    staff_sub = staff.add_subparsers(dest="staff_command", required=True, metavar="ACTION")
    sinv = staff_sub.add_parser("invite", help="issue a single-use staff invite link")
    sinv.add_argument("--role", required=True, choices=[r.value for r in Role])
    sinv.add_argument("--label", help="who it is for (kept in the audit log)")
    sinv.add_argument("--qr", type=Path, metavar="FILE", help="also write the link as a QR PNG")
    sinv.add_argument("--bot-username", help="bot username for the link (else from settings)")
    staff_sub.add_parser("list", help="list staff roles")
    revoke = staff_sub.add_parser("revoke", help="take a role away from a Telegram user")
    revoke.add_argument("user_id", type=int)
    revoke.add_argument("--role", required=True, choices=[r.value for r in Role])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``relais`` console script."""
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
        return _dispatch(args, settings)
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


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "run":
        return _run(settings)
    if args.command == "check":
        return _check(settings, args.database, args.locale)
    if args.command == "demo":
        from bot.demo import run_demo

        return run_demo(args.out, settings, people=args.people, seed_value=args.seed)
    if args.command == "sandbox":
        return _sandbox(settings, args)
    if args.command == "attendance" and args.attendance_command != "import":
        from bot.attendance_cli import attendance_command

        return asyncio.run(attendance_command(settings, args))
    if args.command in ("roster", "attendance"):
        try:
            data = args.file.read_bytes()
        except OSError as exc:
            print(f"relais: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
            return EXIT_INVALID
        importer = _roster_import if args.command == "roster" else _attendance_import
        return asyncio.run(importer(settings, args.file, data))
    if args.command == "backup":
        return asyncio.run(_backup(settings, args.dest))
    if args.command == "restore":
        return asyncio.run(_restore(settings, args.src))
    if args.command == "doctor":
        from bot.doctor import run_doctor

        return run_doctor(settings, quick=args.quick)
    if args.command == "forget":
        return asyncio.run(_forget(settings, args.participant, args.answers))
    if args.command == "export":
        return asyncio.run(_export(settings, args))
    if args.command == "report":
        return asyncio.run(_report(settings, args))
    if args.command == "reload":
        return _reload(settings)
    if args.command == "broadcast":
        return asyncio.run(_broadcast(settings, args))
    if args.command == "attempts":
        return asyncio.run(_reopen(settings, args))
    if args.command == "invites":
        return asyncio.run(_invites(settings, args))
    if args.command == "staff":
        return asyncio.run(_staff(settings, args))
    if args.command == "certificates":
        return asyncio.run(_certificates(settings, args))
    raise AssertionError(args.command)


def _sandbox(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import datetime

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
            print(f"relais: cannot read {path}", file=sys.stderr)
            return EXIT_INVALID
    options = SandboxOptions(
        role=args.role,
        script=args.script,
        clock_start=start,
        database=args.database,
        roster=args.roster,
    )
    return run_sandbox(settings, content, options)


def _run(
    settings: Settings,
    *,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
) -> int:
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


def _check(settings: Settings, database: Path | None = None, locale: str = DEFAULT_LOCALE) -> int:
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
        print(f"relais: no database at {database}", file=sys.stderr)
        return EXIT_INVALID
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

    # Read only: the check must not migrate or write a database the bot may be using.
    async with Database.opened(path, migrate=False) as db:
        async with (
            db.read() as conn,
            conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'item_versions'") as cur,
        ):
            versioned = await cur.fetchone() is not None
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


async def _attendance_import(settings: Settings, file: Path, data: bytes) -> int:
    from bot.services.attendance import AttendanceError, import_attendance

    content = load_content(settings.content_dir)
    async with Database.opened(settings.database) as db:
        try:
            count = await import_attendance(
                db, data, programme=content.programme, clock=SystemClock(), actor=CLI_ACTOR
            )
        except AttendanceError as exc:
            print(f"relais: {file}: refused, nothing imported:", file=sys.stderr)
            for problem in exc.problems:
                print(f"  {problem}", file=sys.stderr)
            return EXIT_INVALID
    print(f"{file}: {count} attendance record(s) imported")
    return EXIT_OK


async def _backup(settings: Settings, dest: Path) -> int:
    from bot.storage.files import private_file, problem_with

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


async def _restore(settings: Settings, src: Path) -> int:
    from bot.storage.files import problem_with, restore_into, safety_copy

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
            kept = await asyncio.to_thread(safety_copy, target, SystemClock().now())
            print(f"the current database was kept as {kept}")
        await asyncio.to_thread(restore_into, src, target)
    print(f"{settings.database}: restored from {src}; migrations run at the next start")
    return EXIT_OK


async def _forget(settings: Settings, key: str, with_answers: bool) -> int:
    from bot.services.privacy import ForgetError, forget

    async with Database.opened(settings.database) as db:
        try:
            code = await forget(
                db, key, with_answers=with_answers, actor=CLI_ACTOR, now=SystemClock().now()
            )
        except ForgetError as exc:
            print(f"relais: {exc}", file=sys.stderr)
            return EXIT_INVALID
    what = (
        "identity, Telegram binding and answers"
        if with_answers
        else "identity and Telegram binding"
    )
    print(f"{code}: {what} erased")
    return EXIT_OK


def _date(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    except ValueError:
        raise SystemExit(f"relais: --{name} {value!r}: expected YYYY-MM-DD") from None


async def _export(settings: Settings, args: argparse.Namespace) -> int:
    from bot.i18n import Translator, load_catalogs
    from bot.services import export

    load_catalogs()
    content = load_content(settings.content_dir)
    if args.cohort and args.cohort not in content.programme.cohort_ids:
        print(f"relais: unknown cohort {args.cohort!r}", file=sys.stderr)
        return EXIT_INVALID
    filters = export.Filters(
        args.instrument, args.cohort, _date(args.since, "since"), _date(args.until, "until")
    )
    t = Translator(args.locale, content.programme.tz)
    if args.format == "moodle":
        if args.instrument or args.since or args.until or args.with_identities:
            print(
                "relais: --format moodle takes no --instrument, --since, --until or"
                " --with-identities (it holds the KAT and the certificates as they stand,"
                " by e-mail)",
                file=sys.stderr,
            )
            return EXIT_INVALID
        return await _export_moodle(settings, content, args, t)
    out = args.out or Path(f"relais-export.{args.format}")
    async with Database.opened(settings.database) as db:
        writer = export.write_csv if args.format == "csv" else export.write_xlsx
        count = await writer(db, content, out, filters, t)
        details = {
            "format": args.format,
            "filters": [args.instrument, args.cohort, args.since, args.until],
            "answers": count,
        }
        now = SystemClock().now()
        await export.record(
            db, actor=CLI_ACTOR, action="export.responses", details=details, now=now
        )
        print(f"{out}: {count} answer(s), participants as codes")
        if args.with_identities:
            from bot.storage.files import private_file

            await asyncio.to_thread(private_file, args.with_identities)
            people = await export.write_identities(db, args.with_identities)
            await export.record(
                db, actor=CLI_ACTOR, action="export.identities", details={"rows": people}, now=now
            )
            print(f"{args.with_identities}: identities of {people} participant(s); keep it private")
    return EXIT_OK


async def _export_moodle(
    settings: Settings, content: Content, args: argparse.Namespace, t: Translator
) -> int:
    """The grades file for Moodle: it names people, so it is written for its owner only."""
    from bot.services import export

    out = args.out or Path("relais-moodle-grades.csv")
    async with Database.opened(settings.database) as db:
        written = await export.write_moodle(db, content, out, t, args.cohort)
        details = {"format": "moodle", "cohort": args.cohort, "rows": written.rows}
        await export.record(
            db, actor=CLI_ACTOR, action="export.moodle", details=details, now=SystemClock().now()
        )
    print(f"{out}: grades of {written.rows} participant(s) for Moodle; keep it private")
    if written.without_email:
        print(f"{written.without_email} participant(s) without an e-mail left out")
    return EXIT_OK


async def _report(settings: Settings, args: argparse.Namespace) -> int:
    from bot.i18n import Translator, load_catalogs
    from bot.services.report import figures
    from bot.services.report_render import render_charts, render_html

    load_catalogs()
    content = load_content(settings.content_dir)
    t = Translator(args.locale, content.programme.tz)
    async with Database.opened(settings.database) as db:
        found = await figures(
            db,
            content,
            SystemClock().now(),
            settings.report_min_cell,
            open_answers=not args.without_open_answers,
        )
        await asyncio.to_thread(args.out.write_text, render_html(found, content, t), "utf-8")
        print(
            f"{args.out}: evaluation report (every figure stands on at least {found.k} people"
            + ("; typed answers left out)" if args.without_open_answers else ")")
        )
        if args.charts:
            await asyncio.to_thread(args.charts.mkdir, parents=True, exist_ok=True)
            for name, data in render_charts(found, content, t):
                await asyncio.to_thread((args.charts / name).write_bytes, data)
            print(f"{args.charts}: charts as PNG")
    return EXIT_OK


def _reload(settings: Settings) -> int:
    import os
    import signal

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


async def _broadcast(settings: Settings, args: argparse.Namespace) -> int:
    from bot.services import broadcasts
    from bot.services.text import clean_text, message_problem

    # Checked as the chat flow's preview checks it: otherwise every message would fail.
    text = clean_text(args.text)
    problem = message_problem(text)
    if problem:
        print(f"relais: --text: {problem}; nothing queued", file=sys.stderr)
        return EXIT_INVALID
    content = load_content(settings.content_dir)
    async with Database.opened(settings.database) as db:
        clock = SystemClock()
        people = await broadcasts.recipients(db, content, args.audience, clock.now())
        if not people:
            print(f"relais: nobody reachable in audience {args.audience!r}", file=sys.stderr)
            return EXIT_INVALID
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
            payload={"text": text},
            people=people,
            now=clock.now(),
        )
        print(f"broadcast #{created.id}: {len(people)} message(s) queued")
        if running_pid(settings.database) is None:
            print("note: the bot is not running; they go out when it starts")
        if args.no_wait:
            return EXIT_OK
        while True:
            state = await broadcasts.progress(db, created, clock.now())
            done = state.sent + state.failed + state.cancelled
            filled = round(30 * done / state.total)
            print(
                f"\r[{'#' * filled}{'.' * (30 - filled)}] {state.sent}/{state.total} sent, "
                f"{state.failed} failed",
                end="",
                flush=True,
            )
            if state.done:
                print()
                for reason, count in state.failures.items():
                    print(f"  {reason}: {count}")
                return EXIT_OK
            await asyncio.sleep(1.0)


async def _reopen(settings: Settings, args: argparse.Namespace) -> int:
    from bot.services.questionnaire import ReopenError, reopen_stage

    content = load_content(settings.content_dir)
    async with Database.opened(settings.database) as db:
        try:
            attempt = await reopen_stage(
                db,
                content,
                args.participant,
                args.instrument,
                args.stage,
                actor=CLI_ACTOR,
                now=SystemClock().now(),
            )
        except ReopenError as exc:
            print(f"relais: {exc}", file=sys.stderr)
            return EXIT_INVALID
    print(
        f"{args.instrument} {args.stage} reopened for {args.participant} "
        f"(attempt {attempt.number}); it shows in their /me while the window is open"
    )
    return EXIT_OK


async def _roster_import(settings: Settings, file: Path, data: bytes) -> int:
    from bot.services.roster import RosterError, import_roster

    content = load_content(settings.content_dir)
    async with Database.opened(settings.database) as db:
        try:
            report = await import_roster(
                db,
                data,
                cohort_ids=content.programme.cohort_ids,
                clock=SystemClock(),
                actor=CLI_ACTOR,
            )
        except RosterError as exc:
            print(f"{file}: nothing imported, {len(exc.problems)} problem(s):", file=sys.stderr)
            print(str(exc), file=sys.stderr)
            return EXIT_INVALID
    print(
        f"{file}: {report.created} created, {report.updated} updated, {report.unchanged} unchanged"
    )
    return EXIT_OK


async def _bot_username(settings: Settings, override: str | None) -> str:
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


async def _invites(settings: Settings, args: argparse.Namespace) -> int:
    from bot.services.invites import issue_participant_invites, write_invites_csv, write_qr_codes

    content = load_content(settings.content_dir)
    if args.cohort and args.cohort not in content.programme.cohort_ids:
        known = ", ".join(sorted(content.programme.cohort_ids))
        print(f"relais: unknown cohort {args.cohort!r} (known: {known})", file=sys.stderr)
        return EXIT_INVALID
    username = await _bot_username(settings, args.bot_username)
    async with Database.opened(settings.database) as db:
        issued = await issue_participant_invites(
            db,
            clock=SystemClock(),
            ttl=timedelta(days=settings.invite_ttl_days),
            actor=CLI_ACTOR,
            cohort=args.cohort,
        )
    write_invites_csv(args.out, issued, username)
    print(f"{len(issued)} invite(s) written to {args.out}; earlier unused links no longer work")
    if args.qr:
        paths = write_qr_codes(args.qr, issued, username)
        print(f"{len(paths)} QR code(s) written to {args.qr}")
    print("Keep this file private: each link enrols whoever opens it first.")
    return EXIT_OK


async def _staff(settings: Settings, args: argparse.Namespace) -> int:
    from bot.services.invites import deep_link, issue_staff_invite

    if args.staff_command == "invite":
        username = await _bot_username(settings, args.bot_username)
        async with Database.opened(settings.database) as db:
            invite = await issue_staff_invite(
                db,
                role=Role(args.role),
                label=args.label,
                clock=SystemClock(),
                ttl=timedelta(days=settings.invite_ttl_days),
                actor=CLI_ACTOR,
            )
        link = deep_link(username, invite.token)
        print(link)
        if args.qr:
            import segno

            from bot.storage.files import private_file

            private_file(args.qr)
            segno.make(link, error="m").save(str(args.qr), scale=10, border=4)
            print(f"QR code written to {args.qr}", file=sys.stderr)
        print(f"single use, expires {invite.expires_at:%Y-%m-%d %H:%M} UTC", file=sys.stderr)
        return EXIT_OK
    async with Database.opened(settings.database) as db:
        if args.staff_command == "list":
            async with db.read() as conn:
                staff = await repo.list_staff(conn)
            for row in staff:
                name = row.display_name or "-"
                print(f"{row.user_id}\t{row.role.value}\t{name}\t{row.granted_at:%Y-%m-%d}")
            for admin in settings.admin_ids:
                print(f"{admin}\tadmin\t(RELAIS_ADMIN_IDS)\t-")
            return EXIT_OK
        async with db.transaction() as conn:
            removed = await repo.revoke_role(conn, args.user_id, Role(args.role))
            if removed:
                await repo.audit(
                    conn,
                    actor=CLI_ACTOR,
                    action="staff.revoke",
                    target=str(args.user_id),
                    details={"role": args.role},
                    now=SystemClock().now(),
                )
        print("role revoked" if removed else "that user did not have this role")
        return EXIT_OK if removed else EXIT_INVALID


async def _certificates(settings: Settings, args: argparse.Namespace) -> int:
    from bot.i18n import load_catalogs
    from bot.services import certification as certs

    load_catalogs()
    content = load_content(settings.content_dir)
    t = Translator("en", content.programme.tz)
    now = SystemClock().now()
    action = args.certificates_command
    async with Database.opened(settings.database) as db:
        if action == "list":
            return await _certificates_list(db, content, t, now)
        if action == "approve":
            return await _certificates_approve(db, content, args, now)
        if action == "revoke":
            status, cert = await certs.revoke(
                db, args.code, actor=CLI_ACTOR, reason=args.reason, now=now
            )
            if status is certs.RevokeStatus.UNKNOWN:
                print(f"relais: no certificate with code {args.code!r}", file=sys.stderr)
                return EXIT_INVALID
            assert cert is not None
            done = "revoked" if status is certs.RevokeStatus.REVOKED else "was already revoked"
            print(f"{certs.display_code(cert.code)} ({cert.level}) {done}")
            return EXIT_OK
        if action == "verify":
            result = await certs.verify(db, content, args.code, key="cli", now=now)
            print(certs.verification_text(t, result))
            return EXIT_OK if result.verdict is certs.Verdict.VALID else EXIT_INVALID
        return await _certificates_issue(db, content, settings, args)


async def _certificates_list(db: Database, content: Content, t: Translator, now: datetime) -> int:
    from bot.services import certification as certs

    found = await certs.queue(db, content, now)
    if found is None:
        print("relais: this content issues no certificates (certificates.yaml, kat.yaml)")
        return EXIT_INVALID
    for candidate in found.candidates:
        person = candidate.participant
        cells = []
        for level in ("participation", "success"):
            cert = candidate.issued.get(level)
            standing = certs.level_of(candidate.status, level)
            if cert is not None:
                cells.append(
                    f"{level}: issued {cert.approved_at:%Y-%m-%d} {certs.display_code(cert.code)}"
                    f" ({cert.delivery})"
                )
            elif level in candidate.ready():
                cells.append(f"{level}: READY")
            elif standing.obtained:
                cells.append(f"{level}: met, waiting for the final quiz to close")
            else:
                cells.append(f"{level}: missing {certs.missing_text(t, standing)}")
        print(f"{person.code}  {person.full_name}  {person.cohort}  " + " | ".join(cells))
    print(
        f"{len(found.ready)} ready, {len(found.issued)} issued, "
        f"{len(found.candidates)} participants"
    )
    return EXIT_OK


async def _certificates_approve(
    db: Database, content: Content, args: argparse.Namespace, now: datetime
) -> int:
    from bot.services import certification as certs

    if args.all:
        results = await certs.approve_all(db, content, actor=CLI_ACTOR, now=now) or []
    elif args.participant and args.level:
        person = await certs.find_participant(db, args.participant)
        if person is None:
            print(f"relais: no participant {args.participant!r}", file=sys.stderr)
            return EXIT_INVALID
        results = [
            await certs.approve(db, content, person.id, args.level, actor=CLI_ACTOR, now=now)
        ]
    else:
        print("relais: give PARTICIPANT LEVEL, or --all", file=sys.stderr)
        return EXIT_INVALID
    failed = False
    for result in results:
        who = result.participant.code if result.participant else args.participant
        if result.status is certs.ApproveStatus.APPROVED:
            assert result.certificate is not None
            print(
                f"{who}: {result.certificate.level} approved, code "
                f"{certs.display_code(result.certificate.code)}; the running bot sends it "
                "within a minute"
            )
        else:
            failed = True
            print(f"relais: {who}: {result.status.value}, nothing done", file=sys.stderr)
    if not results:
        print("nothing is ready")
    return EXIT_INVALID if failed else EXIT_OK


async def _certificates_issue(
    db: Database, content: Content, settings: Settings, args: argparse.Namespace
) -> int:
    from bot.certificate_sender import verification_url
    from bot.i18n import LOCALES
    from bot.runtime import Runtime
    from bot.services import certification as certs
    from bot.services.certificate_pdf import CertificateData, render

    cert = await certs.certificate_by_code(db, args.code)
    if cert is None or content.certificates is None:
        print(f"relais: no certificate with code {args.code!r}", file=sys.stderr)
        return EXIT_INVALID
    if cert.revoked:
        print(f"relais: {certs.display_code(cert.code)} is revoked", file=sys.stderr)
        return EXIT_INVALID
    person = await certs.participant_of(db, cert.participant_id)
    assert person is not None
    username = await _bot_username(settings, args.bot_username)
    rt = Runtime(settings=settings, content=content, clock=SystemClock())
    data = CertificateData(
        cert.level,
        person.full_name,
        cert.code,
        cert.approved_at,
        username,
        verification_url(rt, cert.code),
    )
    tz = content.programme.tz
    pdf = render(
        content.certificates,
        data,
        translators={loc: Translator(loc, tz) for loc in LOCALES},
        folder=Path(settings.content_dir),
    )
    out = args.out or Path(f"{cert.code}.pdf")
    out.write_bytes(pdf)
    out.chmod(0o600)  # it names the holder
    print(f"{out}: {cert.level} certificate of {person.code} ({len(pdf) // 1024} KB)")
    return EXIT_OK
