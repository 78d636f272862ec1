"""Exports of every answer to CSV and XLSX versus the sqlite3 command-line tool's CSV dump."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from benchmarks.common import ANSWERS_PER_PARTICIPANT, Outcome, Row
from benchmarks.scale import build, probe


async def run(answers: int, workdir: Path) -> Outcome:
    """Build a database of about ``answers`` answers, export it both ways, dump it as reference."""
    path = workdir / "relais.db"
    participants = -(-answers // ANSWERS_PER_PARTICIPANT)
    total, built = await build(path, participants)
    if shutil.which("sqlite3"):
        ref = probe("dump", str(path), str(workdir / "dump.csv"))
        ref_name = "sqlite3 -csv"
    else:
        ref = probe("dump-python", str(path), str(workdir / "dump.csv"))
        ref_name = "Python sqlite3 + csv.writer (no sqlite3 tool)"
    ref_rate = ref["rows"] / ref["seconds"]
    name = f"export ({total:,} answers)"
    rows: list[Row] = []
    notes = []
    # The CSV as it was built before issue 12 (labels and times worked out on every row),
    # on the same database in the same run: the gain of the cached path as a ratio.
    per_row = probe("export", "csv-per-row", str(path), str(workdir / "per-row.csv"))
    assert per_row["rows"] == total, f"per-row: {per_row['rows']} rows, expected {total}"
    for kind in ("csv", "xlsx"):
        started = time.perf_counter()
        found = probe("export", kind, str(path), str(workdir / f"export.{kind}"))
        assert found["rows"] == total, f"{kind}: {found['rows']} rows, expected {total}"
        wall = time.perf_counter() - started
        rate = found["rows"] / found["seconds"]
        delta = found["peak_mb"] - found["baseline_mb"]
        if kind == "csv":
            same = (workdir / "per-row.csv").read_bytes() == (workdir / "export.csv").read_bytes()
            assert same, "the cached CSV differs from the per-row one"
            rows.append(
                Row(
                    name,
                    "CSV vs per-row labels",
                    f"{found['seconds']:.1f} s",
                    f"{per_row['seconds']:.1f} s",
                    f"{per_row['seconds'] / found['seconds']:.2f}× faster",
                    "—",
                )
            )
            notes.append(
                f"export csv vs per-row: wall {per_row['seconds']:.1f} s -> {found['seconds']:.1f}"
                f" s, CPU {per_row['cpu_seconds']:.1f} s -> {found['cpu_seconds']:.1f} s"
                f" ({per_row['cpu_seconds'] / found['cpu_seconds']:.2f}×); same bytes."
            )
        rows.append(
            Row(
                name,
                f"{kind.upper()} rows/s",
                f"{rate:,.0f}",
                f"{ref_rate:,.0f}",
                f"{rate / ref_rate:.3f}×",
                "—",
            )
        )
        rows.append(
            Row(
                name,
                f"{kind.upper()} peak memory Δ",
                f"{delta:.0f} MB",
                f"{ref['peak_mb']:.0f} MB",
                f"{delta / max(ref['peak_mb'], 1):.2f}×",
                "—",
            )
        )
        notes.append(
            f"export {kind}: {found['seconds']:.1f} s ({wall:.1f} s with interpreter start),"
            f" file {found['size_mb']:.0f} MB, process RSS {found['baseline_mb']:.0f} MB before,"
            f" {found['peak_mb']:.0f} MB peak."
        )
    notes.insert(
        0,
        f"export: database built in {built:.1f} s; reference = {ref_name} over the export's own"
        f" query (same rows, same order) in {ref['seconds']:.1f} s, {ref['size_mb']:.0f} MB;"
        " reference memory = peak RSS of the sqlite3 process; Relais memory = peak RSS minus"
        " RSS before the export, in a fresh process; no targets were set for exports.",
    )
    return Outcome(rows, notes)
