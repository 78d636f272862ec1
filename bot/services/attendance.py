"""Attendance import: who was present at which session, from a spreadsheet, all or nothing."""

from __future__ import annotations

from bot.clock import Clock
from bot.content import Programme
from bot.services.csvfile import RowProblem, TableError, read_table
from bot.storage import Database, progress, repo

COLUMNS = ("participant", "session", "attended")
ALIASES = {
    "code": "participant",
    "external_id": "participant",
    "identifiant": "participant",
    "email": "participant",
    "courriel": "participant",
    "séance": "session",
    "seance": "session",
    "present": "attended",
    "présent": "attended",
    "presence": "attended",
    "présence": "attended",
}
PRESENT = {"1", "yes", "oui", "true", "vrai", "x", "present", "présent", "présente", "p"}
ABSENT = {"0", "no", "non", "false", "faux", "absent", "absente", "a"}


class AttendanceError(TableError):
    """The attendance file was refused; ``problems`` names every bad row."""


async def import_attendance(
    db: Database, data: bytes, *, programme: Programme, clock: Clock, actor: str
) -> int:
    """Record every row in one transaction, or nothing if any row is wrong; return the count."""
    table = read_table(
        data, columns=COLUMNS, aliases=ALIASES, required=COLUMNS, error=AttendanceError
    )
    if table.header_problems:
        raise AttendanceError(table.header_problems)
    sessions = {s.id: s for s in programme.all_sessions()}
    now = clock.now()
    problems: list[RowProblem] = []
    async with db.transaction() as conn:
        plan: list[tuple[int, str, bool]] = []
        seen: dict[tuple[int, str], int] = {}
        for row, values in table.rows:
            key, session_id = values["participant"], values["session"]
            mark = values["attended"].lower()
            participant = await repo.participant_by_key(conn, key) if key else None
            session = sessions.get(session_id)
            if participant is None:
                problems.append(RowProblem(row, "participant", f"no participant {key!r}"))
            if session is None:
                problems.append(RowProblem(row, "session", f"no session {session_id!r}"))
            elif participant is not None and not session.is_for(participant.cohort):
                problems.append(
                    RowProblem(
                        row, "session", f"{session_id!r} is not for cohort {participant.cohort!r}"
                    )
                )
            if mark not in PRESENT | ABSENT:
                problems.append(
                    RowProblem(row, "attended", f"{mark!r} is not yes/oui/1 or no/non/0")
                )
            if participant is None or session is None:
                continue
            if (participant.id, session_id) in seen:
                other = seen[(participant.id, session_id)]
                problems.append(
                    RowProblem(row, None, f"same participant and session as row {other}")
                )
            seen[(participant.id, session_id)] = row
            plan.append((participant.id, session_id, mark in PRESENT))
        if problems:
            raise AttendanceError(problems)
        for participant_id, session_id, attended in plan:
            await progress.record_attendance(conn, participant_id, session_id, attended, now)
        await repo.audit(
            conn,
            actor=actor,
            action="attendance.import",
            target=None,
            details={"rows": len(plan)},
            now=now,
        )
    return len(plan)
