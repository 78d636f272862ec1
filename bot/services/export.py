"""Pseudonymous exports of the responses: a long CSV, and an XLSX workbook with a codebook.

Participants appear only as their stable code, with cohort and gender. Names,
e-mails and Telegram ids go in a separate identities file, for coordinators only.
Rows are streamed from SQLite to the file (openpyxl's write-only mode for XLSX),
so memory does not grow with the number of answers.

The supervisors' answers are apart: one sheet per supervisors' instrument (a file of its
own in CSV), keyed only by the pseudonym of each pair of supervisor and supervisee, drawn
at random, ordered by it, with the submission date and nothing else about anyone: no
participant code, cohort or gender, no supervisor's name or e-mail, so that no row can be
linked to the participants' sheets.

Participants' typed text is data, never a formula: a cell that a spreadsheet would read
as one (``=``, ``+``, ``-``, ``@``, tab, carriage return first) gets a leading apostrophe
in CSV and is a string-typed cell in XLSX; characters that XLSX cannot hold are replaced.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import aiosqlite

from bot.content import Content
from bot.content.instruments import Instrument, Item, LoopItem
from bot.i18n import Translator
from bot.services.certificates import certificate_statuses
from bot.services.scores import is_correct, score
from bot.services.versions import Catalog, catalog, seen_item
from bot.storage import Database, repo, supervisor_results
from bot.storage import answers as store
from bot.storage import export as export_rows
from bot.storage.export import Filters as Filters  # re-exported: what callers filter on
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
# What makes Excel, LibreOffice or Google Sheets read a cell as a formula (OWASP's list).
FORMULA_START = frozenset("=+-@\t\r")

MOODLE_COLUMNS = ("email", "idnumber", "fullname", "kat_pre", "kat_post", "certificate")
# Moodle's grade import reads "-" (and an empty cell) as "no grade".
MOODLE_NO_GRADE = "-"

if TYPE_CHECKING:
    # openpyxl pulls numpy in (a quarter of a second): every ``relais`` command and the bot
    # would pay it at start-up; only an XLSX export needs it, and imports it then.
    from openpyxl import Workbook


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
    # Quiz items: right under the key of that version (or a declared correction of it).
    correct: bool | None = None


async def _rows(db: Database, filters: Filters) -> AsyncIterator[aiosqlite.Row]:
    """The exported rows with the filters, as SQLite gives them."""
    async with db.read() as conn:
        async for row in export_rows.answer_rows(conn, filters):
            yield row


async def answers(db: Database, filters: Filters) -> AsyncIterator[Answer]:
    """Every answer of the latest submitted attempt per participant and stage, in order."""
    async for row in _rows(db, filters):
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
            correct=None if row["correct"] is None else bool(row["correct"]),
        )


def neutralise(text: str) -> str:
    """CSV: a leading apostrophe on text that a spreadsheet would run as a formula."""
    return "'" + text if text and text[0] in FORMULA_START else text


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


def item_version(item: Item) -> str:
    """The version of the item loaded now (answers store the version they answered:
    ``answers.item_version``, the same fingerprint)."""
    return item.fingerprint


@dataclass(slots=True)
class _ItemText:
    """An item's words in one language, looked up once per export instead of once per row."""

    item: Item | None
    text: str
    options: dict[str, str] = field(default_factory=dict)


