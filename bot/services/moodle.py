"""Moodle's activity-completion report (Reports › Activity completion › Download), as it writes it.

The header has an empty first cell (the full-name column), the user identity fields the
site shows (``Email address``...), then two columns per activity: its name and its
expected completion date. Each row has the full name, the identity fields, then per
activity a state ("Completed", "Not completed", "Completed (achieved pass grade)"...,
in the site's language) and the date it changed (``YYYY-MM-DD HH:MM:SS``, in the
downloading user's time zone). "Download in Excel-compatible format" is the same table
in UTF-16 with tabs.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.i18n import _, said
from bot.services.csvfile import RowProblem, TableError

# States by their opening words, English and French; an unknown state is refused rather
# than guessed. A failed pass grade is still a completed activity for Moodle.
_INCOMPLETE = re.compile(r"^(not completed|non terminé|non achevé|pas terminé|incomplet)", re.I)
_COMPLETE = re.compile(r"^(completed|complete|terminé|achevé)", re.I)
_EMAIL_HEADERS = ("email", "e-mail", "courriel", "adresse de courriel", "adresse électronique")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{1,2}:\d{2}(:\d{2})?)?$")


class MoodleError(TableError):
    """The report was refused; ``problems`` names every bad row."""


@dataclass(frozen=True, slots=True)
class Completion:
    """One person's state for one activity."""

    row: int
    name: str
    email: str
    activity: str
    completed: bool
    state: str
    at: datetime | None


def parse_completion(data: bytes, *, tz: ZoneInfo) -> tuple[list[str], list[Completion]]:
    """The activities of the report, and one completion per row and activity."""
    text = _decode(data)
    delimiter = (
        "\t" if text.split("\n", 1)[0].count("\t") > text.split("\n", 1)[0].count(",") else ","
    )
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    if not rows or not any(c.strip() for c in rows[0]):
        raise MoodleError([RowProblem(1, None, said(_("the file is empty")))])
    header = [c.strip() for c in rows[0]]
    email_at = next(
        (
            i
            for i, h in enumerate(header)
            if h.lower().strip() in _EMAIL_HEADERS or "mail" in h.lower()
        ),
        None,
    )
    if email_at is None:
        raise MoodleError(
            [
                RowProblem(
                    1,
                    "Email address",
                    said(
                        _(
                            "no e-mail column: ask the Moodle administrator to show the e-mail"
                            " address in reports (Site administration › Users › Permissions ›"
                            " Show user identity)"
                        )
                    ),
                )
            ]
        )
    body = [(i + 1, r) for i, r in enumerate(rows[1:], start=1) if any(c.strip() for c in r)]
    activities = _activities(header, email_at, body)
    if not activities:
        raise MoodleError(
            [
                RowProblem(
                    1,
                    None,
                    said(_("no activity columns: is this the activity-completion report?")),
                )
            ]
        )
    problems: list[RowProblem] = []
    found: list[Completion] = []
    for number, cells in body:
        name = cells[0].strip() if cells else ""
        email = cells[email_at].strip() if email_at < len(cells) else ""
        for at, activity in activities:
            state = cells[at].strip() if at < len(cells) else ""
            stamp = cells[at + 1].strip() if at + 1 < len(cells) else ""
            if state and not (_COMPLETE.match(state) or _INCOMPLETE.match(state)):
                problems.append(
                    RowProblem(
                        number, activity, said(_("unknown completion state %(value)r"), value=state)
                    )
                )
                continue
            completed = bool(state) and not _INCOMPLETE.match(state)
            # The date is for the record only: one written in words (older sites) is dropped.
            when = _when(stamp, tz) if stamp else None
            found.append(Completion(number, name, email, activity, completed, state, when))
    if problems:
        raise MoodleError(problems)
    return [a for _i, a in activities], found


def _decode(data: bytes) -> str:
    try:
        if data.startswith(b"\xff\xfe"):
            return data[2:].decode("utf-16-le")
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        reason = said(
            _("the file is not UTF-8 or UTF-16 (byte %(byte)d); download it again"), byte=exc.start
        )
        raise MoodleError([RowProblem(1, None, reason)]) from None


def _activities(
    header: list[str], email_at: int, body: list[tuple[int, list[str]]]
) -> list[tuple[int, str]]:
    """(column, name) of each activity: a named column after the identity fields followed
    by its expected-completion column, whose header is a date or empty (older sites write
    the date in words: then the cells, all completion states, tell)."""
    found: list[tuple[int, str]] = []
    index = email_at + 1
    while index < len(header):
        following = header[index + 1] if index + 1 < len(header) else ""
        cells = [r[index].strip() for _n, r in body if index < len(r) and r[index].strip()]
        states = bool(cells) and all(_COMPLETE.match(c) or _INCOMPLETE.match(c) for c in cells)
        if header[index] and (not following or _DATE.match(following) or states):
            found.append((index, header[index]))
            index += 2
        else:
            index += 1
    return found


def _when(text: str, tz: ZoneInfo) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(text.replace(" ", "T"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=tz) if parsed.tzinfo is None else parsed
