"""``relais attendance``: who attended, from the course team's file, Zoom and Moodle."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.cli.common import (
    CLI_ACTOR,
    EXIT_INVALID,
    EXIT_OK,
    Subparsers,
    clock,
    command,
    fail,
    group,
    read_input,
)
from bot.content import Programme, load_content
from bot.i18n import Translator
from bot.services.attendance import (
    AttendanceError,
    ReviewItem,
    import_attendance,
    import_moodle,
    import_zoom,
    mapping_csv,
    read_mapping,
    resolve,
    review_items,
    roll,
)
from bot.services.csvfile import TableError
from bot.settings import Settings
from bot.storage import Database, repo
from bot.views.attendance import detail

RESOLVE_HELP = (
    "Nothing was guessed. To resolve them: relais attendance review --out mapping.csv, put in "
    "the participant column a code, external id or e-mail (or - to ignore a guest), then "
    "relais attendance resolve mapping.csv"
)


def register(sub: Subparsers[argparse.ArgumentParser]) -> None:
    """Add ``attendance import|import-zoom|import-moodle|review|list|resolve``."""
    attendance = group(sub, "attendance", "record who attended which session")
    imp = command(
        attendance,
        "import",
        _import,
        "import attendance from a CSV file (participant;session;attended)",
    )
    imp.add_argument("file", type=Path)
    zoom = command(
        attendance,
        "import-zoom",
        _sources,
        "import a Zoom participant report for one session (share of its duration)",
    )
    zoom.add_argument("file", type=Path)
    zoom.add_argument("--session", required=True, help="the session id in programme.yaml")
    zoom.add_argument(
        "--timezone",
        help="the Zoom account's time zone, e.g. Europe/Paris (default: the programme's)",
    )
    moodle = command(
        attendance,
        "import-moodle",
        _sources,
        "import Moodle's activity-completion report (the e-campus)",
    )
    moodle.add_argument("file", type=Path)
    review = command(
        attendance,
        "review",
        _sources,
        "list the report rows nobody could match, and write a mapping file",
    )
    review.add_argument("--session", help="only this session's Zoom rows")
    review.add_argument(
        "--out", type=Path, metavar="FILE", help="write them as a mapping file to fill in"
    )
    roll_call = command(
        attendance, "list", _sources, "who is recorded present at a session and who is missing"
    )
    roll_call.add_argument("session", help="the session id in programme.yaml")
    resolve_cmd = command(
        attendance, "resolve", _sources, "apply a filled-in mapping file (name;email;participant)"
    )
    resolve_cmd.add_argument("file", type=Path)


async def _import(settings: Settings, args: argparse.Namespace) -> int:
    """The course team's yes/no file: all or nothing, every bad row named."""
    file: Path = args.file
    data = read_input(file)
    if data is None:
        return EXIT_INVALID
    content = load_content(settings.content_dir)
    async with Database.opened(settings.database) as db:
        try:
            count = await import_attendance(
                db, data, programme=content.programme, clock=clock(), actor=CLI_ACTOR
            )
        except AttendanceError as exc:
            print(f"relais: {file}: refused, nothing imported:", file=sys.stderr)
            for problem in exc.problems:
                print(f"  {problem}", file=sys.stderr)
            return EXIT_INVALID
    print(f"{file}: {count} attendance record(s) imported")
    return EXIT_OK


