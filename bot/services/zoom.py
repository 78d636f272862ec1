"""Zoom's participant report (Reports › Usage › Participants › Export), read as Zoom writes it.

The file may start with a meeting block (``Meeting ID,Topic,Start Time,…``, one row, a
blank line) before the participants' table (``Name (Original Name),User Email,Join
Time,Leave Time,Duration (Minutes),Guest,…``). Someone who leaves and rejoins has one row
per visit, and rows can overlap (two devices). Durations are rounded to the minute, so
only the timestamps are used. Dates are written month/day/year with AM/PM, or
day/month/year in 24 hours, in the Zoom account's time zone.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.i18n import _, said
from bot.services.csvfile import RowProblem, TableError

UNIQUE_USERS_HELP = said(
    _(
        "this is Zoom's 'unique users' export, which has no join and leave times. In Zoom, open "
        "Reports › Usage, click the number of participants of the meeting, untick 'Show unique "
        "users', then Export"
    )
)
_NUMERIC = re.compile(
    r"^(\d{1,2})/(\d{1,2})/(\d{4})[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp]\.?[Mm]\.?)?$"
)
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$")
_WORDY_FORMATS = ("%b %d, %Y %I:%M:%S %p", "%b %d, %Y %I:%M %p", "%b %d, %Y %H:%M:%S")
_RENAMED = re.compile(r"^(.*\S)\s*\(([^()]+)\)$")


class ZoomError(TableError):
    """The report was refused; ``problems`` names every bad row."""


@dataclass(frozen=True, slots=True)
class Visit:
    """One row of the report: someone in the meeting from ``joined`` to ``left``."""

    row: int
    name: str
    original_name: str
    email: str
    joined: datetime
    left: datetime
    guest: bool


@dataclass(frozen=True, slots=True)
class ZoomReport:
    """The participants' rows, and the meeting block when the file has one."""

    meeting_id: str | None
    topic: str | None
    visits: list[Visit]


def union_seconds(
    intervals: Iterable[tuple[datetime, datetime]], start: datetime, end: datetime
) -> float:
    """Seconds covered by the union of ``intervals`` once clipped to [start, end]."""
    clipped = sorted(
        (max(a, start), min(b, end)) for a, b in intervals if min(b, end) > max(a, start)
    )
    total = 0.0
    current: tuple[datetime, datetime] | None = None
    for a, b in clipped:
        if current is None or a > current[1]:
            if current is not None:
                total += (current[1] - current[0]).total_seconds()
            current = (a, b)
        elif b > current[1]:
            current = (current[0], b)
    if current is not None:
        total += (current[1] - current[0]).total_seconds()
    return total


def share_of(
    intervals: Iterable[tuple[datetime, datetime]], start: datetime, end: datetime
) -> float:
    """The share (0 to 1) of the scheduled [start, end] that ``intervals`` cover."""
    scheduled = (end - start).total_seconds()
    return union_seconds(intervals, start, end) / scheduled if scheduled > 0 else 0.0


def original_name(cell: str) -> str:
    """``Display (Original)`` -> ``Original``: Zoom adds the original name after a rename."""
    match = _RENAMED.match(cell.strip())
    return match.group(2).strip() if match else cell.strip()


def parse_report(data: bytes, *, tz: ZoneInfo, start: datetime, end: datetime) -> ZoomReport:
    """Read a participant report whose times are local to ``tz``, for a session [start, end].

    The session's dates decide between month/day and day/month when a file leaves it open;
    a report of a meeting on another day is refused rather than counted as absent.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        reason = said(
            _("the file is not UTF-8 (byte %(byte)d); export it again from Zoom"), byte=exc.start
        )
        raise ZoomError([RowProblem(1, None, reason)]) from None
    rows = list(csv.reader(io.StringIO(text)))
    header_at, meeting_id, topic = _find_header(rows)
    header = [h.strip().lower() for h in rows[header_at]]
    columns = _columns(header)
    problems: list[RowProblem] = []
    raw: list[tuple[int, str, str, str, str, bool]] = []
    for index in range(header_at + 1, len(rows)):
        cells = rows[index]
        number = index + 1
        if not any(c.strip() for c in cells):
            continue

        def cell(name: str, cells: list[str] = cells) -> str:
            at = columns.get(name)
            return cells[at].strip() if at is not None and at < len(cells) else ""

        name, join_text, leave_text = cell("name"), cell("join"), cell("leave")
        if not name:
            problems.append(RowProblem(number, "Name (Original Name)", said(_("empty name"))))
        for label, value in (("Join Time", join_text), ("Leave Time", leave_text)):
            if not value:
                problems.append(RowProblem(number, label, said(_("empty time"))))
        guest = cell("guest").lower() in ("yes", "oui", "true", "1")
        raw.append((number, name, cell("email"), join_text, leave_text, guest))
    stamps = [
        (r[0], label, v)
        for r in raw
        for label, v in (("Join Time", r[3]), ("Leave Time", r[4]))
        if v
    ]
    day_first = _day_first(stamps, problems, start, end, tz)
    visits: list[Visit] = []
    for number, name, email, joined_text, left_text, guest in raw:
        joined = _parse_time(joined_text, day_first, tz) if joined_text else None
        left = _parse_time(left_text, day_first, tz) if left_text else None
        if joined_text and joined is None:
            problems.append(
                RowProblem(
                    number, "Join Time", said(_("unreadable time %(value)r"), value=joined_text)
                )
            )
        if left_text and left is None:
            problems.append(
                RowProblem(
                    number, "Leave Time", said(_("unreadable time %(value)r"), value=left_text)
                )
            )
        if joined is None or left is None or not name:
            continue
        if left < joined:
            problems.append(RowProblem(number, "Leave Time", said(_("leaves before joining"))))
            continue
        visits.append(Visit(number, name, original_name(name), email, joined, left, guest))
    if problems:
        raise ZoomError(sorted(problems, key=lambda p: p.row))
    margin = timedelta(days=1)
    if visits and not any(v.left > start - margin and v.joined < end + margin for v in visits):
        first = min(v.joined for v in visits).astimezone(tz)
        raise ZoomError(
            [
                RowProblem(
                    header_at + 2,
                    None,
                    said(
                        _(
                            "this meeting took place on %(day)s, not on the session's day"
                            " (%(session_day)s): is it the right session?"
                        ),
                        day=f"{first:%Y-%m-%d}",
                        session_day=f"{start.astimezone(tz):%Y-%m-%d}",
                    ),
                )
            ]
        )
    return ZoomReport(meeting_id, topic, visits)


def _find_header(rows: list[list[str]]) -> tuple[int, str | None, str | None]:
    """The index of the participants' header row, and the meeting id and topic if given."""
    meeting_id = topic = None
    for index, cells in enumerate(rows):
        lowered = [c.strip().lower() for c in cells]
        if lowered and lowered[0] == "meeting id" and index + 1 < len(rows):
            block = dict(zip(lowered, (c.strip() for c in rows[index + 1]), strict=False))
            meeting_id, topic = block.get("meeting id"), block.get("topic")
        has_join = any(c.startswith("join time") for c in lowered)
        has_leave = any(c.startswith("leave time") for c in lowered)
        if has_join and has_leave:
            return index, meeting_id, topic
        names = any(c.startswith("name (original name)") or c == "user name" for c in lowered)
        if names and any(c.startswith("total duration") for c in lowered):
            raise ZoomError([RowProblem(index + 1, None, UNIQUE_USERS_HELP)])
    raise ZoomError(
        [
            RowProblem(
                1,
                None,
                said(
                    _(
                        "not a Zoom participant report: no 'Join Time' and 'Leave Time' columns"
                        " (in Zoom: Reports › Usage › the meeting's participants › Export, 'Show"
                        " unique users' unticked)"
                    )
                ),
            )
        ]
    )


