"""Response figures for coordinators, and manual nudges to those who have not answered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.content import Content
from bot.i18n import Translator
from bot.services.campaigns import Step, render
from bot.services.questionnaire import window_for
from bot.storage import Database, outbox, repo
from bot.storage import answers as store
from bot.storage.repo import Participant


@dataclass(frozen=True, slots=True)
class StageStats:
    """One stage of one instrument for one cohort."""

    instrument: str
    stage: str
    cohort: str
    invited: int
    started: int
    submitted: int

    @property
    def rate(self) -> float:
        return self.submitted / self.invited if self.invited else 0.0


async def stage_stats(db: Database, content: Content, now: datetime) -> list[StageStats]:
    """For every stage already opened, per cohort: enrolled, started, submitted."""
    async with db.read() as conn:
        people = [p for p, _ in await repo.bound_participants(conn)]
        attempts = {p.id: await store.attempts_of(conn, p.id) for p in people}
    found: list[StageStats] = []
    for instrument in content.instruments.values():
        for stage in instrument.stages:
            for cohort in sorted(content.programme.cohort_ids):
                window = window_for(content, instrument, stage, cohort)
                if now < window.opens:
                    continue
                members = [p for p in people if p.cohort == cohort]
                mine = [
                    [
                        a
                        for a in attempts[p.id]
                        if (a.instrument, a.stage) == (instrument.kind, stage.id)
                    ]
                    for p in members
                ]
                found.append(
                    StageStats(
                        instrument.kind,
                        stage.id,
                        cohort,
                        len(members),
                        sum(1 for a in mine if a),
                        sum(1 for a in mine if any(x.submitted for x in a)),
                    )
                )
    return found


async def non_respondents(
    db: Database, content: Content, kind: str, stage: str, now: datetime
) -> list[Participant]:
    """Enrolled participants whose cohort's window has opened and who have not submitted."""
    instrument = content.instrument(kind)
    found_stage = instrument.stage(stage) if instrument else None
    if instrument is None or found_stage is None:
        return []
    async with db.read() as conn:
        people = [p for p, _ in await repo.bound_participants(conn)]
        result = []
        for participant in people:
            if now < window_for(content, instrument, found_stage, participant.cohort).opens:
                continue
            latest = await store.latest_attempt(conn, participant.id, kind, stage)
            if latest is None or not latest.submitted:
                result.append(participant)
    return result


async def nudge_now(
    db: Database,
    content: Content,
    kind: str,
    stage_id: str,
    translator: Translator,
    now: datetime,
) -> int:
    """Queue a nudge to every non-respondent whose window is open; at most one a day each."""
    instrument = content.instrument(kind)
    stage = instrument.stage(stage_id) if instrument else None
    campaign = next((c for c in content.programme.campaigns if c.kind == "nudge"), None)
    if instrument is None or stage is None or campaign is None:
        return 0
    queued = 0
    async with db.read() as conn:
        bindings = {p.id: b for p, b in await repo.bound_participants(conn) if b.reachable}
    targets = await non_respondents(db, content, kind, stage_id, now)
    async with db.transaction() as conn:
        for participant in targets:
            binding = bindings.get(participant.id)
            window = window_for(content, instrument, stage, participant.cohort)
            if binding is None or window.state(now) is not None:
                continue
            step = Step(
                f"manual:{kind}:{stage_id}", campaign, now, instrument=instrument, stage=stage
            )
            t = Translator(participant.language or "fr", translator.tz)
            if await outbox.enqueue(
                conn,
                key=f"{step.prefix}:{now.date().isoformat()}:{participant.id}",
                kind="nudge",
                source=f"manual:{kind}:{stage_id}",
                participant_id=participant.id,
                chat_id=binding.chat_id,
                payload=render(step, participant.cohort, content, t),
                due_at=now,
                now=now,
            ):
                queued += 1
    return queued
