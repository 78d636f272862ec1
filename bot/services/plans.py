"""The individual action plan: a document the participant sends in the chat."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.storage import Database, progress, repo
from bot.storage.progress import ActionPlan
from bot.storage.repo import Participant

MAX_BYTES = 10 * 1024 * 1024
# Extension -> MIME type: what a counsellor's phone or office software produces.
ACCEPTED = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "odt": "application/vnd.oasis.opendocument.text",
}


class PlanStatus(StrEnum):
    ACCEPTED = "accepted"
    WRONG_TYPE = "wrong-type"
    TOO_BIG = "too-big"


@dataclass(frozen=True, slots=True)
class PlanOutcome:
    status: PlanStatus
    plan: ActionPlan | None = None


def accepted_type(file_name: str | None, mime_type: str | None) -> bool:
    """PDF, DOCX or ODT, by MIME type or, when the client sends none, by extension."""
    if mime_type in ACCEPTED.values():
        return True
    extension = (file_name or "").rsplit(".", 1)[-1].lower() if "." in (file_name or "") else ""
    return extension in ACCEPTED and mime_type in (None, "", "application/octet-stream")


async def submit_plan(
    db: Database,
    participant: Participant,
    *,
    file_id: str,
    file_unique_id: str,
    file_name: str | None,
    mime_type: str | None,
    size: int | None,
    now: datetime,
) -> PlanOutcome:
    """Store the document as the participant's action plan if it is of an accepted kind."""
    if not accepted_type(file_name, mime_type):
        return PlanOutcome(PlanStatus.WRONG_TYPE)
    if size is not None and size > MAX_BYTES:
        return PlanOutcome(PlanStatus.TOO_BIG)
    async with db.transaction() as conn:
        plan = await progress.add_plan(
            conn,
            participant.id,
            file_id=file_id,
            file_unique_id=file_unique_id,
            file_name=file_name,
            mime_type=mime_type,
            size=size,
            now=now,
        )
    return PlanOutcome(PlanStatus.ACCEPTED, plan)


@dataclass(frozen=True, slots=True)
class Submission:
    """An action plan with whose it is, for coordinators."""

    plan: ActionPlan
    participant: Participant


async def submissions(db: Database) -> list[Submission]:
    """The latest action plan of each participant who sent one."""
    async with db.read() as conn:
        found = []
        for plan in await progress.latest_plans(conn):
            participant = await repo.get_participant(conn, plan.participant_id)
            if participant is not None:
                found.append(Submission(plan, participant))
    return found


async def submission_of(db: Database, code: str) -> Submission | None:
    """The latest action plan of the participant with this code, external id or e-mail."""
    async with db.read() as conn:
        participant = await repo.participant_by_key(conn, code)
        plan = await progress.latest_plan(conn, participant.id) if participant else None
    return Submission(plan, participant) if plan and participant else None