class _LongRows:
    """Turns database rows into lines of the long table, caching labels and times.

    A million answers repeat a few hundred distinct (item, value) pairs and minutes: each is
    decoded, labelled and formatted once. ``safe`` neutralises formulas (for CSV).
    """

    def __init__(
        self, content: Content, t: Translator, seen: Catalog | None, *, safe: bool
    ) -> None:
        self.content = content
        self.seen = seen
        self.locale = t.locale
        self.tz = content.programme.tz
        self.clean = neutralise if safe else _same
        self.skipped = t.gettext("(skipped)")
        # (instrument, item, version) -> the words of the version the person answered.
        self.items: dict[tuple[str, str, str | None], _ItemText] = {}
        self.values: dict[tuple[str, str, str | None, str], tuple[str, str]] = {}
        self.local: dict[str, str] = {}
        self.genders: dict[str, str] = {}

    def item(self, instrument: str, item_id: str, version: str | None = None) -> _ItemText:
        key = (instrument, item_id, version)
        found = self.items.get(key)
        if found is None:
            if self.seen is not None:
                item = seen_item(self.seen, self.content, instrument, item_id, version)
            else:
                loaded = self.content.instrument(instrument)
                item = loaded.item(item_id) if loaded is not None else None
            if item is None:  # an answer to an item since removed from the content
                found = _ItemText(None, "")
            else:
                options = {o.id: o.text.get(self.locale) for o in item.options or []}
                found = _ItemText(item, self.clean(item.text.get(self.locale)), options)
            self.items[key] = found
        return found

    def label(self, info: _ItemText, value: Any) -> str:
        if value is None:
            return self.skipped
        item = info.item
        if item is None or item.type in ("text", "scale"):
            return str(value)
        ids = value if isinstance(value, list) else [value]
        return "; ".join(label for i in ids if (label := info.options.get(str(i))) is not None)

    def value(
        self, instrument: str, item_id: str, version: str | None, stored: str
    ) -> tuple[str, str]:
        """The code and the label of a stored answer (JSON)."""
        key = (instrument, item_id, version, stored)
        found = self.values.get(key)
        if found is None:
            info = self.item(instrument, item_id, version)
            value = json.loads(stored)
            found = (self.clean(value_code(value)), self.clean(self.label(info, value)))
            # Typed texts are all different: keep only the answers that recur.
            if info.item is not None and info.item.type != "text":
                self.values[key] = found
        return found

    def times(self, stored: str) -> tuple[str, str]:
        # Stored by repo.to_db_time: "YYYY-MM-DDTHH:MM:SS+00:00".
        if len(stored) == 25 and stored.endswith("+00:00"):
            utc = stored[:19] + "Z"
            minute = stored[:16]
        else:
            moment = from_db_time(stored)
            utc = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
            minute = moment.strftime("%Y-%m-%dT%H:%M")
        local = self.local.get(minute)
        if local is None:
            if len(self.local) > 100_000:
                self.local.clear()
            moment = datetime.fromisoformat(minute).replace(tzinfo=UTC)
            local = self.local[minute] = moment.astimezone(self.tz).strftime("%Y-%m-%d %H:%M")
        return local, utc

    def line(self, row: aiosqlite.Row) -> list[str]:
        """One line of the long table."""
        # By position, in bot.storage.export.ANSWERS_SQL's order: code, cohort, gender,
        # instrument, stage, attempt, item, value, answered_at, item_version, correct.
        code, cohort, gender, instrument, stage, _, item_id, stored, answered_at, version, _ = row
        gender = gender or ""
        shown = self.genders.get(gender)
        if shown is None:
            shown = self.genders[gender] = self.clean(gender)
        value, label = self.value(instrument, item_id, version, stored)
        local, utc = self.times(answered_at)
        return [
            code,
            cohort,
            shown,
            instrument,
            stage,
            item_id,
            self.item(instrument, item_id, version).text,
            value,
            label,
            local,
            utc,
        ]


def _same(text: str) -> str:
    return text


def long_row(
    answer: Answer, content: Content, t: Translator, seen: Catalog | None = None
) -> list[str]:
    """One line of the long table, in the wording of the version the person answered (the
    reference the fast path in ``_LongRows`` matches)."""
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
    line = _LongRows(content, t, await catalog(db), safe=True).line
    # The BOM by hand, then plain UTF-8: the utf-8-sig codec costs a check on every write.
    with path.open("w", encoding="utf-8", newline="", buffering=1 << 20) as handle:
        handle.write("\ufeff")
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(LONG_COLUMNS)
        async for row in _rows(db, filters):
            writer.writerow(line(row))
            count += 1
    return count


# --- XLSX -------------------------------------------------------------------------------

# Column widths in characters, by column name or kind: enough for the usual content, and
# long texts stop at a width that still leaves the next column on screen.
_WIDTHS = {
    "participant": 11,
    "cohort": 12,
    "gender": 9,
    "instrument": 13,
    "stage": 12,
    "item": 8,
    "item_text": 50,
    "value": 16,
    "value_label": 36,
    "answered_at_local": 17,
    "answered_at_utc": 21,
    "type": 8,
    "optional": 9,
    "code": 8,
    "label": 40,
    "answer": 8,
    "correct": 8,
    "item_version": 12,
    "max_score": 10,
    "pseudonym": 12,
    "submitted_on": 12,
}
_ITEM_WIDTHS = {"scale": 14, "quiz": 28, "single": 28, "multi": 36, "text": 50}


