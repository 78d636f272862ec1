"""A large database: time to ready, time to plan the schedule, resident memory."""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import (
    ANSWERS_PER_PARTICIPANT,
    CONTENT_DIR,
    ROOT,
    Outcome,
    Row,
    bulk_build,
    create_schema,
    mark,
)
from bot.content import load_content

# The disk is noisy: the figures are the median of RUNS fresh processes (memory: the largest).
RUNS = 3


def probe(*args: str) -> dict[str, Any]:
    """Run ``benchmarks.probe`` in a fresh interpreter and return its JSON."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.probe", *args],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def fresh_runs(path: Path, workdir: Path) -> list[dict[str, Any]]:
    """``RUNS`` probes, each on its own copy, since a run writes to the database."""
    runs = []
    for number in range(RUNS):
        copy = workdir / f"run-{number}.db"
        shutil.copyfile(path, copy)
        runs.append(probe("scale", str(copy)))
        for leftover in workdir.glob(f"run-{number}.db*"):
            leftover.unlink()
    return runs


async def build(path: Path, participants: int) -> tuple[int, float]:
    """A migrated database filled in bulk; the answers and the seconds it took."""
    started = time.perf_counter()
    await create_schema(path)
    answers = bulk_build(path, load_content(CONTENT_DIR), participants)
    return answers, time.perf_counter() - started


async def run(participants: int, workdir: Path) -> Outcome:
    """Build, then measure start-up, planning and memory in a fresh process."""
    path = workdir / "relais.db"
    answers, built = await build(path, participants)
    runs = fresh_runs(path, workdir)
    found = {
        **runs[0],
        "ready": statistics.median(run["ready"] for run in runs),
        "plan": statistics.median(run["plan"] for run in runs),
        "rss_mb": max(run["rss_mb"] for run in runs),
        "peak_mb": max(run["peak_mb"] for run in runs),
    }
    plans = sorted(run["plan"] for run in runs)
    size = path.stat().st_size / 2**20
    name = f"scale ({participants:,} p., {answers:,} a.)"
    rows = [
        Row(
            name,
            "start → ready",
            f"{found['ready']:.2f} s",
            "3 s",
            "≤ 3 s",
            mark(found["ready"] <= 3),
        ),
        Row(
            name,
            "schedule (plan)",
            f"{found['plan']:.2f} s",
            "1 s",
            "≤ 1 s",
            mark(found["plan"] <= 1),
        ),
        Row(
            name,
            "RSS after plan",
            f"{found['rss_mb']:.0f} MB",
            "200 MB",
            "≤ 200 MB",
            mark(found["rss_mb"] <= 200),
        ),
        Row(
            name,
            "peak RSS (ru_maxrss)",
            f"{found['peak_mb']:.0f} MB",
            "200 MB",
            "≤ 200 MB",
            mark(found["peak_mb"] <= 200),
        ),
    ]
    notes = [
        f"scale: {participants:,} bound participants × {ANSWERS_PER_PARTICIPANT} answers"
        f" (KAT pre + post, satisfaction intro), database {size:.0f} MB built with executemany"
        f" in {built:.1f} s; measured in a fresh process: imports {found['imports']:.2f} s"
        f" (not in start → ready), `plan` at {found['plan_at']} queued {found['queued']:,}"
        f" messages, recorded {found['missed']:,} (cohort, step) pairs as missed, found"
        f" {found['future']:,} future due instants; peak RSS is the whole process's."
        f" Median of {RUNS} fresh processes; plan times {', '.join(f'{x:.2f}' for x in plans)} s."
    ]
    return Outcome(rows, notes)
