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
from bot.storage import Database, outbox, repo
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


def render(delivery: Delivery, content: Content, t: Translator) -> dict[str, Any]:
    """The message in the participant's language: text, and a Start button where it helps."""
    loc = t.locale
    session, instrument, stage = delivery.session, delivery.instrument, delivery.stage
    if session is not None:
        lines = [
            t.gettext("⏰ Reminder: <b>%(title)s</b>", title=escape(session.title.get(loc))),
            t.moment(session.start_utc),
        ]
        if session.link:
            lines.append(t.gettext("Online: %(link)s", link=escape(session.link)))
        elif session.place is not None:
            lines.append(t.gettext("Place: %(place)s", place=escape(session.place.get(loc))))
        return {"text": t.bidi("\n".join(lines))}
    assert instrument is not None
    assert stage is not None
    window = window_for(content, instrument, stage, delivery.participant.cohort)
    title = f"{instrument.title.get(loc)} · {stage.title.get(loc)}"
    if delivery.campaign.kind == "invitation":
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
        if delivery.campaign.kind == "invitation"
        else t.gettext("Continue: %(title)s", title=title),
        "data": f"{OPEN_PREFIX}:{instrument.kind}:{stage.id}",
    }
    payload: dict[str, Any] = {"text": t.bidi(text), "buttons": [[button]]}
    if delivery.campaign.kind == "nudge":
        # Checked again at send time: whoever submits in between is not nudged.
        payload["unless_submitted"] = [instrument.kind, stage.id]
    return payload


@dataclass
class PlanReport:
    """What one planner run did."""

    queued: int = 0
    skipped: int = 0
    next_due: datetime | None = None
    due_times: list[datetime] = field(default_factory=list)


async def plan(
    db: Database,
    content: Content,
    translator: Callable[[str], Translator],
    now: datetime,
) -> PlanReport:
    """Queue every delivery now due; record as skipped those missed beyond their grace."""
    report = PlanReport()
    async with db.read() as conn:
        people = await repo.bound_participants(conn)
        known = await outbox.known_keys(conn)
        submitted: dict[int, set[tuple[str, str]]] = {p.id: set() for p, _ in people}
        # One query for everyone: a query per participant does not scale to thousands.
        async with conn.execute(
            "SELECT participant_id, instrument, stage FROM attempts WHERE submitted_at IS NOT NULL"
        ) as cur:
            # fetchall: one trip to the database thread, not one per chunk of rows.
            for row in await cur.fetchall():
                submitted.setdefault(row[0], set()).add((row[1], row[2]))
    future: set[datetime] = set()
    for cohort in {participant.cohort for participant, _ in people}:
        future.update(step.due_at for step in cohort_steps(content, cohort) if step.due_at > now)
    rows: list[outbox.NewRow] = []
    missed: dict[tuple[str, str], str | None] = {}
    async with db.transaction() as conn:
        for participant, binding in people:
            for step in cohort_steps(content, participant.cohort):
                if step.due_at > now:
                    break  # sorted: the rest is in the future
                if f"{step.prefix}:{participant.id}" in known:
                    continue
                if not _applies(step, submitted[participant.id]):
                    continue
                delivery = step.for_participant(participant)
                # The same for everyone in the cohort: worked out once per step.
                cached = (step.prefix, participant.cohort)
                if cached not in missed:
                    missed[cached] = _missed(delivery, content, now)
                reason = missed[cached]
                kind = KIND_OF[delivery.campaign.kind]
                payload: dict[str, Any] = {}
                if reason is None:
                    t = translator(participant.language or "fr")
                    payload = render(delivery, content, t)
                    report.queued += 1
                else:
                    report.skipped += 1
                rows.append(
                    outbox.NewRow(
                        key=delivery.key,
                        kind=kind,
                        source=delivery.campaign.id,
                        participant_id=participant.id,
                        chat_id=binding.chat_id,
                        payload=payload,
                        due_at=delivery.due_at,
                        status="pending" if reason is None else "skipped",
                        reason=reason,
                    )
                )
        # One statement for all: a round trip per row does not scale to thousands.
        await outbox.enqueue_many(conn, rows, now)
    report.due_times = sorted(future)
    report.next_due = report.due_times[0] if report.due_times else None
    return report


def _missed(delivery: Delivery, content: Content, now: datetime) -> str | None:
    """Why a due delivery must not go out now, if it must not."""
    if delivery.session is not None and delivery.session.start_utc <= now:
        return "session already started"
    if delivery.instrument is not None and delivery.stage is not None:
        window = window_for(
            content, delivery.instrument, delivery.stage, delivery.participant.cohort
        )
        if now >= window.closes:
            return "questionnaire closed"
    if now > delivery.due_at + delivery.campaign.grace.delta:
        return "missed: the bot was not running at the time"
    return None