class _Sheet:
    """A write-only sheet a person can read: bold frozen header, filter, widths, direction."""

    def __init__(
        self,
        book: Workbook,
        title: str,
        header: Sequence[str],
        widths: Sequence[float],
        *,
        rtl: bool,
        frozen_columns: int = 0,
    ) -> None:
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
        from openpyxl.styles import Alignment, Font
        from openpyxl.utils import get_column_letter

        self.sheet = book.create_sheet(title=title)
        # Widths, panes and direction go before the first row: write-only mode writes the
        # sheet's head with it.
        for index, width in enumerate(widths, start=1):
            self.sheet.column_dimensions[get_column_letter(index)].width = width
        self.sheet.freeze_panes = f"{get_column_letter(frozen_columns + 1)}2"
        self.sheet.sheet_view.rightToLeft = rtl
        self.columns = len(header)
        self.rows = 0
        cells = []
        for value in header:
            cell = WriteOnlyCell(self.sheet, value=ILLEGAL_CHARACTERS_RE.sub("\ufffd", value))
            cell.data_type = "s"  # a header is text, whatever it starts with
            cell.font = Font(bold=True)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            cells.append(cell)
        self.sheet.append(cells)
        self._cell, self._illegal = WriteOnlyCell, ILLEGAL_CHARACTERS_RE

    def append(self, values: Sequence[Any]) -> None:
        self.sheet.append([self._value(v) for v in values])
        self.rows += 1

    def _value(self, value: Any) -> Any:
        """What openpyxl may write: text never becomes a formula, nor an unreadable file."""
        if not isinstance(value, str):
            return value
        if self._illegal.search(value):
            # XML 1.0 cannot hold most control characters (openpyxl would stop mid-file);
            # the CSV keeps the exact text.
            value = self._illegal.sub("\ufffd", value)
        if value.startswith("="):
            # openpyxl stores any text starting with "=" as a formula: force a string cell.
            cell = self._cell(self.sheet, value=value)
            cell.data_type = "s"
            return cell
        return value

    def close(self) -> None:
        """The filter covers the header and every row written."""
        from openpyxl.utils import get_column_letter

        last = get_column_letter(max(self.columns, 1))
        self.sheet.auto_filter.ref = f"A1:{last}{self.rows + 1}"


def _widths(names: Sequence[str]) -> list[float]:
    return [_WIDTHS.get(name, min(max(len(name) + 2, 10), 40)) for name in names]


def _cell_value(item: Item | None, value: Any, t: Translator) -> Any:
    """What a wide sheet shows: numbers for scales, words for choices, the text for texts."""
    if value is None:
        return ""
    if item is not None and item.type == "scale":
        return int(value)
    return value_label(item, value, t)


def _scored(instrument: Instrument) -> bool:
    return instrument.scored


async def _wide_sheet(
    book: Workbook,
    db: Database,
    instrument: Instrument,
    filters: Filters,
    t: Translator,
    rtl: bool,
) -> None:
    """One row per participant and stage, one readable column per item."""
    items = instrument.items
    # Fixed column names, the same as the long table's, for scripts (R, SPSS...).
    names = ["participant", "cohort", "gender", "stage"]
    header = names + [f"{i.id} · {i.text.get(t.locale)}"[:120] for i in items]
    widths = _widths(names) + [_ITEM_WIDTHS[i.type] for i in items]
    sheet = _Sheet(book, instrument.id, header, widths, rtl=rtl, frozen_columns=1)
    row: dict[str, Any] | None = None
    key: tuple[str, str] | None = None
    async for answer in answers(
        db, Filters(instrument.id, filters.cohort, filters.since, filters.until)
    ):
        if (answer.participant, answer.stage) != key:
            if row is not None:
                sheet.append(_wide(row, items, t))
            key = (answer.participant, answer.stage)
            row = {"_": [answer.participant, answer.cohort, answer.gender, answer.stage]}
        assert row is not None
        row[answer.item] = answer.value
    if row is not None:
        sheet.append(_wide(row, items, t))
    sheet.close()


def _wide(row: dict[str, Any], items: list[Item], t: Translator) -> list[Any]:
    return [*row["_"], *(_cell_value(i, row.get(i.id), t) if i.id in row else "" for i in items)]


def scored_columns(instrument: Instrument) -> list[str]:
    """The scorable sheet's columns: scores per stage, then each item's answer and mark."""
    stages = [s.id for s in instrument.stages]
    names = ["participant", "cohort", "gender", "max_score"]
    names += [f"{stage}_score" for stage in stages]
    for item in instrument.items:
        for stage in stages:
            names += [f"{item.id}_{stage}", f"{item.id}_{stage}_correct"]
    return names


