"""Shared pieces: result rows, the table, memory readings and a bulk-built synthetic database."""

from __future__ import annotations

import json
import random
import resource
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.content import Content
from bot.storage.repo import to_db_time

ROOT = Path(__file__).resolve().parent.parent
CONTENT_DIR = ROOT / "conversations"
# Inside the KAT pre-test window of the shipped programme (a week before the first session).
START = datetime(2027, 1, 6, 9, 0, tzinfo=UTC)
ADMIN_ID = 9_000_001
USER_BASE = 1_000_000
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
COHORTS = ("tanger", "agadir", "marrakech")
# What each synthetic participant answered: 3 submitted attempts of 10 answers each.
ANSWER_PLAN: tuple[tuple[str, str], ...] = (
    ("kat", "pre"),
    ("kat", "post"),
    ("satisfaction", "intro"),
)
ITEMS_PER_ATTEMPT = 10
ANSWERS_PER_PARTICIPANT = ITEMS_PER_ATTEMPT * len(ANSWER_PLAN)


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the results table."""

    benchmark: str
    figure: str
    relais: str
    reference: str
    target: str
    status: str  # "✓", "✗" or "—" (no target)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one benchmark produced: its rows and free-text notes."""

    rows: list[Row]
    notes: list[str]


def mark(ok: bool) -> str:
    """The status symbol for a target."""
    return "✓" if ok else "✗"


def table(rows: Sequence[Row]) -> str:
    """Fixed-width text table of the rows."""
    head = ("benchmark", "figure", "Relais", "reference", "ratio / target", "status")
    lines = [
        head,
        *((r.benchmark, r.figure, r.relais, r.reference, r.target, r.status) for r in rows),
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]

    def fmt(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([fmt(head), rule, *(fmt(line) for line in lines[1:])])


def rss_mb() -> float:
    """Current resident memory of this process (VmRSS), in MB."""
    return _status_kb("VmRSS") / 1024


def peak_rss_mb() -> float:
    """Peak resident memory of this process (ru_maxrss), in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _status_kb(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return float(line.split()[1])
    return 0.0


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank."""
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def code_of(number: int) -> str:
    """A unique participant code derived from a number, in the repository's alphabet."""
    digits = []
    for _ in range(6):
        number, rest = divmod(number, len(CODE_ALPHABET))
        digits.append(CODE_ALPHABET[rest])
    return "P-" + "".join(reversed(digits))


def _values(content: Content, instrument: str) -> list[tuple[str, list[str]]]:
    """The first items of an instrument with the JSON-encoded values they may take."""
    found = content.instrument(instrument)
    assert found is not None
    choices: list[tuple[str, list[str]]] = []
    for item in found.items[:ITEMS_PER_ATTEMPT]:
        if item.type in ("quiz", "single"):
            options = [json.dumps(o.id) for o in item.options or []]
        elif item.type == "scale":
            options = [json.dumps(v) for v in range(1, 6)]
        elif item.type == "multi":
            options = [json.dumps([o.id]) for o in item.options or []]
        else:
            options = [json.dumps(t, ensure_ascii=False) for t in ("Très utile", "Études de cas")]
        choices.append((item.id, options))
    assert len(choices) == ITEMS_PER_ATTEMPT, f"{instrument} has fewer than 10 items"
    return choices


def bulk_build(
    path: Path, content: Content, participants: int, *, answers: bool = True, seed: int = 2027
) -> int:
    """Fill a migrated database with bound participants and submitted answers; return the answers.

    Plain SQL with ``executemany`` over generators, one transaction per table.
    """
    rng = random.Random(seed)
    stamp = to_db_time(START - timedelta(days=30))
    answered = to_db_time(START - timedelta(days=1))
    submitted = to_db_time(START - timedelta(hours=23))
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    ids = range(1, participants + 1)

    def people() -> Iterator[tuple[object, ...]]:
        for i in ids:
            yield (
                i,
                code_of(i * 7919 + 13),
                f"S-{i:07d}",
                f"Synthétique {i}",
                f"s{i}@example.org",
                "female" if i % 2 else "male",
                "Agence",
                "Région",
                COHORTS[i % len(COHORTS)],
                "fr",
                stamp,
                stamp,
            )

    with _transaction(conn):
        conn.executemany(
            "INSERT INTO participants (id, code, external_id, full_name, email, gender, agency,"
            " region, cohort, language, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            people(),
        )
        conn.executemany(
            "INSERT INTO telegram_bindings (participant_id, user_id, chat_id, bound_at, reachable)"
            " VALUES (?, ?, ?, ?, 1)",
            ((i, USER_BASE + i, USER_BASE + i, stamp) for i in ids),
        )
    if not answers:
        conn.close()
        return 0
    plans = [(inst, stage, _values(content, inst)) for inst, stage in ANSWER_PLAN]

    def attempts() -> Iterator[tuple[object, ...]]:
        for i in ids:
            for k, (inst, stage, _items) in enumerate(plans):
                yield (
                    (i - 1) * len(plans) + k + 1,
                    i,
                    inst,
                    stage,
                    content.version,
                    i,
                    ITEMS_PER_ATTEMPT,
                    answered,
                    submitted,
                    submitted,
                )

    # Each answer carries its item's version and, for quiz items, whether it is right,
    # as the questionnaire engine writes them (else the first start would version them all).
    stamps: dict[tuple[str, str], tuple[str, str | None]] = {}
    for inst, instrument in content.instruments.items():
        for item in instrument.items:
            key = json.dumps(item.answer) if item.type == "quiz" else None
            stamps[(inst, item.id)] = (item.fingerprint, key)

    def rows() -> Iterator[tuple[object, ...]]:
        for i in ids:
            for k, (inst, _stage, items) in enumerate(plans):
                attempt = (i - 1) * len(plans) + k + 1
                for item, options in items:
                    value = rng.choice(options)
                    version, key = stamps[(inst, item)]
                    correct = None if key is None else int(value == key)
                    yield (attempt, item, value, answered, version, correct)

    with _transaction(conn):
        conn.executemany(
            "INSERT INTO attempts (id, participant_id, instrument, stage, number, content_version,"
            " seed, position, started_at, updated_at, submitted_at)"
            " VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?)",
            attempts(),
        )
    with _transaction(conn):
        conn.executemany(
            "INSERT INTO answers (attempt_id, item, value, answered_at, item_version, correct)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            rows(),
        )
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return participants * ANSWERS_PER_PARTICIPANT


class _transaction:
    """BEGIN ... COMMIT around a block on a connection in autocommit mode."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.conn.execute("COMMIT" if exc_type is None else "ROLLBACK")


async def create_schema(path: Path) -> None:
    """Create an empty database at ``path`` with every migration applied."""
    from bot.storage import Database

    db = await Database.open(path)
    await db.close()
