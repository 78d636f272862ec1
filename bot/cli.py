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
from bot.content import ContentError, load_content
from bot.content.loader import untranslated
from bot.settings import Settings, SettingsError, load_settings
from bot.storage import Database, MigrationError, repo
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
    sub.add_parser("check", help="validate every content file and exit non-zero on problems")
    demo = sub.add_parser(
        "demo", help="play the scripted demo against the local emulator (no token, no network)"
    )
    demo.add_argument("--out", type=Path, default=Path("demo-output"), help="output folder")

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

    attempts = sub.add_parser("attempts", help="manage questionnaire attempts")
    attempts_sub = attempts.add_subparsers(dest="attempts_command", required=True, metavar="ACTION")
    reopen = attempts_sub.add_parser(
        "reopen", help="let a participant answer a submitted questionnaire stage again"
    )
    reopen.add_argument("participant", help="participant code, external id or e-mail")
    reopen.add_argument("instrument", choices=["kat", "satisfaction", "followup"])
    reopen.add_argument("stage", help="stage id, e.g. pre or post")

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


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "run":
        return _run(settings)
    if args.command == "check":
        return _check(settings)
    if args.command == "demo":
        from bot.demo import run_demo

        return run_demo(args.out, settings)
    if args.command == "sandbox":
        return _sandbox(settings, args)
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
    from telegram.error import InvalidToken

    from bot.app import build_application, webhook_of
    from bot.handlers import ALLOWED_UPDATES
    from bot.logs import configure_logging

    token = settings.require_token()
    secrets = [token] + (
        [settings.webhook_secret.get_secret_value()] if settings.webhook_secret else []
    )
    configure_logging(settings.log_level, secrets=secrets, fmt=settings.log_format)
    content = load_content(settings.content_dir)
    app = build_application(
        settings, content, request=request, get_updates_request=get_updates_request
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


def _check(settings: Settings) -> int:
    content = load_content(settings.content_dir)
    names = ", ".join(p.name for p in content.files)
    print(f"content valid: {names} (version {content.version[:12]})")
    # Not an error: a missing translation shows in French. Listed so the team can fill it.
    for locale, problems in untranslated(settings.content_dir).items():
        if not problems:
            print(f"{locale}: every text translated")
            continue
        print(f"{locale}: {len(problems)} text(s) will show in French:")
        for problem in problems:
            print(f"  {problem}")
    return EXIT_OK


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
    if await asyncio.to_thread(dest.exists):
        print(f"relais: {dest} exists; choose a new file", file=sys.stderr)
        return EXIT_INVALID
    await asyncio.to_thread(dest.parent.mkdir, parents=True, exist_ok=True)
    async with Database.opened(settings.database, migrate=False) as db:
        await db.backup(dest)
    async with Database.opened(dest, migrate=False) as copy:
        problems = await copy.integrity()
    if problems:
        print(
            f"relais: the backup {dest} failed its integrity check: {problems[0]}", file=sys.stderr
        )
        return EXIT_INVALID
    print(f"{dest}: consistent copy of {settings.database} (integrity ok)")
    return EXIT_OK


async def _restore(settings: Settings, src: Path) -> int:
    pid = Path(str(settings.database) + ".pid")
    if await asyncio.to_thread(pid.exists):
        print("relais: the bot is running; stop it before restoring", file=sys.stderr)
        return EXIT_INVALID
    if not await asyncio.to_thread(src.is_file):
        print(f"relais: cannot read {src}", file=sys.stderr)
        return EXIT_INVALID
    async with Database.opened(src, migrate=False) as source:
        problems = await source.integrity()
        if problems:
            print(f"relais: {src} is damaged: {problems[0]}; nothing restored", file=sys.stderr)
            return EXIT_INVALID
        target = settings.database
        if await asyncio.to_thread(target.exists):
            kept = target.with_name(target.name + ".before-restore")
            await asyncio.to_thread(target.replace, kept)
            for suffix in ("-wal", "-shm"):
                await asyncio.to_thread(Path(str(target) + suffix).unlink, missing_ok=True)
            print(f"the current database was kept as {kept}")
        await source.backup(target)
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
        found = await figures(db, content, SystemClock().now(), settings.report_min_cell)
        await asyncio.to_thread(args.out.write_text, render_html(found, content, t), "utf-8")
        print(f"{args.out}: evaluation report (figures under {found.k} respondents suppressed)")
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
    pid_path = Path(str(settings.database) + ".pid")
    try:
        pid = int(pid_path.read_text(encoding="ascii").strip())
        os.kill(pid, signal.SIGHUP)
    except (OSError, ValueError):
        print(
            f"relais: no running bot found ({pid_path}); the content is valid and will be "
            "used at the next start",
            file=sys.stderr,
        )
        return EXIT_INVALID
    print(f"content version {content.version[:12]} sent to the running bot (pid {pid})")
    return EXIT_OK


async def _broadcast(settings: Settings, args: argparse.Namespace) -> int:
    from bot.services import broadcasts

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
            payload={"text": args.text},
            people=people,
            now=clock.now(),
        )
        print(f"broadcast #{created.id}: {len(people)} message(s) queued")
        running = await asyncio.to_thread(Path(str(settings.database) + ".pid").exists)
        if not running:
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

    async with Bot(settings.require_token(), base_url=settings.api_base_url) as bot:
        username = bot.username
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