def _columns(header: list[str]) -> dict[str, int]:
    """Column positions by role; the e-mail is the one after the name (the meeting block,
    when Zoom writes it on the same line, has the host's e-mail first)."""
    found: dict[str, int] = {}
    for index, name in enumerate(header):
        if "name" not in found and (
            name.startswith("name") or name in ("participant", "user name")
        ):
            found["name"] = index
        elif name.startswith("join time") and "join" not in found:
            found["join"] = index
        elif name.startswith("leave time") and "leave" not in found:
            found["leave"] = index
        elif name.startswith("guest") and "guest" not in found:
            found["guest"] = index
    name_at = found.get("name", 0)
    for index, name in enumerate(header):
        if index > name_at and ("email" in name or "e-mail" in name):
            found["email"] = index
            break
    if "name" not in found:
        raise ZoomError([RowProblem(1, "Name (Original Name)", said(_("required column missing")))])
    return found


def _numbers(text: str) -> tuple[int, int] | None:
    match = _NUMERIC.match(text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _day_first(
    stamps: list[tuple[int, str, str]],
    problems: list[RowProblem],
    start: datetime,
    end: datetime,
    tz: ZoneInfo,
) -> bool:
    """Whether the numeric dates are day/month (else month/day), from the file itself.

    A first number above 12 can only be a day, a second one only a day too; AM/PM is
    Zoom's American style, month first. Otherwise the reading that puts the meeting on
    the session's days wins.
    """
    day_first: set[bool] = set()
    for _row, _label, text in stamps:
        pair = _numbers(text)
        if pair is None:
            continue
        if pair[0] > 12:
            day_first.add(True)
        elif pair[1] > 12:
            day_first.add(False)
    if len(day_first) == 2:
        row = stamps[0][0]
        problems.append(
            RowProblem(row, "Join Time", said(_("the dates mix day/month/year and month/day/year")))
        )
        return True
    if day_first:
        return day_first.pop()
    if any(_has_meridiem(t) for _r, _l, t in stamps):
        return False
    margin = timedelta(days=1)
    for candidate in (False, True):
        times = [_parse_time(t, candidate, tz) for _r, _l, t in stamps]
        if times and all(t is not None and start - margin <= t <= end + margin for t in times):
            return candidate
    return True


def _has_meridiem(text: str) -> bool:
    match = _NUMERIC.match(text)
    return match is not None and match.group(7) is not None


def _parse_time(text: str, day_first: bool, tz: ZoneInfo) -> datetime | None:
    """One of Zoom's timestamps as an aware instant, or None if unreadable."""
    text = " ".join(text.split())
    match = _NUMERIC.match(text)
    try:
        if match:
            first, second, year, hour, minute = (int(match.group(i)) for i in range(1, 6))
            seconds = int(match.group(6) or 0)
            day, month = (first, second) if day_first else (second, first)
            meridiem = (match.group(7) or "").replace(".", "").lower()
            if meridiem:
                if not 1 <= hour <= 12:
                    return None
                hour = hour % 12 + (12 if meridiem == "pm" else 0)
            return datetime(year, month, day, hour, minute, seconds, tzinfo=tz)
        match = _ISO.match(text)
        if match:
            year, month, day, hour, minute, seconds = (
                int(match.group(i) or 0) for i in range(1, 7)
            )
            return datetime(year, month, day, hour, minute, seconds, tzinfo=tz)
    except ValueError:
        return None
    for fmt in _WORDY_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=tz)
        except ValueError:
            continue
    return None
