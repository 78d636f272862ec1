"""``relais export`` and ``report``: the responses, pseudonymous, and the aggregate report."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from bot.cli.common import CLI_ACTOR, EXIT_OK, Subparsers, clock, command, day, fail
from bot.content import Content, load_content
from bot.i18n import LOCALES, Translator, load_catalogs
from bot.services import exporting
from bot.services.export import Filters
from bot.settings import Settings
from bot.storage import Database


def register(sub: Subparsers[argparse.ArgumentParser]) -> None:
    """Add ``export`` and ``report``."""
    export = command(
        sub,
        "export",
        _export,
        "export the responses (pseudonymous CSV or XLSX), or the grades for Moodle",
    )
    export.add_argument(
        "--format",
        choices=["csv", "xlsx", "moodle"],
        default="xlsx",
        help="moodle: KAT percentages and certificates by e-mail for Moodle's CSV grade"
        " import (identities: owner-only file, audited)",
    )
    export.add_argument("--out", type=Path, help="file to write (default: relais-export.FORMAT)")
    export.add_argument("--instrument", help="only this questionnaire (its id, e.g. kat)")
    export.add_argument("--cohort", help="only this cohort")
    export.add_argument("--since", help="answers from this date (YYYY-MM-DD)")
    export.add_argument("--until", help="answers before this date (YYYY-MM-DD)")
    export.add_argument(
        "--locale",
        choices=LOCALES,
        default=None,
        help="language of the labels (default: the default locale, RELAIS_DEFAULT_LOCALE)",
    )
    export.add_argument(
        "--with-identities",
        type=Path,
        metavar="FILE",
        help="also write codes with names and e-mails (coordinators only; audited)",
    )

    report = command(sub, "report", _report, "write the evaluation report (HTML, and PNG charts)")
    report.add_argument("--out", type=Path, default=Path("relais-report.html"))
    report.add_argument("--charts", type=Path, metavar="DIR", help="also write the charts as PNG")
    report.add_argument(
        "--locale",
        choices=LOCALES,
        default=None,
        help="language of the report (default: the default locale, RELAIS_DEFAULT_LOCALE)",
    )
    report.add_argument(
        "--without-open-answers",
        action="store_true",
        help="leave the typed answers out (the version for the employer)",
    )


async def _export(settings: Settings, args: argparse.Namespace) -> int:
    load_catalogs()
    content = load_content(settings.content_dir)
    if args.cohort and args.cohort not in content.programme.cohort_ids:
        return fail(f"unknown cohort {args.cohort!r}")
    if args.instrument and args.instrument not in content.all_instruments:
        known = ", ".join(content.all_instruments)
        return fail(f"unknown questionnaire {args.instrument!r} (known: {known})")
    filters = Filters(
        args.instrument, args.cohort, day(args.since, "since"), day(args.until, "until")
    )
    t = Translator(args.locale or settings.default_locale, content.programme.tz)
    if args.format == "moodle":
        if args.instrument or args.since or args.until or args.with_identities:
            return fail(
                "--format moodle takes no --instrument, --since, --until or"
                " --with-identities (it holds the KAT and the certificates as they stand,"
                " by e-mail)"
            )
        return await _export_moodle(settings, content, args, t)
    out = args.out or Path(f"relais-export.{args.format}")
    now = clock().now()
    async with Database.opened(settings.database) as db:
        count = await exporting.responses(
            db, content, out, args.format, filters, t, actor=CLI_ACTOR, now=now
        )
        print(f"{out}: {count} answer(s), participants as codes")
        if args.with_identities:
            people = await exporting.identities(db, args.with_identities, actor=CLI_ACTOR, now=now)
            print(f"{args.with_identities}: identities of {people} participant(s); keep it private")
    return EXIT_OK


async def _export_moodle(
    settings: Settings, content: Content, args: argparse.Namespace, t: Translator
) -> int:
    """The grades file for Moodle: it names people, so it is written for its owner only."""
    out = args.out or Path("relais-moodle-grades.csv")
    async with Database.opened(settings.database) as db:
        written = await exporting.moodle_grades(
            db, content, out, t, args.cohort, actor=CLI_ACTOR, now=clock().now()
        )
    print(f"{out}: grades of {written.rows} participant(s) for Moodle; keep it private")
    if written.without_email:
        print(f"{written.without_email} participant(s) without an e-mail left out")
    return EXIT_OK


async def _report(settings: Settings, args: argparse.Namespace) -> int:
    from bot.services.report import figures
    from bot.views.report import draw_charts, render_html

    load_catalogs()
    content = load_content(settings.content_dir)
    t = Translator(args.locale or settings.default_locale, content.programme.tz)
    async with Database.opened(settings.database) as db:
        found = await figures(
            db,
            content,
            clock().now(),
            settings.report_min_cell,
            open_answers=not args.without_open_answers,
        )
        # Drawn once when they are also written as files: drawing is most of the time.
        drawn = draw_charts(found, content, t) if args.charts else None
        page = render_html(found, content, t, drawn)
        await asyncio.to_thread(args.out.write_text, page, "utf-8")
        print(
            f"{args.out}: evaluation report (every figure stands on at least {found.k} people"
            + ("; typed answers left out)" if args.without_open_answers else ")")
        )
        if args.charts:
            await asyncio.to_thread(args.charts.mkdir, parents=True, exist_ok=True)
            for chart in drawn or ():
                await asyncio.to_thread((args.charts / chart.name).write_bytes, chart.png)
            print(f"{args.charts}: charts as PNG")
    return EXIT_OK
