"""Certificate status by the concept note's rules, from attendance, the final quiz and the plan.

Participation: attend the online introduction and the residential phase, and score at
least the participation threshold in the end-of-course quiz (the KAT post-test).
Success: attend all three phases, score at least the success threshold, and submit
the individual action plan. Thresholds and the sessions required are in the quiz's file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bot.content import Content
from bot.content.instruments import Certificates, anchor_session
from bot.content.models import Session
from bot.services.presence import Member, attended_by_participant, attended_of
from bot.services.scores import attempt_scores, kat_result
from bot.storage import Database, progress
from bot.storage.repo import Participant


@dataclass(frozen=True, slots=True)
class Level:
    """One certificate: obtained, or what is still missing."""

    obtained: bool
    absent: list[Session] = field(default_factory=list)
    unrecorded: list[Session] = field(default_factory=list)
    quiz_percent: float | None = None
    quiz_required: int = 0
    plan_missing: bool = False

    @property
    def quiz_missing(self) -> bool:
        return self.quiz_percent is None or self.quiz_percent < self.quiz_required


@dataclass(frozen=True, slots=True)
class CertificateStatus:
    """Both certificates for one participant."""

    participation: Level
    success: Level


def evaluate(
    rules: Certificates,
    sessions_required: dict[str, list[Session]],
    attendance: dict[str, bool],
    quiz_percent: float | None,
    plan_submitted: bool,
) -> CertificateStatus:
    """Pure rule: which certificate is obtained and what is missing for each."""

    def level(name: str, threshold: int, needs_plan: bool) -> Level:
        required = sessions_required[name]
        absent = [s for s in required if attendance.get(s.id) is False]
        unrecorded = [s for s in required if s.id not in attendance]
        plan_missing = needs_plan and not plan_submitted
        obtained = (
            not absent
            and not unrecorded
            and quiz_percent is not None
            and quiz_percent >= threshold
            and not plan_missing
        )
        return Level(obtained, absent, unrecorded, quiz_percent, threshold, plan_missing)

    return CertificateStatus(
        participation=level("participation", rules.participation, needs_plan=False),
        success=level("success", rules.success, needs_plan=True),
    )


async def certificate_status(
    db: Database, content: Content, participant: Participant
) -> CertificateStatus | None:
    """The participant's status now; None when the content has no KAT (no certificate rules)."""
    kat = content.quiz()
    if kat is None or kat.certificates is None:
        return None
    rules = kat.certificates
    async with db.read() as conn:
        # From the yes/no import, the Zoom report, the check-ins and the e-campus.
        attendance = await attended_of(conn, content.programme, participant)
        plan = await progress.latest_plan(conn, participant.id)
    result = await kat_result(db, content, participant.id)
    percent = result.post_percent if result is not None else None
    required = sessions_required(content, rules, participant.cohort)
    return evaluate(rules, required, attendance, percent, plan is not None)


async def certificate_statuses(
    db: Database,
    content: Content,
    people: Sequence[Member],
    post_percents: Mapping[int, float] | None = None,
) -> dict[int, CertificateStatus] | None:
    """``certificate_status`` for many participants, from a few queries in all.

    ``post_percents`` (participant -> final quiz %), when the caller has them already
    (the report reads them from its summaries), saves reading every quiz answer.
    """
    kat = content.quiz()
    if kat is None or kat.certificates is None:
        return None
    rules = kat.certificates
    stages = content.quiz_stages()
    counted = stages[2].id if stages else None
    async with db.read() as conn:
        attendance = await attended_by_participant(conn, content.programme, people)
        planned = {plan.participant_id for plan in await progress.latest_plans(conn)}
    posts = (
        dict(post_percents)
        if post_percents is not None
        else {
            found.participant_id: found.percent
            for found in await attempt_scores(db, content)
            if found.stage == counted and found.percent is not None
        }
    )
    by_cohort: dict[str, dict[str, list[Session]]] = {}
    statuses = {}
    # Most people share their inputs (cohort, attendance, score, plan): evaluate each
    # combination once, which keeps the report fast at 100,000 participants.
    seen: dict[tuple[object, ...], CertificateStatus] = {}
    for participant in people:
        if participant.cohort not in by_cohort:
            by_cohort[participant.cohort] = sessions_required(content, rules, participant.cohort)
        present = attendance.get(participant.id, {})
        key = (
            participant.cohort,
            tuple(sorted(present.items())),
            posts.get(participant.id),
            participant.id in planned,
        )
        if key not in seen:
            seen[key] = evaluate(
                rules, by_cohort[participant.cohort], present, key[2], bool(key[3])
            )
        statuses[participant.id] = seen[key]
    return statuses


def sessions_required(
    content: Content, rules: Certificates, cohort: str
) -> dict[str, list[Session]]:
    """For each certificate, the cohort's sessions that must be attended."""
    required: dict[str, list[Session]] = {}
    for name, refs in (
        ("participation", rules.participation_attendance),
        ("success", rules.success_attendance),
    ):
        found = [anchor_session(content.programme, ref, cohort) for ref in refs]
        required[name] = [s for s in found if s is not None]
    return required
