"""Measurements that need a fresh process (memory): ``python -m benchmarks.probe MODE ...``.

Modes: ``scale DB`` (start-up, schedule, memory), ``export csv|xlsx DB OUT``,
``dump DB OUT`` (the sqlite3 command-line reference), ``report DB OUT`` (the evaluation
report) and ``scan DB`` (its reference). Prints one JSON object.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import asyncio  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from benchmarks.common import (  # noqa: E402
    ADMIN_ID,
    CONTENT_DIR,
    START,
    peak_rss_mb,
    rss_mb,
)
from bot.app import build_application, running, runtime_of  # noqa: E402
from bot.clock import FixedClock  # noqa: E402
from bot.content import load_content  # noqa: E402
from bot.i18n import Translator, load_catalogs  # noqa: E402
from bot.sandbox.offline import BOT_TOKEN, OfflineBotAPI  # noqa: E402
from bot.services import export  # noqa: E402
from bot.services.campaigns import plan  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.storage import Database  # noqa: E402
from bot.storage import export as export_rows  # noqa: E402

IMPORTED = time.perf_counter()

# Five minutes after the one-day reminder of the introduction (every cohort has it): the
# heaviest kind of run, a message queued for everyone, earlier steps recorded as missed.
PLAN_AT = datetime(2027, 1, 12, 9, 5, tzinfo=UTC)

# The query of ``bot.services.export.answers`` without filters: the same rows, in the same order.
EXPORT_SQL = export_rows.ANSWERS_SQL + export_rows.ANSWERS_ORDER


async def scale(path: Path) -> dict[str, Any]:
    """Start-up to ready, then one planner run, then the process's memory."""
    started = time.perf_counter()
    content = load_content(CONTENT_DIR)
    settings = Settings(database=path, content_dir=CONTENT_DIR, admin_ids=(ADMIN_ID,))
    api = OfflineBotAPI()
    app = build_application(
        settings, content, clock=FixedClock(START), request=api.request(), token=BOT_TOKEN
    )
    async with running(app):
        ready = time.perf_counter() - started
        db = runtime_of(app).db
        # As the running bot does (scheduling.start_background): checkpoints in their own job.
        await db.defer_checkpoints()
        started = time.perf_counter()
        report = await plan(
            db, content, lambda loc: Translator(loc, content.programme.tz), PLAN_AT, "fr"
        )
        planned = time.perf_counter() - started
        rss = rss_mb()
    return {
        "imports": IMPORTED - STARTED,
        "ready": ready,
        "plan": planned,
        "plan_at": PLAN_AT.strftime("%Y-%m-%dT%H:%MZ"),
        "queued": report.queued,
        "missed": len(report.missed),
        "future": len(report.due_times),
        "rss_mb": rss,
        "peak_mb": peak_rss_mb(),
    }


async def export_file(kind: str, path: Path, out: Path) -> dict[str, Any]:
    """One export, timed, with the memory it added over the process's baseline."""
    content = load_content(CONTENT_DIR)
    load_catalogs()
    t = Translator("fr", content.programme.tz)
    db = await Database.open(path)
    try:
        baseline = rss_mb()
        started = time.perf_counter()
        cpu = time.process_time()
        if kind == "csv-per-row":
            rows = await per_row_csv(db, content, out, t)
        else:
            write = export.write_csv if kind == "csv" else export.write_xlsx
            rows = await write(db, content, out, export.Filters(), t)
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu
    finally:
        await db.close()
    peak = peak_rss_mb()
    return {
        "rows": rows,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "baseline_mb": baseline,
        "peak_mb": peak,
    }


async def per_row_csv(db: Database, content: Any, out: Path, t: Translator) -> int:
    """The same CSV, each row parsed and labelled on its own (the export before issue 12)."""
    import csv

    rows = 0
    with out.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(export.LONG_COLUMNS)
        async for answer in export.answers(db, export.Filters()):
            cells = export.long_row(answer, content, t)
            for index in (2, 6, 7, 8):  # the text columns, neutralised as write_csv does
                cells[index] = export.neutralise(cells[index])
            writer.writerow(cells)
            rows += 1
    return rows


