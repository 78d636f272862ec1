"""Pseudonymous exports of the responses: a long CSV, and an XLSX workbook with a codebook.

Participants appear only as their stable code, with cohort and gender. Names,
e-mails and Telegram ids go in a separate identities file, for coordinators only.
Rows are streamed from SQLite to the file (openpyxl's write-only mode for XLSX),
so memory does not grow with the number of answers.
"""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from bot.content import Content
from bot.content.instruments import Item
from bot.i18n import Translator
from bot.services.versions import Catalog, catalog, seen_item
from bot.storage import Database, repo
from bot.storage.repo import from_db_time

LONG_COLUMNS = (
    "participant",
    "cohort",
    "gender",
    "instrument",
    "stage",
    "item",
    "item_text",
    "value",
    "value_label",
    "answered_at_local",
    "answered_at_utc",
)


@dataclass(frozen=True, slots=True)
class Filters:
    """What to export: one instrument, one cohort, answers within dates (all when None)."""

    instrument: str | None = None
    cohort: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """One answer of a submitted attempt, as exported."""

    participant: str
    cohort: str
    gender: str
    instrument: str
    stage: str
    item: str
    value: Any
    answered_at: datetime
    attempt: int
    # The version of the item the person answered (None: unknown, given before versions).
    item_version: str | None = None


# Every answer of the latest submitted attempt per participant and stage; filters are
# appended as AND clauses, then ANSWERS_ORDER.
ANSWERS_SQL = (
    "SELECT p.code, p.cohort, p.gender, a.instrument, a.stage, a.id AS attempt,"
    " x.item, x.value, x.answered_at, x.item_version FROM answers x"
    " JOIN attempts a ON a.id = x.attempt_id JOIN participants p ON p.id = a.participant_id"
    " WHERE a.submitted_at IS NOT NULL AND a.number = (SELECT MAX(number) FROM attempts b"
    " WHERE b.participant_id = a.participant_id AND b.instrument = a.instrument"
    " AND b.stage = a.stage AND b.submitted_at IS NOT NULL)"
)
ANSWERS_ORDER = " ORDER BY a.instrument, p.code, a.stage, a.id"


async def answers(db: Database, filters: Filters) -> AsyncIterator[Answer]:
    """Every answer of the latest submitted attempt per participant and stage, in order."""
    sql = ANSWERS_SQL
    params: list[Any] = []
    if filters.instrument:
        sql += " AND a.instrument = ?"
        params.append(filters.instrument)
    if filters.cohort:
        sql += " AND p.cohort = ?"
        params.append(filters.cohort)
    if filters.since:
        sql += " AND x.answered_at >= ?"
        params.append(repo.to_db_time(filters.since))
    if filters.until:
        sql += " AND x.answered_at < ?"
        params.append(repo.to_db_time(filters.until))
    sql += ANSWERS_ORDER
    async with db.read() as conn, conn.execute(sql, params) as cursor:
        # A trip to the database thread per 64 rows (aiosqlite's default) adds up over a
        # million answers; 2,000 rows at a time stay small in memory.
        cursor.iter_chunk_size = 2000
        async for row in cursor:
            yield Answer(
                participant=row["code"],
                cohort=row["cohort"],
                gender=row["gender"] or "",
                instrument=row["instrument"],
                stage=row["stage"],
                item=row["item"],
                value=json.loads(row["value"]),
                answered_at=from_db_time(row["answered_at"]),
                attempt=row["attempt"],
                item_version=row["item_version"],
            )


def value_code(value: Any) -> str:
    """The stored answer as codes: option ids joined by ';', numbers, text."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return str(value)


def value_label(item: Item | None, value: Any, t: Translator) -> str:
    """The answer in words, in the requester's language."""
    if value is None:
        return t.gettext("(skipped)")
    if item is None or item.type in ("text", "scale"):
        return str(value)
    ids = value if isinstance(value, list) else [value]
    return "; ".join(o.text.get(t.locale) for i in ids if (o := item.option(str(i))) is not None)


def long_row(
    answer: Answer, content: Content, t: Translator, seen: Catalog | None = None
) -> list[str]:
    """One line of the long table, in the wording of the version the person answered."""
    if seen is not None:
        item = seen_item(seen, content, answer.instrument, answer.item, answer.item_version)
    else:
        instrument = content.instrument(answer.instrument)
        item = instrument.item(answer.item) if instrument else None
    local = answer.answered_at.astimezone(content.programme.tz)
    return [
        answer.participant,
        answer.cohort,
        answer.gender,
        answer.instrument,
        answer.stage,
        answer.item,
        item.text.get(t.locale) if item else "",
        value_code(answer.value),
        value_label(item, answer.value, t),
        local.strftime("%Y-%m-%d %H:%M"),
        answer.answered_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    ]


