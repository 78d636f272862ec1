"""``relais attendance import-zoom|import-moodle|review|resolve``: attendance from its sources."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.clock import SystemClock
from bot.content import Programme, load_content
from bot.i18n import Translator
from bot.services.attendance import (
    AttendanceError,
    ReviewItem,
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

EXIT_OK, EXIT_INVALID = 0, 1
CLI_ACTOR = "cli"
RESOLVE_HELP = (
    "Nothing was guessed. To resolve them: relais attendance review --out mapping.csv, put in "
    "the participant column a code, external id or e-mail (or - to ignore a guest), then "
    "relais attendance resolve mapping.csv"
)


async def attendance_command(settings: Settings, args: argparse.Namespace) -> int:
    """Run one attendance sub-command; 0 on success, 1 on refused input."""
    content = load_content(settings.content_dir)
    programme = content.programme
    clock = SystemClock()
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
                        print(f"relais: unknown time zone {args.timezone!r}", file=sys.stderr)
                        return EXIT_INVALID
                done = await import_zoom(
                    db,
                    data,
                    programme=programme,
                    session_id=args.session,
                    tz=tz,
                    clock=clock,
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
                    db, data, programme=programme, clock=clock, actor=CLI_ACTOR
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
                    db, decisions, programme=programme, clock=clock, actor=CLI_ACTOR
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
        print(f"relais: no session {session_id!r} (known: {known})", file=sys.stderr)
        return EXIT_INVALID
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