async def _sources(settings: Settings, args: argparse.Namespace) -> int:
    """Zoom, Moodle, the review and the roll call; 0 on success, 1 on refused input."""
    content = load_content(settings.content_dir)
    programme = content.programme
    cli_clock = clock()
    file: Path | None = getattr(args, "file", None)
    data = b""
    if file is not None:
        try:
            data = await asyncio.to_thread(file.read_bytes)
        except OSError as exc:
            print(f"relais: cannot read {file}: {exc.strerror}", file=sys.stderr)
            return EXIT_INVALID
    async with Database.opened(settings.database) as db:
        try:
            if args.attendance_command == "import-zoom":
                tz = None
                if args.timezone:
                    try:
                        tz = ZoneInfo(args.timezone)
                    except (ZoneInfoNotFoundError, ValueError):
                        return fail(f"unknown time zone {args.timezone!r}")
                done = await import_zoom(
                    db,
                    data,
                    programme=programme,
                    session_id=args.session,
                    tz=tz,
                    clock=cli_clock,
                    actor=CLI_ACTOR,
                )
                threshold = done.session.attendance.threshold
                print(
                    f"{file}: session {done.session.id}: {done.visits} row(s) read, "
                    f"{done.added} new; {len(done.shares)} participant(s) matched"
                )
                async with db.read() as conn:
                    people = {p.id: p for p in await repo.list_participants(conn)}
                for pid, share in sorted(done.shares.items(), key=lambda i: people[i[0]].code):
                    mark = "present" if share * 100 >= threshold - 1e-9 else "below"
                    who = people[pid]
                    print(f"  {who.code} {who.full_name}: {share:.1%} ({mark}, {threshold} %)")
                _print_review(done.review)
            elif args.attendance_command == "import-moodle":
                moodle = await import_moodle(
                    db, data, programme=programme, clock=cli_clock, actor=CLI_ACTOR
                )
                print(
                    f"{file}: {len(moodle.activities)} activit(y/ies), {moodle.completions} "
                    f"state(s) read, {moodle.completed} completed"
                )
                _print_review(moodle.review)
            elif args.attendance_command == "review":
                async with db.read() as conn:
                    items = await review_items(conn, where=args.session)
                if args.out is not None:
                    await asyncio.to_thread(_write_private, args.out, mapping_csv(items))
                    print(f"{args.out}: {len(items)} row(s) to resolve (private file: names)")
                _print_review(items, hint=args.out is None)
            elif args.attendance_command == "list":
                return await _list(db, programme, args.session)
            elif args.attendance_command == "resolve":
                decisions = await read_mapping(db, data)
                matched = await resolve(
                    db, decisions, programme=programme, clock=cli_clock, actor=CLI_ACTOR
                )
                print(f"{file}: {len(decisions)} decision(s) recorded, {matched} row(s) matched")
                async with db.read() as conn:
                    _print_review(await review_items(conn))
        except (AttendanceError, TableError) as exc:
            print(
                f"relais: {file or args.attendance_command}: refused, nothing recorded:",
                file=sys.stderr,
            )
            for problem in exc.problems:
                print(f"  {problem}", file=sys.stderr)
            return EXIT_INVALID
    return EXIT_OK


def _print_review(items: list[ReviewItem], *, hint: bool = True) -> None:
    if not items:
        print("nothing to review: every row is matched")
        return
    print(f"to review ({len(items)}):")
    for item in items:
        email = f" <{item.email}>" if item.email else ""
        print(
            f"  {item.source} {item.where}: {item.name}{email}: {item.reason} ({item.rows} row(s))"
        )
    if hint:
        print(RESOLVE_HELP)


def _write_private(path: Path, data: bytes) -> None:
    """Names and e-mails: readable by the owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, 0o600)


async def _list(db: Database, programme: Programme, session_id: str) -> int:
    """The terminal's /attendance: everyone of the session's cohorts, present or missing."""
    session = next((s for s in programme.all_sessions() if s.id == session_id), None)
    if session is None:
        known = ", ".join(s.id for s in programme.all_sessions())
        return fail(f"no session {session_id!r} (known: {known})")
    rows, review = await roll(db, session)
    t = Translator("en", programme.tz)
    present = sum(1 for _p, item in rows if item.attended)
    print(f"{session.id}: {present} present, {len(rows) - present} missing, of {len(rows)}")
    for participant, item in rows:
        mark = "present" if item.attended else "missing"
        print(f"  {mark:8} {participant.code} {participant.full_name}: {detail(t, item)}")
    if review:
        _print_review(review)
    return EXIT_OK