async def _scored_sheet(
    book: Workbook,
    db: Database,
    instrument: Instrument,
    filters: Filters,
    t: Translator,
    rtl: bool,
) -> None:
    """One row per participant, stages side by side: scores, each answer, right (1) or not (0)."""
    names = scored_columns(instrument)
    stages = [s.id for s in instrument.stages]
    widths = _widths(names[: 4 + len(stages)])
    for item in instrument.items:
        widths += [_ITEM_WIDTHS[item.type], 9] * len(stages)
    sheet = _Sheet(book, instrument.id, names, widths, rtl=rtl, frozen_columns=1)

    def line(person: list[str], given: dict[str, dict[str, Answer]]) -> list[Any]:
        cells: list[Any] = [*person, instrument.max_score]
        # Empty cells (None) where a stage was not taken: a spreadsheet's mean skips them.
        # Right or wrong as stored: under the key of the version each person answered.
        cells += [
            sum(1 for a in given[s].values() if a.correct) if s in given else None for s in stages
        ]
        for item in instrument.items:
            for stage in stages:
                if stage not in given or item.id not in given[stage]:
                    cells += [None, None]
                    continue
                found = given[stage][item.id]
                right = found.correct
                cells += [
                    _cell_value(item, found.value, t),
                    None if right is None else int(right),
                ]
        return cells

    person: list[str] | None = None
    given: dict[str, dict[str, Answer]] = {}
    async for answer in answers(
        db, Filters(instrument.id, filters.cohort, filters.since, filters.until)
    ):
        if person is None or answer.participant != person[0]:
            if person is not None:
                sheet.append(line(person, given))
            person = [answer.participant, answer.cohort, answer.gender]
            given = {}
        given.setdefault(answer.stage, {})[answer.item] = answer
    if person is not None:
        sheet.append(line(person, given))
    sheet.close()


# --- The supervisors' answers -----------------------------------------------------------

# Nothing but the pair's pseudonym identifies a row, and the date alone (not the time) says
# when: a time to the minute could be matched with a participant's own activity.
SUPERVISOR_KEY = ("pseudonym", "instrument", "stage", "submitted_on")
SUPERVISOR_LONG_COLUMNS = (*SUPERVISOR_KEY, "item", "item_text", "value", "value_label")


def supervisors_included(content: Content, filters: Filters) -> list[Instrument]:
    """The supervisors' instruments an export holds with these filters.

    None with a cohort filter: exporting the supervisors' answers one cohort at a time
    would put back the supervisee's cohort that the table leaves out.
    """
    if filters.cohort is not None:
        return []
    return [
        i for i in content.supervisor_instruments.values() if filters.instrument in (None, i.id)
    ]


async def _supervisor_answers(
    db: Database, instrument: Instrument, filters: Filters
) -> AsyncIterator[supervisor_results.ExportedAnswer]:
    async with db.read() as conn:
        async for found in supervisor_results.export_answers(
            conn, instrument.id, filters.since, filters.until
        ):
            yield found


def _submitted_on(content: Content, moment: datetime) -> str:
    return moment.astimezone(content.programme.tz).date().isoformat()


async def write_supervisors_csv(
    db: Database, content: Content, path: Path, filters: Filters, t: Translator
) -> int:
    """The supervisors' answers of the instruments the filters name, as a long CSV keyed by
    the pairs' pseudonyms (the participants' CSV never holds them); the number of answers."""
    count = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("\ufeff")
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(SUPERVISOR_LONG_COLUMNS)
        for instrument in supervisors_included(content, filters):
            async for found in _supervisor_answers(db, instrument, filters):
                item = instrument.item(found.item)
                writer.writerow(
                    [
                        found.pseudonym,
                        found.instrument,
                        found.stage,
                        _submitted_on(content, found.submitted_at),
                        found.item,
                        neutralise(item.text.get(t.locale) if item else ""),
                        neutralise(value_code(found.value)),
                        neutralise(value_label(item, found.value, t)),
                    ]
                )
                count += 1
    return count


