"""The evaluation report at scale, against one sqlite3 scan of the answers in the same run."""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path

from benchmarks.common import ANSWERS_PER_PARTICIPANT, CONTENT_DIR, Outcome, Row, mark
from benchmarks.scale import build, probe
from bot.content import load_content
from bot.storage import Database, tally

RUNS = 3
RATIO = 3.0
MEMORY_MB = 300


async def run(participants: int, workdir: Path) -> Outcome:
    """Build, bring the summaries up to date once, then time reference and report in turn."""
    path = workdir / "relais.db"
    answers, built = await build(path, participants)
    # The bulk build writes answers without the bot's submit path: count them once, as a
    # running bot would have done submission by submission (timed, for the record).
    started = time.perf_counter()
    async with Database.opened(path) as db, db.transaction() as conn:
        await tally.ensure(conn, load_content(CONTENT_DIR))
    rebuilt = time.perf_counter() - started
    scans, reports = [], []
    for number in range(RUNS):
        scans.append(await asyncio.to_thread(probe, "scan", str(path)))
        reports.append(
            await asyncio.to_thread(probe, "report", str(path), str(workdir / f"r{number}.html"))
        )
    ratios = [r["seconds"] / s["seconds"] for r, s in zip(reports, scans, strict=True)]
    ratio = statistics.median(ratios)
    seconds = statistics.median(r["seconds"] for r in reports)
    reference = statistics.median(s["seconds"] for s in scans)
    peak = max(r["peak_mb"] for r in reports)
    name = f"report ({participants:,} p., {answers:,} a.)"
    rows = [
        Row(
            name,
            "relais report",
            f"{seconds:.2f} s",
            f"{reference:.2f} s scan",
            f"{ratio:.2f}× (≤ {RATIO:.0f}×)",
            mark(ratio <= RATIO),
        ),
        Row(
            name,
            "peak RSS",
            f"{peak:.0f} MB",
            f"{MEMORY_MB} MB",
            f"≤ {MEMORY_MB} MB",
            mark(peak <= MEMORY_MB),
        ),
    ]
    notes = [
        f"report: {participants:,} participants × {ANSWERS_PER_PARTICIPANT} answers, database"
        f" built in {built:.1f} s; the summaries counted once in {rebuilt:.1f} s (a running bot"
        f" keeps them up to date at each submission); then, {RUNS} times in turn in fresh"
        " processes, the reference (Python's sqlite3 reading every row of `answers`) and"
        " `relais report`'s work (figures, then the HTML page with its charts); ratios"
        f" {', '.join(f'{x:.2f}' for x in ratios)}; figures alone"
        f" {statistics.median(r['figures'] for r in reports):.2f} s."
    ]
    return Outcome(rows, notes)
