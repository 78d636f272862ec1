"""Response figures for coordinators, and manual nudges to those who have not answered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.content import Content
from bot.content.models import Nudge
from bot.i18n import Translator
from bot.rules.questionnaire import window_for
from bot.services.access import choose_locale
from bot.services.campaigns import Step, render
from bot.storage import Database, outbox, repo, tally
from bot.storage import answers as store
from bot.storage import stats as count_rows
from bot.storage.repo import Participant


@dataclass(frozen=True, slots=True)
class StageStats:
    """One stage of one instrument for one cohort; ``opened`` False: not open yet."""

    instrument: str
    stage: str
    cohort: str
    opened: bool
    roster: int = 0
    enrolled: int = 0
    started: int = 0
    submitted: int = 0

    @property
    def rate(self) -> float:
        """Submitted over the people on the roster (the report's base)."""
        return self.submitted / self.roster if self.roster else 0.0


async def response_counts(
    db: Database, content: Content, now: datetime
) -> dict[tuple[str, str], dict[str, tuple[int, int, int] | None]]:
    """(instrument, stage) -> cohort -> (on the roster, enrolled, responded), or None when
    the stage has not opened for that cohort. /stats, /pending and the report share it."""
    async with db.transaction() as conn:
        # The counted attempts (latest submitted per person and stage) are the report's.
        await tally.ensure(conn, content)
        sizes = await count_rows.roster_sizes(conn)
        answered = await count_rows.counted_responses(conn)
    result: dict[tuple[str, str], dict[str, tuple[int, int, int] | None]] = {}
    for instrument in content.instruments.values():
        for stage in instrument.stages:
            per_cohort: dict[str, tuple[int, int, int] | None] = {}
            for cohort in sorted(content.programme.cohort_ids):
                if window_for(content, instrument, stage, cohort).opens > now:
                    per_cohort[cohort] = None
                    continue
                on_roster, enrolled = sizes.get(cohort, (0, 0))
                per_cohort[cohort] = (
                    on_roster,
                    enrolled,
                    answered.get((instrument.id, stage.id, cohort), 0),
                )
            result[(instrument.id, stage.id)] = per_cohort
    return result


async def stage_stats(db: Database, content: Content, now: datetime) -> list[StageStats]:
    """For every stage and cohort: on the roster, enrolled, started, sent, or not open yet."""
    found = await response_counts(db, content, now)
    async with db.read() as conn:
        started = await count_rows.started_counts(conn)
    result = []
    for (kind, stage), per_cohort in found.items():
        for cohort, counts in per_cohort.items():
            if counts is None:
                result.append(StageStats(kind, stage, cohort, False))
                continue
            roster, enrolled, submitted = counts
            result.append(
                StageStats(
                    kind,
                    stage,
                    cohort,
                    True,
                    roster,
                    enrolled,
                    started.get((kind, stage, cohort), 0),
                    submitted,
                )
            )
    return result


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
    *,
    default_locale: str,
) -> int:
    """Queue a nudge to every non-respondent whose window is open; at most one a day each."""
    instrument = content.instrument(kind)
    stage = instrument.stage(stage_id) if instrument else None
    campaign = next((c for c in content.programme.campaigns if isinstance(c, Nudge)), None)
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
            t = Translator(choose_locale(participant.language, None, default_locale), translator.tz)
            if await outbox.enqueue(
                conn,
                key=f"{step.prefix}:{now.date().isoformat()}:{participant.id}",
                kind="nudge",
                source=f"manual:{kind}:{stage_id}",
                participant_id=participant.id,
                chat_id=binding.chat_id,
                message=render(step, participant.cohort, content, t),
                due_at=now,
                now=now,
            ):
                queued += 1
    return queued
