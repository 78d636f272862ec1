"""Reading CSV files from spreadsheets: UTF-8 with or without BOM, ``,`` or ``;``, rows numbered.

Rows are numbered as the spreadsheet shows them (the header is row 1), so a problem
report points at the row a coordinator sees.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass

from bot.i18n import Said, Translator, _, said


@dataclass(frozen=True, slots=True)
class RowProblem:
    """One bad cell or row; ``str`` says it in English, ``said_to`` in the reader's language."""

    row: int
    column: str | None
    reason: Said

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.reason}"

    def said_to(self, t: Translator) -> str:
        """The problem in ``t``'s language; the column keeps the name the file gives it."""
        reason = t.gettext(self.reason.msgid, **self.reason.params)
        if self.column:
            return t.gettext(
                "row %(row)d, column %(column)s: %(reason)s",
                row=self.row,
                column=self.column,
                reason=reason,
            )
        return t.gettext("row %(row)d: %(reason)s", row=self.row, reason=reason)


class TableError(Exception):
    """The file was refused; ``problems`` names every bad row."""

    def __init__(self, problems: list[RowProblem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Table:
    """A decoded CSV file: normalised header names and numbered, non-empty rows."""

    raw_header: list[str]
    header: list[str]
    rows: list[tuple[int, dict[str, str]]]
    # Header problems (unknown or missing columns), for the caller to report with its own.
    header_problems: list[RowProblem]


def read_table(
    data: bytes,
    *,
    columns: tuple[str, ...],
    aliases: dict[str, str],
    required: tuple[str, ...] = (),
    error: Callable[[list[RowProblem]], TableError] = TableError,
) -> Table:
    """Decode, sniff the delimiter, map header aliases, number the rows; refuse ragged rows."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        reason = said(
            _("the file is not UTF-8 (byte %(byte)d); save it as CSV UTF-8"), byte=exc.start
        )
        raise error([RowProblem(1, None, reason)]) from None
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise error([RowProblem(1, None, said(_("the file is empty or has no header")))])
    # French Excel writes ';', others ','.
    delimiter = ";" if lines[0].count(";") > lines[0].count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    raw_header = next(reader)
    header = [aliases.get(h.strip().lower(), h.strip().lower()) for h in raw_header]
    header_problems: list[RowProblem] = []
    unknown = [raw for raw, h in zip(raw_header, header, strict=True) if h not in columns]
    if unknown:
        header_problems.append(
            RowProblem(1, None, said(_("unknown column(s): %(names)s"), names=", ".join(unknown)))
        )
    for name in required:
        if name not in header:
            header_problems.append(RowProblem(1, name, said(_("required column missing"))))
    rows: list[tuple[int, dict[str, str]]] = []
    problems: list[RowProblem] = []
    # Counted per record, not per line: a quoted cell spanning lines is still one row.
    for row, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(header):
            problems.append(
                RowProblem(
                    row,
                    None,
                    said(
                        _("%(cells)d cells for %(columns)d columns"),
                        cells=len(cells),
                        columns=len(header),
                    ),
                )
            )
            continue
        rows.append(
            (row, {h: (cells[i].strip() if i < len(cells) else "") for i, h in enumerate(header)})
        )
    if problems and not header_problems:
        raise error(problems)
    return Table(raw_header, header, rows, header_problems)
