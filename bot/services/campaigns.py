"""Scheduled messages: which reminder, invitation or nudge is due for whom, queued exactly once.

Deliveries are computed from the content and the database, never stored ahead: a
participant who submits stops being nudged, a content change moves the reminders.
Each delivery has a key (campaign, step, participant); the outbox refuses a key it
already has, so a restart or a second planner run cannot queue a message twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.content import Content
from bot.content.instruments import Instrument, Stage
from bot.content.models import Campaign, Session
from bot.i18n import Translator, escape
from bot.services.questionnaire import OPEN_PREFIX, window_for
from bot.storage import Database, outbox
from bot.storage.repo import Participant

KIND_OF = {"session-reminder": "reminder", "invitation": "invitation", "nudge": "nudge"}


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message a participant should get at ``due_at``."""

    key: str
    campaign: Campaign
    participant: Participant
    due_at: datetime
    session: Session | None = None
    instrument: Instrument | None = None
    stage: Stage | None = None
    number: int = 0


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

    def for_participant(self, participant: Participant) -> Delivery:
        return Delivery(
            f"{self.prefix}:{participant.id}",
            self.campaign,
            participant,
            self.due_at,
            self.session,
            self.instrument,
            self.stage,
            self.number,
        )


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
        if campaign.kind == "session-reminder":
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
        for kind in campaign.instruments:
            instrument = content.instrument(kind)
            if instrument is None:
                continue
            for stage in instrument.stages:
                window = window_for(content, instrument, stage, cohort)
                base = f"{campaign.id}:{kind}:{stage.id}"
                if campaign.kind == "invitation":
                    found.append(
                        Step(base, campaign, window.opens, instrument=instrument, stage=stage)
                    )
                    continue
                assert campaign.every is not None
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


def _applies(step: Step, submitted: set[tuple[str, str]]) -> bool:
    """Nudges stop for a stage once submitted; everything else always applies."""
    if step.campaign.kind != "nudge" or step.instrument is None or step.stage is None:
        return True
    return (step.instrument.kind, step.stage.id) not in submitted


def deliveries_for(
    content: Content, participant: Participant, submitted: set[tuple[str, str]]
) -> list[Delivery]:
    """Everything the campaigns plan for one participant, past and future, by due time."""
    return [
        step.for_participant(participant)
        for step in cohort_steps(content, participant.cohort)
        if _applies(step, submitted)
    ]


def render(step: Step, cohort: str, content: Content, t: Translator) -> dict[str, Any]:
    """The message in the participant's language: text, and a Start button where it helps."""
    loc = t.locale
    session, instrument, stage = step.session, step.instrument, step.stage
    if session is not None:
        lines = [
            t.gettext("⏰ Reminder: <b>%(title)s</b>", title=escape(session.title.get(loc))),
            t.moment(session.shown_utc),
        ]
        if session.link:
            lines.append(t.gettext("Online: %(link)s", link=escape(session.link)))
        elif session.place is not None:
            lines.append(t.gettext("Place: %(place)s", place=escape(session.place.get(loc))))
        return {"text": t.bidi("\n".join(lines))}
    assert instrument is not None
    assert stage is not None
    window = window_for(content, instrument, stage, cohort)
    title = f"{instrument.title.get(loc)} · {stage.title.get(loc)}"
    if step.campaign.kind == "invitation":
        text = t.gettext(
            "📝 <b>%(title)s</b> is open until %(when)s.",
            title=escape(title),
            when=t.moment(window.closes),
        )
        if instrument.intro is not None:
            text += "\n\n" + escape(instrument.intro.get(loc))
    else:
        text = t.gettext(
            "📝 Your answers to <b>%(title)s</b> are still awaited, until %(when)s.",
            title=escape(title),
            when=t.moment(window.closes),
        )
    button = {
        "text": t.gettext("Start: %(title)s", title=title)
        if step.campaign.kind == "invitation"
        else t.gettext("Continue: %(title)s", title=title),
        "data": f"{OPEN_PREFIX}:{instrument.kind}:{stage.id}",
    }
    payload: dict[str, Any] = {"text": t.bidi(text), "buttons": [[button]]}
    if step.campaign.kind == "nudge":
        # Checked again at send time: whoever submits in between is not nudged.
        payload["unless_submitted"] = [instrument.kind, stage.id]
    return payload


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
    next_due: datetime | None = None
    due_times: list[datetime] = field(default_factory=list)


async def plan(
    db: Database,
    content: Content,
    translator: Callable[[str], Translator],
    now: datetime,
) -> PlanReport:
    """Queue every delivery now due; record once per cohort the steps missed beyond grace."""
    report = PlanReport()
    future: set[datetime] = set()
    async with db.transaction() as conn:
        audience = await outbox.audience(conn)
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
                if reason is None:
                    report.queued += await outbox.enqueue_cohort(
                        conn,
                        outbox.CohortStep(
                            prefix=step.prefix,
                            kind=KIND_OF[step.campaign.kind],
                            source=step.campaign.id,
                            cohort=cohort,
                            due_at=step.due_at,
                            payloads={
                                language: render(step, cohort, content, translator(language))
                                for language in languages
                            },
                            unless_submitted=_unless_submitted(step),
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
    report.next_due = report.due_times[0] if report.due_times else None
    return report


def _unless_submitted(step: Step) -> tuple[str, str] | None:
    """The stage whose submission makes a nudge pointless."""
    if step.campaign.kind != "nudge" or step.instrument is None or step.stage is None:
        return None
    return step.instrument.kind, step.stage.id


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