async def _supervisor_sheet(
    book: Workbook,
    db: Database,
    content: Content,
    instrument: Instrument,
    filters: Filters,
    t: Translator,
    rtl: bool,
) -> int:
    """One row per pseudonym and stage, one readable column per item; the answers written."""
    items = instrument.items
    names = list(SUPERVISOR_KEY)
    header = names + [f"{i.id} · {i.text.get(t.locale)}"[:120] for i in items]
    widths = _widths(names) + [_ITEM_WIDTHS[i.type] for i in items]
    sheet = _Sheet(book, instrument.id, header, widths, rtl=rtl, frozen_columns=1)
    row: dict[str, Any] | None = None
    key: tuple[str, str] | None = None
    count = 0
    async for found in _supervisor_answers(db, instrument, filters):
        if (found.pseudonym, found.stage) != key:
            if row is not None:
                sheet.append(_wide(row, items, t))
            key = (found.pseudonym, found.stage)
            submitted = _submitted_on(content, found.submitted_at)
            row = {"_": [found.pseudonym, found.instrument, found.stage, submitted]}
        assert row is not None
        row[found.item] = found.value
        count += 1
    if row is not None:
        sheet.append(_wide(row, items, t))
    sheet.close()
    return count


# The first seven as before this issue, for scripts that read the codebook by position.
CODEBOOK_COLUMNS = (
    "instrument",
    "item",
    "type",
    "optional",
    "item_text",
    "code",
    "label",
    "answer",
    "correct",
    "item_version",
    # A loop's item (repeat: facilitators): whom it is about; the item id ends with it.
    "facilitator",
)


def _codebook(
    book: Workbook,
    content: Content,
    kinds: list[str],
    t: Translator,
    rtl: bool,
    supervisors: Sequence[Instrument] = (),
) -> None:
    """Items, types, options with their codes, scale ends; for quiz items the right answer;
    for the supervisors' sheets, what their key is and why it links to nothing."""
    names = list(CODEBOOK_COLUMNS)
    widths = _widths(names)
    widths[names.index("item_text")] = 60
    sheet = _Sheet(book, "codebook", names, widths, rtl=rtl)
    blank = [""] * (len(names) - 5)
    instruments = [content.instruments[kind] for kind in kinds]
    for instrument in [*instruments, *supervisors]:
        kind = instrument.id
        if instrument in supervisors:
            sheet.append(
                [
                    kind,
                    "pseudonym",
                    "key",
                    "",
                    t.gettext(
                        "One line manager's questionnaires about one participant: a code drawn"
                        " at random for the pair. It is not the participant's code and links"
                        " to no other sheet, by design: this sheet has no participant code,"
                        " cohort or gender, and its rows are ordered by this code."
                    ),
                    *blank,
                ]
            )
            sheet.append(
                [
                    kind,
                    "submitted_on",
                    "date",
                    "",
                    t.gettext("The day the line manager sent the questionnaire (no time)."),
                    *blank,
                ]
            )
        for item in instrument.items:
            base = [
                kind,
                item.id,
                item.type,
                "yes" if item.optional else "",
                item.text.get(t.locale),
            ]
            version = item_version(item)
            about = item.facilitator if isinstance(item, LoopItem) else ""
            if item.options:
                for option in item.options:
                    right = is_correct(item, option.id)
                    mark = "" if right is None else ("yes" if right else "no")
                    label = option.text.get(t.locale)
                    row = [*base, option.id, label, item.answer or "", mark, version, about]
                    sheet.append(row)
            elif item.type == "scale" and item.labels is not None:
                sheet.append([*base, "1", item.labels.low.get(t.locale), "", "", version, about])
                sheet.append([*base, "5", item.labels.high.get(t.locale), "", "", version, about])
            else:
                sheet.append([*base, "", "", "", "", version, about])
    sheet.close()


async def write_xlsx(
    db: Database,
    content: Content,
    path: Path,
    filters: Filters,
    t: Translator,
    *,
    supervisors: bool = True,
) -> int:
    """One wide sheet per instrument (the KAT scorable), the long sheet, the supervisors'
    sheets (``supervisors``: left out for a reader who may not see them), the codebook.

    Returns the number of answers. An Arabic export has right-to-left sheets.
    """
    from openpyxl import Workbook

    rtl = t.locale == "ar"
    book = Workbook(write_only=True)
    kinds = [k for k in content.instruments if filters.instrument in (None, k)]
    for kind in kinds:
        instrument = content.instruments[kind]
        if _scored(instrument):
            await _scored_sheet(book, db, instrument, filters, t, rtl)
        else:
            await _wide_sheet(book, db, instrument, filters, t, rtl)
    long_sheet = _Sheet(book, "answers", LONG_COLUMNS, _widths(LONG_COLUMNS), rtl=rtl)
    count = 0
    line = _LongRows(content, t, await catalog(db), safe=False).line
    async for row in _rows(db, filters):
        long_sheet.append(line(row))
        count += 1
    long_sheet.close()
    apart = supervisors_included(content, filters) if supervisors else []
    for instrument in apart:
        count += await _supervisor_sheet(book, db, content, instrument, filters, t, rtl)
    _codebook(book, content, kinds, t, rtl, apart)
    book.save(path)
    return count


