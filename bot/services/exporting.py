"""Each export as one use case, the same from the chat and the terminal: write, then audit.

The audit entry says who took what, with the same details whichever door was used,
so a coordinator's ``/export`` and an operator's ``relais export`` read alike in the log.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

from bot.content import Content
from bot.i18n import Translator
from bot.services import export
from bot.services.export import Filters, MoodleExport
from bot.storage import Database

ResponsesFormat = Literal["csv", "xlsx"]


def responses_details(
    fmt: ResponsesFormat, filters: Filters, answers: int, supervisors: bool = False
) -> dict[str, object]:
    """The audit details of a responses export: its format, every filter, how many answers,
    and whether it held the supervisors' answers."""
    return {
        "format": fmt,
        "instrument": filters.instrument,
        "cohort": filters.cohort,
        "since": filters.since.date().isoformat() if filters.since else None,
        "until": filters.until.date().isoformat() if filters.until else None,
        "answers": answers,
        "supervisors": supervisors,
    }


async def responses(
    db: Database,
    content: Content,
    out: Path,
    fmt: ResponsesFormat,
    filters: Filters,
    t: Translator,
    *,
    actor: str,
    now: datetime,
    supervisors: bool = True,
) -> int:
    """Write the pseudonymous responses (CSV or XLSX) and audit it; the number of answers.

    ``supervisors``: whether the reader may have the supervisors' answers (evaluators and
    admins); an XLSX holds them on sheets of their own, a CSV only when asked for by the
    instrument's id, as a file of their own. Anyone else asking for them gets
    ``PermissionError``.
    """
    apart = filters.instrument in content.supervisor_instruments
    if apart and not supervisors:
        raise PermissionError("the supervisors' answers are for evaluators")
    if fmt == "csv":
        writer = export.write_supervisors_csv if apart else export.write_csv
        count = await writer(db, content, out, filters, t)
        held = apart
    else:
        count = await export.write_xlsx(db, content, out, filters, t, supervisors=supervisors)
        held = supervisors and bool(export.supervisors_included(content, filters))
    details = responses_details(fmt, filters, count, held)
    await export.record(db, actor=actor, action="export.responses", details=details, now=now)
    return count


async def identities(db: Database, out: Path, *, actor: str, now: datetime) -> int:
    """Write codes with names, e-mails and Telegram ids (owner-only) and audit it; the rows."""
    rows = await export.write_identities(db, out)
    await export.record(
        db, actor=actor, action="export.identities", details={"rows": rows}, now=now
    )
    return rows


async def moodle_grades(
    db: Database,
    content: Content,
    out: Path,
    t: Translator,
    cohort: str | None,
    *,
    actor: str,
    now: datetime,
) -> MoodleExport:
    """Write Moodle's grades by e-mail (owner-only) and audit it; what the file holds."""
    written = await export.write_moodle(db, content, out, t, cohort)
    details = {"format": "moodle", "cohort": cohort, "rows": written.rows}
    await export.record(db, actor=actor, action="export.moodle", details=details, now=now)
    return written
