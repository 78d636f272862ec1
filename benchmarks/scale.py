"""A large database: time to ready, time to plan the schedule, resident memory."""

from __future__ import annotations

import json
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
    found = probe("scale", str(path))
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
        f" (not in start → ready), `plan` at 2027-01-06T09:00Z queued {found['queued']:,},"
        f" skipped {found['skipped']:,}, {found['future']:,} future due instants."
    ]
    return Outcome(rows, notes)