# --- Files with identities --------------------------------------------------------------


@contextmanager
def private_file(path: Path, encoding: str) -> Iterator[IO[str]]:
    """A text file only its owner can read: identities never sit world-readable on disk."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    # An existing file keeps its mode through O_CREAT: tighten it too.
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w", encoding=encoding, newline="") as handle:
        yield handle


async def write_identities(db: Database, path: Path) -> int:
    """Codes with names, e-mails and Telegram ids: for coordinators, never for evaluators."""
    async with db.read() as conn:
        people = await repo.list_participants(conn)
        bound = {p.id: b for p, b in await repo.bound_participants(conn)}
    with private_file(path, "utf-8-sig") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(["participant", "full_name", "email", "cohort", "telegram_user_id"])
        for person in people:
            binding = bound.get(person.id)
            writer.writerow(
                [
                    person.code,
                    neutralise(person.full_name),
                    neutralise(person.email or ""),
                    person.cohort,
                    binding.user_id if binding else "",
                ]
            )
    return len(people)


def _percent(points: int | None, maximum: int) -> str:
    if points is None or not maximum:
        return MOODLE_NO_GRADE
    return f"{100 * points / maximum:.2f}".rstrip("0").rstrip(".")


@dataclass(frozen=True, slots=True)
class MoodleExport:
    """What the Moodle file holds: rows written, participants left out for want of an e-mail."""

    rows: int
    without_email: int


async def write_moodle(
    db: Database, content: Content, path: Path, t: Translator, cohort: str | None = None
) -> MoodleExport:
    """KAT percentages and certificate status by e-mail, for Moodle's CSV grade import.

    One row per participant with an e-mail: ``email`` and ``idnumber`` (the roster's
    external id) to identify the user, ``kat_pre`` and ``kat_post`` in percent (0-100,
    ``-`` when not taken: no grade), ``certificate`` as one of three words that a Moodle
    scale can list. Comma-separated UTF-8, Moodle's defaults. Identities: owner-only file.
    """
    stages = content.quiz_stages()
    kat = stages[0] if stages else None
    before, after = (stages[1].id, stages[2].id) if stages else ("", "")
    async with db.read() as conn:
        people = [p for p in await repo.list_participants(conn) if cohort in (None, p.cohort)]
        taken = await store.submitted_with_answers(conn, kat.id) if kat else []
    points: dict[tuple[int, str], int] = {}
    if kat is not None:
        for attempt, given in taken:
            points[(attempt.participant_id, attempt.stage)] = score(kat, given)
    statuses = await certificate_statuses(db, content, people) or {}
    words = {
        "success": t.gettext("Achievement"),
        "participation": t.gettext("Participation"),
        "none": t.gettext("No certificate"),
    }
    maximum = kat.max_score if kat else 0
    rows = 0
    without = 0
    with private_file(path, "utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(MOODLE_COLUMNS)
        for person in people:
            if not person.email:
                without += 1
                continue
            status = statuses.get(person.id)
            if status is None:  # no certificate rules in the content
                certificate = MOODLE_NO_GRADE
            elif status.success.obtained:
                certificate = words["success"]
            elif status.participation.obtained:
                certificate = words["participation"]
            else:
                certificate = words["none"]
            writer.writerow(
                [
                    person.email,
                    person.external_id or "",
                    neutralise(person.full_name),
                    _percent(points.get((person.id, before)), maximum),
                    _percent(points.get((person.id, after)), maximum),
                    certificate,
                ]
            )
            rows += 1
    return MoodleExport(rows, without)


async def record(
    db: Database, *, actor: str, action: str, details: dict[str, Any], now: datetime
) -> None:
    """Every export is in the audit log: who took what."""
    async with db.transaction() as conn:
        await repo.audit(conn, actor=actor, action=action, target=None, details=details, now=now)
