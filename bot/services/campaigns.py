"""Scheduled messages: which reminder, invitation or nudge is due for whom, queued exactly once.

Deliveries are computed from the content and the database, never stored ahead: a
participant who submits stops being nudged, a content change moves the reminders.
Each delivery has a key (campaign, step, participant); the outbox refuses a key it
already has, so a restart or a second planner run cannot queue a message twice.

A campaign whose ``audience`` is ``supervisors`` writes to supervisors instead: one
message per supervisor and step, saying how many people they are asked about, keyed
(campaign, step, cohorts, supervisor). The cohorts whose step falls at the same instant
share one message, so a line manager whose counsellors are in three cohorts with the
same window is invited once, not three times.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

import aiosqlite

from bot.content import Content
from bot.content.instruments import Instrument, Stage
from bot.content.models import Campaign, Invitation, Nudge, Session, SessionReminder
from bot.i18n import Translator
from bot.outgoing import Guard, OutgoingMessage
from bot.rules.questionnaire import window_for
from bot.storage import Database, outbox
from bot.views import campaigns as views

KIND_OF = {"session-reminder": "reminder", "invitation": "invitation", "nudge": "nudge"}


@dataclass(frozen=True, slots=True)
class Step:
    """A delivery for a whole cohort; a participant's key adds their id."""

    prefix: str
    campaign: Campaign
    due_at: datetime
    session: Session | None = None
    instrument: Instrument | None = None
    stage: Stage | None = None
    number: int = 0

    @property
    def for_supervisors(self) -> bool:
        """Whether the step writes to the supervisors of the cohort's people."""
        return self.instrument is not None and self.instrument.audience == "supervisors"


# The schedule depends only on the content and the cohort: computed once per version.
_STEPS: dict[tuple[str, str], list[Step]] = {}


def cohort_steps(content: Content, cohort: str) -> list[Step]:
    """Every delivery the campaigns plan for a cohort, by due time."""
    key = (content.version, cohort)
    if key in _STEPS:
        return _STEPS[key]
    if len(_STEPS) > 64:
        _STEPS.clear()
    found: list[Step] = []
    programme = content.programme
    for campaign in programme.campaigns:
        if isinstance(campaign, SessionReminder):
            for session in programme.sessions_for(cohort):
                for delay in campaign.before:
                    found.append(
                        Step(
                            f"{campaign.id}:{session.id}:{delay.label}",
                            campaign,
                            session.start_utc - delay.delta,
                            session=session,
                        )
                    )
            continue
        for instrument in content.for_campaign(campaign.instruments, campaign.audience):
            for stage in instrument.stages:
                window = window_for(content, instrument, stage, cohort)
                base = f"{campaign.id}:{instrument.id}:{stage.id}"
                if isinstance(campaign, Invitation):
                    found.append(
                        Step(base, campaign, window.opens, instrument=instrument, stage=stage)
                    )
                    continue
                for number in range(1, campaign.max + 1):
                    due_at = window.opens + number * campaign.every.delta
                    if due_at >= window.closes:
                        break
                    found.append(
                        Step(
                            f"{base}:{number}",
                            campaign,
                            due_at,
                            instrument=instrument,
                            stage=stage,
                            number=number,
                        )
                    )
    found.sort(key=lambda step: step.due_at)
    _STEPS[key] = found
    return found


def render(step: Step, cohort: str, content: Content, t: Translator) -> OutgoingMessage:
    """The step's message in the participant's language, with its delivery guard."""
    if step.session is not None:
        return views.reminder(t, step.session)
    if step.instrument is None or step.stage is None:
        raise ValueError(f"step {step.prefix}: neither a session nor a questionnaire stage")
    if step.for_supervisors:
        raise ValueError(f"step {step.prefix}: a supervisors' step (render_for_supervisors)")
    closes = window_for(content, step.instrument, step.stage, cohort).closes
    if isinstance(step.campaign, Invitation):
        return views.invitation(t, step.instrument, step.stage, closes)
    message = views.nudge(t, step.instrument, step.stage, closes)
    return replace(message, unless_submitted=guard(step))


def render_for_supervisors(
    step: Step, cohort: str, content: Content, t: Translator, count: int
) -> OutgoingMessage:
    """The step's message to a supervisor asked about ``count`` people (no names: it is
    shared by every supervisor with that count and language)."""
    if step.instrument is None or step.stage is None:
        raise ValueError(f"step {step.prefix}: not a questionnaire stage")
    closes = window_for(content, step.instrument, step.stage, cohort).closes
    if isinstance(step.campaign, Invitation):
        return views.supervisor_invitation(t, step.instrument, step.stage, closes, count)
    return views.supervisor_nudge(t, step.instrument, step.stage, closes, count)


