"""Run every benchmark, print one table and write ``benchmarks/RESULTS.md``."""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import tempfile
import time
import traceback
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import answer_path, broadcast, export_bench, live_class, report_bench, scale
from benchmarks.common import Outcome, Row, table

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


@dataclass(frozen=True)
class Bench:
    """One benchmark with its size in the full and the quick run."""

    key: str
    full: int
    quick: int
    run: Callable[[int, Path], Coroutine[Any, Any, Outcome]]


BENCHES = (
    Bench("answer", 200, 20, answer_path.run),
    Bench("scale", 100_000, 2_000, scale.run),
    Bench("export", 1_000_000, 20_000, export_bench.run),
    Bench("report", 100_000, 2_000, report_bench.run),
    Bench("broadcast", 10_000, 300, broadcast.run),
    # Sizes 100, 500 and 1,000 in the full run (the targets are at 500).
    Bench("live", 1_000, 20, live_class.run),
)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def report(rows: list[Row], notes: list[str], mode: str, pending: list[str], seconds: float) -> str:
    """RESULTS.md: machine, date, the table, targets met or missed, notes."""
    judged = [r for r in rows if r.status in ("✓", "✗")]
    met = [r for r in judged if r.status == "✓"]
    missed = [r for r in judged if r.status == "✗"]
    command = "python -m benchmarks --quick" if mode == "quick" else "make bench"
    lines = [
        "# Relais benchmarks",
        "",
        f"- Run: **{mode}** (`{command}`),"
        f" {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}, {seconds:.0f} s in all",
        f"- Machine: {os.cpu_count()} CPU(s), {_cpu_model()}; {platform.platform()};"
        f" Python {platform.python_version()}",
    ]
    if mode == "quick":
        lines.append(
            "- **Quick sizes**: smoke-test numbers, not the figures the targets are about."
        )
    if pending:
        lines.append(
            f"- **Not finished**: {', '.join(pending)} (the run was still going or failed)."
        )
    lines += ["", "```text", table(rows), "```", ""]
    lines.append(f"Targets met: {len(met)} of {len(judged)}.")
    lines += [f"- ✗ {r.benchmark}: {r.figure} = {r.relais} (target {r.target})" for r in missed]
    lines += ["", "## Notes", ""]
    lines += [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def main() -> None:
    """Parse the options, run the benchmarks one after another, report."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes (< 60 s), a smoke test")
    parser.add_argument(
        "--only", action="append", choices=[b.key for b in BENCHES], help="run only these"
    )
    parser.add_argument("--no-write", action="store_true", help="do not write RESULTS.md")
    args = parser.parse_args()
    mode = "quick" if args.quick else "full"
    chosen = [b for b in BENCHES if not args.only or b.key in args.only]
    rows: list[Row] = []
    notes: list[str] = []
    started = time.perf_counter()
    for index, bench in enumerate(chosen):
        size = bench.quick if args.quick else bench.full
        print(f"[{time.perf_counter() - started:6.1f} s] {bench.key} (size {size:,})…", flush=True)
        try:
            with tempfile.TemporaryDirectory(prefix=f"relais-bench-{bench.key}-") as folder:
                outcome = asyncio.run(bench.run(size, Path(folder)))
            rows += outcome.rows
            notes += outcome.notes
        except Exception as exc:
            traceback.print_exc()
            rows.append(Row(bench.key, "error", type(exc).__name__, "—", "—", "✗"))
            notes.append(f"{bench.key} failed: {exc!r}")
        if not args.no_write:
            pending = [b.key for b in chosen[index + 1 :]]
            text = report(rows, notes, mode, pending, time.perf_counter() - started)
            RESULTS.write_text(text, encoding="utf-8")
    print()
    print(table(rows))
    print()
    for note in notes:
        print(f"- {note}")
    if not args.no_write:
        print(f"\nwritten: {RESULTS}")


if __name__ == "__main__":
    main()
