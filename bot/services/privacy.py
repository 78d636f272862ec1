"""The participant's data rights: see what is stored, and erasure (on request or by retention).

Erasure keeps the pseudonymous code, cohort, gender and, unless asked, the answers:
the evaluation can still count them, but nobody can tell whose they are. Deleted rows
are overwritten (``secure_delete``) and the file compacted, so the name is gone from
the disk too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import aiosqlite

from bot.content import Content
from bot.rules.questionnaire import window_for
from bot.storage import Database, personal, progress, repo
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
        await _erase(conn, participant, with_answers, now)
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


async def _erase(
    conn: aiosqlite.Connection, participant: Participant, with_answers: bool, now: datetime
) -> None:
    # Queued messages to them are not sent any more (chat_id goes with the identity below).
    await conn.execute(
        "UPDATE outbox SET status = 'cancelled' WHERE participant_id = ? AND status = 'pending'",
        (participant.id,),
    )
    params = {"pid": participant.id, "code": participant.code, **personal.erasure_values()}
    for statement in personal.erasure_statements():
        await conn.execute(statement, params)
    await conn.execute(
        "UPDATE participants SET forgotten_at = ?, updated_at = ? WHERE id = ?",
        (to_db_time(now), to_db_time(now), participant.id),
    )
    if with_answers:
        for table in (
            "attempts",
            "attendance",
            "attendance_visits",
            "ecampus_completions",
            "checkins",
            "action_plans",
            "outbox",
        ):
            await conn.execute(f"DELETE FROM {table} WHERE participant_id = ?", (participant.id,))


@dataclass
class MyData:
    """Everything stored about one participant, as /mydata shows it."""

    participant: Participant
    binding: Binding | None
    answers: dict[str, int] = field(default_factory=dict)  # "kat pre" -> answered items
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
            key = f"{attempt.instrument} {attempt.stage}"
            found.answers[key] = len(await store.answers_of(conn, attempt.id))
        found.attendance = await progress.attendance_of(conn, participant.id)
        plan = await progress.latest_plan(conn, participant.id)
        found.plan = plan.file_name if plan else None
        async with conn.execute(
            "SELECT count(*) FROM outbox WHERE participant_id = ?", (participant.id,)
        ) as cur:
            row = await cur.fetchone()
        found.messages = int(row[0]) if row else 0
        for table in ("attendance_visits", "checkins", "ecampus_completions"):
            async with conn.execute(
                f"SELECT count(*) FROM {table} WHERE participant_id = ?", (participant.id,)
            ) as cur:
                row = await cur.fetchone()
            found.presence_records += int(row[0]) if row else 0
    return found


def retention_deadline(content: Content, days: int) -> datetime | None:
    """When identities are erased: ``days`` after the last follow-up window closes."""
    followup = content.instrument("followup")
    if followup is None or days <= 0:
        return None
    closes = [
        window_for(content, followup, stage, cohort).closes
        for stage in followup.stages
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
        async with conn.execute("SELECT id FROM participants WHERE forgotten_at IS NULL") as cur:
            ids = [row[0] for row in await cur.fetchall()]
        for participant_id in ids:
            participant = await repo.get_participant(conn, participant_id)
            if participant is not None:
                await _erase(conn, participant, False, now)
                erased += 1
        # Report rows nobody was matched to still name guests: they go too.
        guests = 0
        for table in ("attendance_visits", "ecampus_completions", "attendance_aliases"):
            where = "" if table == "attendance_aliases" else " WHERE participant_id IS NULL"
            cursor = await conn.execute(f"DELETE FROM {table}{where}")
            guests += cursor.rowcount
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
