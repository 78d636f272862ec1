"""Coordinator broadcasts: audiences with live counts, queued through the outbox, progress."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.content import Content
from bot.rules.questionnaire import window_for
from bot.storage import Database, outbox, repo
from bot.storage import answers as store
from bot.storage.repo import from_db_time, to_db_time


@dataclass(frozen=True, slots=True)
class Audience:
    """Who a broadcast can go to: ``key`` travels in button data, ``count`` is live."""

    key: str
    kind: str  # all, cohort, staff, pending
    ref: str | None
    count: int


@dataclass(frozen=True, slots=True)
class Recipient:
    participant_id: int | None
    chat_id: int


async def recipients(db: Database, content: Content, key: str, now: datetime) -> list[Recipient]:
    """The reachable people of an audience; unreachable ones (blocked the bot) are left out."""
    kind, _, ref = key.partition(":")
    async with db.read() as conn:
        if kind == "staff":
            seen: dict[int, Recipient] = {}
            for role in await repo.list_staff(conn):
                if role.chat_id is not None:
                    seen.setdefault(role.user_id, Recipient(None, role.chat_id))
            return list(seen.values())
        people = [(p, b) for p, b in await repo.bound_participants(conn) if b.reachable]
        if kind == "all":
            return [Recipient(p.id, b.chat_id) for p, b in people]
        if kind == "cohort":
            return [Recipient(p.id, b.chat_id) for p, b in people if p.cohort == ref]
        if kind == "pending":
            instrument_kind, _, stage = ref.partition(":")
            found = []
            for participant, binding in people:
                latest = await store.latest_attempt(conn, participant.id, instrument_kind, stage)
                if latest is None or not latest.submitted:
                    found.append(Recipient(participant.id, binding.chat_id))
            return found
    return []


async def audiences(db: Database, content: Content, now: datetime) -> list[Audience]:
    """Everyone, each cohort, the staff, and non-respondents of each questionnaire open now."""
    keys: list[tuple[str, str, str | None]] = [("all", "all", None)]
    keys += [(f"cohort:{c.id}", "cohort", c.id) for c in content.programme.cohorts]
    keys.append(("staff", "staff", None))
    for instrument in content.instruments.values():
        for stage in instrument.stages:
            # Open now for at least one cohort.
            if any(
                window_for(content, instrument, stage, cohort).state(now) is None
                for cohort in content.programme.cohort_ids
            ):
                stage_ref = f"{instrument.kind}:{stage.id}"
                keys.append((f"pending:{stage_ref}", "pending", stage_ref))
    found = []
    for key, kind, ref in keys:
        found.append(Audience(key, kind, ref, len(await recipients(db, content, key, now))))
    return found


@dataclass(frozen=True, slots=True)
class Broadcast:
    """A broadcast as recorded."""

    id: int
    created_by: int
    audience: str
    payload: dict[str, Any]
    total: int
    status: str
    created_at: datetime

    @property
    def source(self) -> str:
        return f"broadcast:{self.id}"


async def create(
    db: Database,
    *,
    created_by: int,
    audience: str,
    payload: dict[str, Any],
    people: list[Recipient],
    now: datetime,
) -> Broadcast:
    """Record the broadcast and queue one outbox row per recipient, in one transaction."""
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "INSERT INTO broadcasts (created_by, audience, payload, total, status, created_at)"
            " VALUES (?, ?, ?, ?, 'sending', ?)",
            (
                created_by,
                audience,
                json.dumps(payload, ensure_ascii=False),
                len(people),
                to_db_time(now),
            ),
        )
        broadcast_id = int(cursor.lastrowid or 0)
        await outbox.enqueue_shared(
            conn,
            kind="broadcast",
            source=f"broadcast:{broadcast_id}",
            payload=payload,
            recipients=[
                (f"broadcast:{broadcast_id}:{p.chat_id}", p.participant_id, p.chat_id)
                for p in people
            ],
            due_at=now,
            now=now,
        )
        await repo.audit(
            conn,
            actor=f"telegram:{created_by}",
            action="broadcast.create",
            target=audience,
            details={"broadcast": broadcast_id, "recipients": len(people)},
            now=now,
        )
    found = await get(db, broadcast_id)
    assert found is not None
    return found


def _broadcast(row: Any) -> Broadcast:
    return Broadcast(
        id=row["id"],
        created_by=row["created_by"],
        audience=row["audience"],
        payload=json.loads(row["payload"]),
        total=row["total"],
        status=row["status"],
        created_at=from_db_time(row["created_at"]),
    )


async def get(db: Database, broadcast_id: int) -> Broadcast | None:
    async with (
        db.read() as conn,
        conn.execute("SELECT * FROM broadcasts WHERE id = ?", (broadcast_id,)) as cur,
    ):
        row = await cur.fetchone()
    return _broadcast(row) if row else None


async def recent(db: Database, limit: int = 10) -> list[Broadcast]:
    """The latest broadcasts, newest first."""
    async with (
        db.read() as conn,
        conn.execute("SELECT * FROM broadcasts ORDER BY id DESC LIMIT ?", (limit,)) as cur,
    ):
        return [_broadcast(r) for r in await cur.fetchall()]


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a broadcast stands."""

    total: int
    sent: int
    failed: int
    cancelled: int
    failures: dict[str, int] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.sent + self.failed + self.cancelled >= self.total

    @property
    def remaining(self) -> int:
        return max(0, self.total - self.sent - self.failed - self.cancelled)


async def progress(db: Database, broadcast: Broadcast, now: datetime) -> Progress:
    """Counts by status; marks the broadcast done once nothing is left to send."""
    async with db.read() as conn:
        by_status = await outbox.counts(conn, broadcast.source)
        reasons = await outbox.failures(conn, broadcast.source)
    state = Progress(
        broadcast.total,
        by_status.get("sent", 0),
        by_status.get("failed", 0),
        by_status.get("cancelled", 0),
        reasons,
    )
    if state.done and broadcast.status == "sending":
        async with db.transaction() as conn:
            await conn.execute(
                "UPDATE broadcasts SET status = 'done', finished_at = ? WHERE id = ?",
                (to_db_time(now), broadcast.id),
            )
    return state


async def cancel(db: Database, broadcast: Broadcast, actor: int, now: datetime) -> int:
    """Stop what has not been sent yet; return how many messages were stopped."""
    async with db.transaction() as conn:
        stopped = await outbox.cancel(conn, broadcast.source, now)
        await conn.execute(
            "UPDATE broadcasts SET status = 'cancelled', finished_at = ? WHERE id = ?",
            (to_db_time(now), broadcast.id),
        )
        await repo.audit(
            conn,
            actor=f"telegram:{actor}",
            action="broadcast.cancel",
            target=str(broadcast.id),
            details={"stopped": stopped},
            now=now,
        )
    return stopped