def guard(step: Step, cohorts: tuple[str, ...] = ()) -> Guard | None:
    """A nudge's guard: nobody is nudged about a stage they have submitted (the outbox
    applies it when planning and again when sending); a supervisor, once they have
    answered about everyone they supervise in ``cohorts``."""
    if not isinstance(step.campaign, Nudge) or step.instrument is None or step.stage is None:
        return None
    return Guard(step.instrument.id, step.stage.id, cohorts)


def sharing(content: Content, step: Step) -> tuple[str, ...]:
    """The cohorts whose step of the same prefix falls at the same instant (from the
    content alone, so that the key stays the same at every run)."""
    return tuple(
        cohort
        for cohort in sorted(content.programme.cohort_ids)
        if any(
            other.prefix == step.prefix and other.due_at == step.due_at
            for other in cohort_steps(content, cohort)
        )
    )


@dataclass(frozen=True, slots=True)
class Missed:
    """A step that will never go out to a cohort, and why."""

    cohort: str
    step: str
    reason: str


@dataclass
class PlanReport:
    """What one planner run did."""

    queued: int = 0
    missed: list[Missed] = field(default_factory=list)
    due_times: list[datetime] = field(default_factory=list)


async def plan(
    db: Database,
    content: Content,
    translator: Callable[[str], Translator],
    now: datetime,
    default_locale: str,
) -> PlanReport:
    """Queue every delivery now due; record once per cohort the steps missed beyond grace."""
    report = PlanReport()
    future: set[datetime] = set()
    async with db.transaction() as conn:
        audience = await outbox.audience(conn, default_locale)
        marks = await outbox.plan_marks(conn)
        for cohort, languages in audience.languages.items():
            for step in cohort_steps(content, cohort):
                if step.due_at > now:
                    future.add(step.due_at)
                    continue
                mark = marks.get((cohort, step.prefix))
                # Missed stays missed. Otherwise, if nobody enrolled or changed cohort
                # since the step was planned, every row it needs is there: no full pass.
                if mark is not None and (
                    mark.reason is not None or mark.fingerprint == audience.fingerprint
                ):
                    continue
                reason = _missed(step, cohort, content, now)
                if reason is None and step.for_supervisors:
                    report.queued += await _enqueue_supervisors(
                        conn, step, cohort, content, translator, now, default_locale
                    )
                elif reason is None:
                    report.queued += await outbox.enqueue_cohort(
                        conn,
                        outbox.CohortStep(
                            prefix=step.prefix,
                            kind=KIND_OF[step.campaign.kind],
                            source=step.campaign.id,
                            cohort=cohort,
                            due_at=step.due_at,
                            messages={
                                language: render(step, cohort, content, translator(language))
                                for language in languages
                            },
                            default_locale=default_locale,
                        ),
                        now,
                    )
                elif mark is None:
                    report.missed.append(Missed(cohort, step.prefix, reason))
                else:
                    reason = None  # it went out before; only people enrolled since miss it
                await outbox.mark_planned(
                    conn, outbox.Mark(cohort, step.prefix, audience.fingerprint, reason, now)
                )
    report.due_times = sorted(future)
    return report


async def _enqueue_supervisors(
    conn: aiosqlite.Connection,
    step: Step,
    cohort: str,
    content: Content,
    translator: Callable[[str], Translator],
    now: datetime,
    default_locale: str,
) -> int:
    """Queue the step for every bound supervisor of someone in its cohorts who lacks it."""
    cohorts = sharing(content, step)
    planned = outbox.SupervisorStep(
        prefix=step.prefix,
        kind=KIND_OF[step.campaign.kind],
        source=step.campaign.id,
        cohorts=cohorts,
        due_at=step.due_at,
        guard=guard(step, cohorts),
        default_locale=default_locale,
    )
    recipients = await outbox.supervisor_recipients(conn, planned)
    messages = {
        (r.language, r.count): render_for_supervisors(
            step, cohort, content, translator(r.language), r.count
        )
        for r in recipients
    }
    return await outbox.enqueue_supervisors(conn, planned, recipients, messages, now)


def _missed(step: Step, cohort: str, content: Content, now: datetime) -> str | None:
    """Why a due delivery must not go out now, if it must not."""
    if step.session is not None and step.session.start_utc <= now:
        return "session already started"
    if step.instrument is not None and step.stage is not None:
        window = window_for(content, step.instrument, step.stage, cohort)
        if now >= window.closes:
            return "questionnaire closed"
    if now > step.due_at + step.campaign.grace.delta:
        return "missed: the bot was not running at the time"
    return None
