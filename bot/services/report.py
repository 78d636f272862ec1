"""The evaluation report's figures (Kirkpatrick levels 1 to 3), aggregates only.

Every figure is a ``Cell`` that knows how many respondents it stands on; a cell with
fewer than ``k`` respondents is suppressed and shown as "< k" everywhere, charts
included, so that no individual result can be read from the report.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from statistics import fmean
from typing import Any

from bot.content import Content
from bot.content.instruments import Instrument, Item
from bot.services.certificates import certificate_statuses
from bot.services.questionnaire import window_for
from bot.services.scores import normalised_gain, score
from bot.storage import Database, repo
from bot.storage import answers as store
from bot.storage.repo import Participant


@dataclass(frozen=True, slots=True)
class Cell:
    """A figure and the number of respondents behind it."""

    n: int
    value: float | None
    suppressed: bool

    @classmethod
    def of(cls, n: int, value: float | None, k: int) -> Cell:
        small = n < k
        return cls(n, None if small else value, small)


@dataclass(frozen=True, slots=True)
class Rate:
    """Response rate of one stage for one cohort (or all: ``cohort`` None)."""

    instrument: str
    stage: str
    cohort: str | None
    invited: int
    submitted: Cell  # value: the rate, 0..1


@dataclass(frozen=True, slots=True)
class ItemFigures:
    """One rated or choice item: mean, share satisfied (4-5), distribution."""

    item: Item
    respondents: int
    mean: Cell
    satisfied: Cell
    # Option id (or "1".."5") -> count, each suppressed below k.
    distribution: dict[str, Cell]


@dataclass(frozen=True, slots=True)
class Breakdown:
    """A figure by group (cohort or gender)."""

    group: str
    value: Cell


@dataclass(frozen=True, slots=True)
class KatFigures:
    """Level 2: pre and post scores of participants who took both."""

    maximum: int
    pre_mean: Cell
    post_mean: Cell
    improved: Cell  # share who improved
    normalised_gain: Cell
    # Question id -> (facility before, facility after), as shares correct.
    facility: dict[str, tuple[Cell, Cell]]
    by_cohort: list[Breakdown]
    by_gender: list[Breakdown]


@dataclass(frozen=True, slots=True)
class CertificateFigures:
    participants: int
    participation: Cell
    success: Cell
    # Reason -> count of participants for whom it is missing (success certificate).
    missing: dict[str, Cell]


@dataclass
class Figures:
    """Everything the report shows."""

    generated_at: datetime
    k: int
    participants: int
    rates: list[Rate] = field(default_factory=list)
    satisfaction: list[ItemFigures] = field(default_factory=list)
    satisfaction_by_cohort: list[Breakdown] = field(default_factory=list)
    satisfaction_by_gender: list[Breakdown] = field(default_factory=list)
    kat: KatFigures | None = None
    followup: list[ItemFigures] = field(default_factory=list)
    # Item id -> the open answers, without identity (empty when suppressed).
    open_answers: dict[str, list[str]] = field(default_factory=dict)
    open_suppressed: dict[str, bool] = field(default_factory=dict)
    certificates: CertificateFigures | None = None


async def _submitted(db: Database, kind: str) -> list[tuple[Participant, str, dict[str, Any]]]:
    """(participant, stage, answers) of every latest submitted attempt at an instrument."""
    async with db.read() as conn:
        people = {p.id: p for p in await repo.list_participants(conn)}
        found = await store.submitted_with_answers(conn, kind)
    return [
        (people[attempt.participant_id], attempt.stage, answers)
        for attempt, answers in found
        if attempt.participant_id in people
    ]


def _item_figures(item: Item, values: list[Any], k: int) -> ItemFigures:
    answered = [v for v in values if v is not None]
    n = len(answered)
    counts: Counter[str] = Counter()
    for value in answered:
        for one in value if isinstance(value, list) else [value]:
            counts[str(one)] += 1
    keys = (
        [str(p) for p in range(1, 6)]
        if item.type == "scale"
        else [o.id for o in item.options or []]
    )
    numbers = [float(v) for v in answered if isinstance(v, int)]
    distribution = {key: Cell.of(counts[key], float(counts[key]), k) for key in keys}
    if item.type != "multi":
        _suppress_complement(distribution, n >= k)
    return ItemFigures(
        item,
        n,
        Cell.of(n, fmean(numbers) if numbers else None, k),
        Cell.of(n, sum(1 for v in numbers if v >= 4) / n if numbers else None, k),
        distribution,
    )


def _suppress_complement(cells: dict[str, Cell], total_shown: bool) -> None:
    """With the total shown, one hidden count follows by subtraction: hide a second one."""
    hidden = [key for key, cell in cells.items() if cell.suppressed and cell.n]
    if not total_shown or len(hidden) != 1:
        return
    visible = [key for key, cell in cells.items() if not cell.suppressed and cell.n]
    if visible:
        smallest = min(visible, key=lambda key: cells[key].n)
        cells[smallest] = Cell(cells[smallest].n, None, True)


def _mean_by(groups: dict[str, list[float]], k: int) -> list[Breakdown]:
    return [
        Breakdown(group, Cell.of(len(values), fmean(values) if values else None, k))
        for group, values in sorted(groups.items())
    ]


async def figures(db: Database, content: Content, now: datetime, k: int = 5) -> Figures:
    """Compute every figure of the report from the database."""
    async with db.read() as conn:
        people = [p for p, _ in await repo.bound_participants(conn)]
    result = Figures(now, k, len(people))
    await _rates(db, content, people, now, result)
    satisfaction = content.instrument("satisfaction")
    if satisfaction is not None:
        rows = await _submitted(db, "satisfaction")
        rated = [i for i in satisfaction.items if i.type in ("scale", "single", "multi")]
        result.satisfaction = [
            _item_figures(item, [a.get(item.id) for _, _, a in rows], k) for item in rated
        ]
        by_cohort: dict[str, list[float]] = {}
        by_gender: dict[str, list[float]] = {}
        for participant, _stage, answers in rows:
            scores = [float(v) for i in rated if isinstance(v := answers.get(i.id), int)]
            if scores:
                by_cohort.setdefault(participant.cohort, []).append(fmean(scores))
                by_gender.setdefault(participant.gender or "unknown", []).append(fmean(scores))
        result.satisfaction_by_cohort = _mean_by(by_cohort, k)
        result.satisfaction_by_gender = _mean_by(by_gender, k)
        _open(satisfaction, rows, k, result)
    kat = content.instrument("kat")
    if kat is not None:
        result.kat = _kat(kat, await _submitted(db, "kat"), k)
    followup = content.instrument("followup")
    if followup is not None:
        rows = await _submitted(db, "followup")
        result.followup = [
            _item_figures(item, [a.get(item.id) for _, _, a in rows], k)
            for item in followup.items
            if item.type in ("scale", "single", "multi")
        ]
        _open(followup, rows, k, result)
    result.certificates = await _certificates(db, content, people, k)
    return result


async def _rates(
    db: Database, content: Content, people: list[Participant], now: datetime, result: Figures
) -> None:
    async with db.read() as conn:
        done = {
            (a.participant_id, a.instrument, a.stage)
            for kind in content.instruments
            for a in await store.submitted_attempts(conn, kind)
        }
    for instrument in content.instruments.values():
        for stage in instrument.stages:
            opened = [
                p for p in people if window_for(content, instrument, stage, p.cohort).opens <= now
            ]
            if not opened:
                continue
            for cohort in [None, *sorted(content.programme.cohort_ids)]:
                group = [p for p in opened if cohort is None or p.cohort == cohort]
                if not group:
                    continue
                submitted = sum(1 for p in group if (p.id, instrument.kind, stage.id) in done)
                result.rates.append(
                    Rate(
                        instrument.kind,
                        stage.id,
                        cohort,
                        len(group),
                        Cell.of(submitted, submitted / len(group), result.k),
                    )
                )


def _open(
    instrument: Instrument,
    rows: list[tuple[Participant, str, dict[str, Any]]],
    k: int,
    result: Figures,
) -> None:
    for item in instrument.items:
        if item.type != "text":
            continue
        texts = sorted(str(a[item.id]) for _, _, a in rows if a.get(item.id))
        # Too few answers could be told apart: suppressed like any small cell.
        result.open_suppressed[item.id] = 0 < len(texts) < k
        result.open_answers[item.id] = [] if len(texts) < k else texts


def _kat(
    kat: Instrument, rows: list[tuple[Participant, str, dict[str, Any]]], k: int
) -> KatFigures:
    by_participant: dict[int, dict[str, dict[str, Any]]] = {}
    people: dict[int, Participant] = {}
    for participant, stage, answers in rows:
        by_participant.setdefault(participant.id, {})[stage] = answers
        people[participant.id] = participant
    both = {pid: s for pid, s in by_participant.items() if "pre" in s and "post" in s}
    pre = {pid: score(kat, s["pre"]) for pid, s in both.items()}
    post = {pid: score(kat, s["post"]) for pid, s in both.items()}
    n = len(both)
    gains = [
        g for pid in both if (g := normalised_gain(pre[pid], post[pid], kat.max_score)) is not None
    ]
    facility: dict[str, tuple[Cell, Cell]] = {}
    for item in kat.items:
        cells = []
        for stage in ("pre", "post"):
            takers = [s[stage] for s in by_participant.values() if stage in s]
            right = sum(1 for a in takers if a.get(item.id) == item.answer)
            cells.append(Cell.of(len(takers), right / len(takers) if takers else None, k))
        facility[item.id] = (cells[0], cells[1])
    cohorts: dict[str, list[float]] = {}
    genders: dict[str, list[float]] = {}
    for pid in both:
        gain = normalised_gain(pre[pid], post[pid], kat.max_score)
        if gain is None:
            continue
        cohorts.setdefault(people[pid].cohort, []).append(gain)
        genders.setdefault(people[pid].gender or "unknown", []).append(gain)
    return KatFigures(
        kat.max_score,
        Cell.of(n, fmean(pre.values()) if n else None, k),
        Cell.of(n, fmean(post.values()) if n else None, k),
        Cell.of(n, sum(1 for pid in both if post[pid] > pre[pid]) / n if n else None, k),
        Cell.of(len(gains), fmean(gains) if gains else None, k),
        facility,
        _mean_by(cohorts, k),
        _mean_by(genders, k),
    )


async def _certificates(
    db: Database, content: Content, people: list[Participant], k: int
) -> CertificateFigures | None:
    participation = success = 0
    missing: Counter[str] = Counter()
    found = await certificate_statuses(db, content, people)
    if found is None:
        return None
    statuses = len(found)
    for status in found.values():
        participation += status.participation.obtained
        success += status.success.obtained
        level = status.success
        if level.absent or level.unrecorded:
            missing["attendance"] += 1
        if level.quiz_missing:
            missing["quiz"] += 1
        if level.plan_missing:
            missing["plan"] += 1
    return CertificateFigures(
        statuses,
        Cell.of(participation, float(participation), k),
        Cell.of(success, float(success), k),
        {reason: Cell.of(count, float(count), k) for reason, count in missing.most_common()},
    )