_MEASURE = (
    "import resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "with open(sys.argv[5], 'wb') as f:\n"
    "    subprocess.run(sys.argv[1:5], stdout=f, check=True)\n"
    "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def dump(path: Path, out: Path) -> dict[str, Any]:
    """The reference: the same rows dumped as CSV by the sqlite3 command-line tool."""
    tool = shutil.which("sqlite3")
    if tool is None:
        raise SystemExit("sqlite3 not found")
    # A bare interpreter starts the tool, so that its peak RSS is not this process's.
    done = subprocess.run(
        [sys.executable, "-S", "-c", _MEASURE, tool, "-csv", str(path), EXPORT_SQL, str(out)],
        check=True,
        capture_output=True,
        text=True,
    )
    seconds, peak_kb = done.stdout.split()
    with out.open("rb") as handle:
        rows = sum(1 for _ in handle)
    return {
        "rows": rows,
        "seconds": float(seconds),
        "peak_mb": int(peak_kb) / 1024,
        "size_mb": out.stat().st_size / 2**20,
    }


def dump_python(path: Path, out: Path) -> dict[str, Any]:
    """Fallback reference without the sqlite3 tool: Python's sqlite3 and csv.writer."""
    import csv
    import sqlite3

    baseline = rss_mb()
    started = time.perf_counter()
    conn = sqlite3.connect(path)
    rows = 0
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        for row in conn.execute(EXPORT_SQL):
            writer.writerow(row)
            rows += 1
    conn.close()
    seconds = time.perf_counter() - started
    return {
        "rows": rows,
        "seconds": seconds,
        "peak_mb": peak_rss_mb() - baseline,
        "size_mb": out.stat().st_size / 2**20,
    }


async def report(path: Path, out: Path) -> dict[str, Any]:
    """``relais report``'s work (figures, then the HTML page with its charts), and memory."""
    from bot.services.report import figures
    from bot.views.report import render_html

    load_catalogs()
    content = load_content(CONTENT_DIR)
    started = time.perf_counter()
    async with Database.opened(path) as db:
        found = await figures(db, content, datetime(2028, 1, 1, tzinfo=UTC), 5)
    computed = time.perf_counter() - started
    page = render_html(found, content, Translator("fr", content.programme.tz))
    await asyncio.to_thread(out.write_text, page, "utf-8")
    return {
        "seconds": time.perf_counter() - started,
        "figures": computed,
        "peak_mb": peak_rss_mb(),
        "size_mb": len(page.encode()) / 2**20,
    }


def scan(path: Path) -> dict[str, Any]:
    """The reference: one pass over every row of the answers table with Python's sqlite3."""
    import sqlite3

    started = time.perf_counter()
    conn = sqlite3.connect(path)
    rows = sum(1 for _ in conn.execute("SELECT * FROM answers"))
    conn.close()
    return {"seconds": time.perf_counter() - started, "rows": rows, "peak_mb": peak_rss_mb()}


def main(argv: list[str]) -> None:
    """Run the mode named by ``argv`` and print its JSON."""
    mode = argv[0]
    if mode == "scale":
        result = asyncio.run(scale(Path(argv[1])))
    elif mode == "export":
        result = asyncio.run(export_file(argv[1], Path(argv[2]), Path(argv[3])))
        result["size_mb"] = Path(argv[3]).stat().st_size / 2**20
    elif mode == "dump":
        result = dump(Path(argv[1]), Path(argv[2]))
    elif mode == "report":
        result = asyncio.run(report(Path(argv[1]), Path(argv[2])))
    elif mode == "scan":
        result = scan(Path(argv[1]))
    elif mode == "dump-python":
        result = dump_python(Path(argv[1]), Path(argv[2]))
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
