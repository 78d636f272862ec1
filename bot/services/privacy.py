"""The participant's data rights: see what is stored, and erasure (on request or by retention).

Erasure keeps the pseudonymous code, cohort, gender and, unless asked, the answers:
the evaluation can still count them, but nobody can tell whose they are. Deleted rows
are overwritten (``secure_delete``) and the file compacted, so the name is gone from
the disk too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.content import Content
from bot.rules.questionnaire import window_for
from bot.storage import Database, personal, privacy, progress, repo
from bot.storage import answers as store
from bot.storage.repo import Binding, Participant, to_db_time

ERASED_NAME = personal.ERASED_NAME


class ForgetError(Exception):
    """Why a participant cannot be forgotten; the message says it."""


async def forget(db: Database, key: str, *, with_answers: bool, actor: str, now: datetime) -> str:
    """Erase a participant's identity and Telegram binding (and answers if asked); the code."""
    async with db.transaction() as conn:
        participant = await repo.participant_by_key(conn, key)
        if participant is None:
            raise ForgetError(f"no participant {key!r}")
        await privacy.erase_participant(
            conn, participant.id, participant.code, with_answers=with_answers, now=now
        )
        await repo.audit(
            conn,
            actor=actor,
            action="privacy.forget",
            target=participant.code,
            details={"answers": with_answers},
            now=now,
        )
    await db.compact()
    return participant.code


@dataclass
class MyData:
    """Everything stored about one participant, as /mydata shows it."""

    participant: Participant
    binding: Binding | None
    # (instrument kind, stage id) -> answered items; the view names them.
    answers: dict[tuple[str, str], int] = field(default_factory=dict)
    attendance: dict[str, bool] = field(default_factory=dict)
    plan: str | None = None
    messages: int = 0
    # Zoom visits, check-ins and e-campus completions recorded.
    presence_records: int = 0


async def my_data(db: Database, participant: Participant) -> MyData:
    """Collect what Relais holds about a participant."""
    async with db.read() as conn:
        binding = await repo.binding_for_participant(conn, participant.id)
        found = MyData(participant, binding)
        for attempt in await store.attempts_of(conn, participant.id):
            key = (attempt.instrument, attempt.stage)
            found.answers[key] = len(await store.answers_of(conn, attempt.id))
        found.attendance = await progress.attendance_of(conn, participant.id)
        plan = await progress.latest_plan(conn, participant.id)
        found.plan = plan.file_name if plan else None
        found.messages = await privacy.messages_to(conn, participant.id)
        found.presence_records = await privacy.presence_records(conn, participant.id)
    return found


def retention_deadline(content: Content, days: int) -> datetime | None:
    """When identities are erased: ``days`` after the last questionnaire window closes
    (the six-month follow-up in the shipped programme)."""
    if not content.instruments or days <= 0:
        return None
    closes = [
        window_for(content, instrument, stage, cohort).closes
        for instrument in content.instruments.values()
        for stage in instrument.stages
        for cohort in content.programme.cohort_ids
    ]
    return max(closes) + timedelta(days=days) if closes else None


async def apply_retention(db: Database, content: Content, days: int, now: datetime) -> int:
    """Once the retention period is over, erase every identity still held; return how many."""
    deadline = retention_deadline(content, days)
    if deadline is None or now < deadline:
        return 0
    erased = 0
    async with db.transaction() as conn:
        for participant_id in await privacy.identities_held(conn):
            participant = await repo.get_participant(conn, participant_id)
            if participant is not None:
                await privacy.erase_participant(
                    conn, participant.id, participant.code, with_answers=False, now=now
                )
                erased += 1
        # Report rows nobody was matched to still name guests: they go too.
        guests = await privacy.erase_guests(conn)
        if erased:
            await repo.audit(
                conn,
                actor="retention",
                action="privacy.retention",
                target=None,
                details={"erased": erased, "deadline": to_db_time(deadline)},
                now=now,
            )
    if erased or guests:
        await db.compact()
    return erased
