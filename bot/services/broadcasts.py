"""Coordinator broadcasts: audiences with live counts, queued through the outbox, progress."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.content import Content
from bot.outgoing import OutgoingMessage
from bot.rules.questionnaire import window_for
from bot.storage import Database, outbox, repo
from bot.storage import answers as store
from bot.storage import broadcasts as stored
from bot.storage.broadcasts import Broadcast, BroadcastStatus
from bot.storage.outbox import Status

__all__ = ["Audience", "Broadcast", "BroadcastStatus", "Progress", "Recipient", "Standing"]


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
                stage_ref = f"{instrument.id}:{stage.id}"
                keys.append((f"pending:{stage_ref}", "pending", stage_ref))
    found = []
    for key, kind, ref in keys:
        found.append(Audience(key, kind, ref, len(await recipients(db, content, key, now))))
    return found


async def create(
    db: Database,
    *,
    created_by: int,
    audience: str,
    message: OutgoingMessage,
    people: list[Recipient],
    now: datetime,
) -> Broadcast:
    """Record the broadcast and queue one outbox row per recipient, in one transaction."""
    async with db.transaction() as conn:
        broadcast_id = await stored.insert(
            conn,
            created_by=created_by,
            audience=audience,
            message=message,
            total=len(people),
            now=now,
        )
        await outbox.enqueue_shared(
            conn,
            kind="broadcast",
            source=f"broadcast:{broadcast_id}",
            message=message,
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
        found = await stored.get(conn, broadcast_id)
    assert found is not None  # inserted in this very transaction
    return found


async def get(db: Database, broadcast_id: int) -> Broadcast | None:
    """The broadcast with this id."""
    async with db.read() as conn:
        return await stored.get(conn, broadcast_id)


async def recent(db: Database, limit: int = 10) -> list[Broadcast]:
    """The latest broadcasts, newest first."""
    async with db.read() as conn:
        return await stored.recent(conn, limit)


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
        by_status.get(Status.SENT, 0),
        by_status.get(Status.FAILED, 0),
        by_status.get(Status.CANCELLED, 0),
        reasons,
    )
    if state.done and broadcast.status == BroadcastStatus.SENDING:
        async with db.transaction() as conn:
            await stored.finish(conn, broadcast.id, BroadcastStatus.DONE, now)
    return state


@dataclass(frozen=True, slots=True)
class Standing:
    """A broadcast as it is now, for the progress display of the chat and the CLI."""

    broadcast: Broadcast
    progress: Progress

    @property
    def cancelled(self) -> bool:
        return self.broadcast.status == BroadcastStatus.CANCELLED

    @property
    def over(self) -> bool:
        """Nothing more will change: every message handled, or the broadcast stopped."""
        return self.progress.done or self.cancelled


async def standing(db: Database, broadcast_id: int, now: datetime) -> Standing | None:
    """The broadcast re-read and its progress (marking it done when it is)."""
    found = await get(db, broadcast_id)
    if found is None:
        return None
    return Standing(found, await progress(db, found, now))


async def cancel(db: Database, broadcast: Broadcast, actor: int, now: datetime) -> int:
    """Stop what has not been sent yet; return how many messages were stopped."""
    async with db.transaction() as conn:
        stopped = await outbox.cancel(conn, broadcast.source, now)
        await stored.finish(conn, broadcast.id, BroadcastStatus.CANCELLED, now)
        await repo.audit(
            conn,
            actor=f"telegram:{actor}",
            action="broadcast.cancel",
            target=str(broadcast.id),
            details={"stopped": stopped},
            now=now,
        )
    return stopped