async def write_csv(
    db: Database, content: Content, path: Path, filters: Filters, t: Translator
) -> int:
    """The long table as CSV, UTF-8 with BOM and ';' so that Excel in French opens it right."""
    count = 0
    seen = await catalog(db)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(LONG_COLUMNS)
        async for answer in answers(db, filters):
            writer.writerow(long_row(answer, content, t, seen))
            count += 1
    return count


def _header(sheet: Any, values: list[str]) -> None:
    cells = []
    for value in values:
        cell = WriteOnlyCell(sheet, value=value)
        cell.font = Font(bold=True)
        cells.append(cell)
    sheet.append(cells)


def _cell_value(item: Item | None, value: Any, t: Translator) -> Any:
    """What a wide sheet shows: numbers for scales, words for choices, the text for texts."""
    if value is None:
        return ""
    if item is not None and item.type == "scale":
        return int(value)
    return value_label(item, value, t)


async def write_xlsx(
    db: Database, content: Content, path: Path, filters: Filters, t: Translator
) -> int:
    """One wide sheet per instrument, the long sheet, and the codebook; returns the answers."""
    book = Workbook(write_only=True)
    kinds = [k for k in content.instruments if filters.instrument in (None, k)]
    for kind in kinds:
        instrument = content.instruments[kind]
        sheet = book.create_sheet(title=kind)
        items = instrument.items
        _header(
            sheet,
            # Fixed column names, the same as the long table's, for scripts (R, SPSS...).
            ["participant", "cohort", "gender", "stage"]
            + [f"{i.id} · {i.text.get(t.locale)}"[:120] for i in items],
        )
        row: dict[str, Any] | None = None
        key: tuple[str, str] | None = None
        async for answer in answers(
            db, Filters(kind, filters.cohort, filters.since, filters.until)
        ):
            if (answer.participant, answer.stage) != key:
                if row is not None:
                    sheet.append(_wide(row, items, t))
                key = (answer.participant, answer.stage)
                row = {
                    "_": [answer.participant, answer.cohort, answer.gender, answer.stage],
                }
            assert row is not None
            row[answer.item] = answer.value
        if row is not None:
            sheet.append(_wide(row, items, t))
    long_sheet = book.create_sheet(title="answers")
    _header(long_sheet, list(LONG_COLUMNS))
    count = 0
    seen = await catalog(db)
    async for answer in answers(db, filters):
        long_sheet.append(long_row(answer, content, t, seen))
        count += 1
    codebook = book.create_sheet(title="codebook")
    _header(
        codebook,
        ["instrument", "item", "type", "optional", "item_text", "code", "label"],
    )
    for kind in kinds:
        for item in content.instruments[kind].items:
            base = [
                kind,
                item.id,
                item.type,
                "yes" if item.optional else "",
                item.text.get(t.locale),
            ]
            if item.options:
                for option in item.options:
                    codebook.append([*base, option.id, option.text.get(t.locale)])
            elif item.type == "scale" and item.labels is not None:
                codebook.append([*base, "1", item.labels.low.get(t.locale)])
                codebook.append([*base, "5", item.labels.high.get(t.locale)])
            else:
                codebook.append([*base, "", ""])
    book.save(path)
    return count


def _wide(row: dict[str, Any], items: list[Item], t: Translator) -> list[Any]:
    return [*row["_"], *(_cell_value(i, row.get(i.id), t) if i.id in row else "" for i in items)]


async def write_identities(db: Database, path: Path) -> int:
    """Codes with names, e-mails and Telegram ids: for coordinators, never for evaluators."""
    async with db.read() as conn:
        people = await repo.list_participants(conn)
        bound = {p.id: b for p, b in await repo.bound_participants(conn)}
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(["participant", "full_name", "email", "cohort", "telegram_user_id"])
        for person in people:
            binding = bound.get(person.id)
            writer.writerow(
                [
                    person.code,
                    person.full_name,
                    person.email or "",
                    person.cohort,
                    binding.user_id if binding else "",
                ]
            )
    return len(people)


async def record(
    db: Database, *, actor: str, action: str, details: dict[str, Any], now: datetime
) -> None:
    """Every export is in the audit log: who took what."""
    async with db.transaction() as conn:
        await repo.audit(conn, actor=actor, action=action, target=None, details=details, now=now)
