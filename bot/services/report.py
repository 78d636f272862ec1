"""The evaluation report's figures (Kirkpatrick levels 1 to 3), aggregates only.

Every figure is counted in distinct people and passes the rules of
``bot.services.disclosure`` before it is kept: what this module returns is exactly what
may be published, so a renderer cannot show a hidden number by mistake. Hidden figures
are ``None``. The counts come from the summaries of ``bot.storage.tally``, kept up to date
at submission, so the report does not read every answer.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.content import Content
from bot.content.instruments import Instrument, Item, Stage
from bot.services import disclosure
from bot.services.certificates import certificate_statuses
from bot.services.scores import normalised_change
from bot.services.stats import response_counts
from bot.storage import Database, repo, tally

# Decimals of the figures as printed: the auditor and the rendering agree on them.
MEAN_DECIMALS = 1
SHARE_DECIMALS = 2  # a share is printed as a whole percentage
SCALE = tuple(range(1, 6))
GROUP_DIMENSIONS = ("cohort", "gender")


@dataclass(frozen=True, slots=True)
class Group:
    """A row of a breakdown: one group, or several pooled so that it stands on k people."""

    members: tuple[str, ...]
    n: int
    values: Mapping[str, float | None]


@dataclass(frozen=True, slots=True)
class Breakdown:
    """A figure by cohort or by gender; rows add up to the total."""

    dimension: str
    rows: list[Group]


@dataclass(frozen=True, slots=True)
class Band:
    """Answers given together: one rating point or option, or several pooled."""

    categories: tuple[str, ...]
    n: int


@dataclass(frozen=True, slots=True)
class ItemFigures:
    """One rated or choice item at one stage. ``None`` marks what may not be shown."""

    item: Item
    respondents: int | None
    bands: list[Band] | None = None
    mean: float | None = None
    satisfied: float | None = None  # share of respondents who gave 4 or 5
    ticked: dict[str, int | None] | None = None  # multi: people who ticked each option


@dataclass(frozen=True, slots=True)
class OpenAnswers:
    """The typed answers to one item, without identity; ``None`` when not listed."""

    item: Item
    answers: list[str] | None
    withheld: bool = False  # left out on purpose (the employer's version)


@dataclass
class StageFigures:
    """One stage of a survey (an activity's satisfaction, the follow-up)."""

    instrument: Instrument
    stage: Stage
    respondents: int | None
    items: list[ItemFigures] = field(default_factory=list)
    mean: float | None = None  # mean over people of their mean rating at this stage
    breakdowns: list[Breakdown] = field(default_factory=list)
    open_answers: list[OpenAnswers] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SummaryRow:
    """One rated item over every activity where its mean is shown."""

    item: Item
    by_stage: dict[str, float | None]
    mean: float | None  # over every rating given in the activities shown


@dataclass(frozen=True, slots=True)
class Summary:
    """All activities together; ``people`` counts each person once."""

    people: int | None
    stages: list[Stage]
    rows: list[SummaryRow]


@dataclass(frozen=True, slots=True)
class RateRow:
    """Response to one stage for one cohort (or several pooled); ``cohorts`` empty: all."""

    cohorts: tuple[str, ...]
    roster: int
    enrolled: int
    responded: int

    @property
    def rate(self) -> float:
        return self.responded / self.roster if self.roster else 0.0


@dataclass(frozen=True, slots=True)
class StageRates:
    """Response to one stage, over the roster of the cohorts for which it has opened."""

    instrument: str
    stage: str
    total: RateRow | None  # None: not open for any cohort yet
    rows: list[RateRow]
    not_open: list[str]
    hidden: bool = False  # fewer than k people enrolled or responded in all


@dataclass(frozen=True, slots=True)
class Facility:
    """Share of people answering one question right, before and after."""

    item: Item
    before: float | None
    after: float | None


@dataclass(frozen=True, slots=True)
class KatFigures:
    """Level 2, over the people who took both tests (so that every figure has one base)."""

    maximum: int
    people: int | None
    pre_mean: float | None = None
    post_mean: float | None = None
    class_gain: float | None = None  # Hake's <g>, from the class means
    improved: float | None = None  # share whose score went up
    change: float | None = None  # mean normalised change c (Marx and Cummings)
    change_people: int | None = None
    facility: list[Facility] = field(default_factory=list)
    breakdowns: list[Breakdown] = field(default_factory=list)
    corrections: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CertificateFigures:
    """People who obtained each certificate, and what is missing for the success one."""

    participants: int
    participation: int | None
    success: int | None
    missing: dict[str, int | None]


@dataclass
class Figures:
    """Everything the report shows."""

    generated_at: datetime
    k: int
    participants: int
    with_open_answers: bool = True
    rates: list[StageRates] = field(default_factory=list)
    satisfaction: list[StageFigures] = field(default_factory=list)
    summary: Summary | None = None
    kat: KatFigures | None = None
    followup: list[StageFigures] = field(default_factory=list)
    certificates: CertificateFigures | None = None


# --- building blocks --------------------------------------------------------------------


def _shown(n: int, k: int) -> int | None:
    return n if n >= k else None


def _breakdown(
    dimension: str,
    people: Sequence[tuple[str, Sequence[float]]],
    k: int,
    measures: Mapping[str, int],
) -> Breakdown | None:
    """Group means by ``dimension``, small groups pooled; ``people``: (group, values)."""
    groups: dict[str, list[Sequence[float]]] = defaultdict(list)
    for group, values in people:
        groups[group].append(values)
    pools = disclosure.pool_groups({g: len(v) for g, v in groups.items()}, k)
    if pools is None:
        return None
    rows = []
    for members in pools:
        found = [v for g in members for v in groups[g]]
        rows.append(
            Group(
                members,
                len(found),
                {name: sum(v[i] for v in found) / len(found) for name, i in measures.items()},
            )
        )
    return Breakdown(dimension, rows)


def _scale_figures(item: Item, points: Counter[str], k: int) -> ItemFigures:
    """Bands, mean and share satisfied of a 1-5 item, as the disclosure rules allow."""
    counts = [points[str(p)] for p in SCALE]
    n = sum(counts)
    if n < k:
        return ItemFigures(item, None)
    bands = disclosure.scale_bands(counts, k)
    total = sum(p * c for p, c in zip(SCALE, counts, strict=True))
    mean = total / n
    sums = disclosure.sum_interval(round(mean, MEAN_DECIMALS), n, MEAN_DECIMALS)
    while bands is not None and disclosure.mean_pins_a_point(
        SCALE, bands, [sum(counts[a : b + 1]) for a, b in bands], sums, k
    ):
        bands = disclosure.widen(bands)
    if bands is None and disclosure.mean_pins_a_point(SCALE, [(0, 4)], [n], sums, k):
        return ItemFigures(item, n)
    shown = (
        [
            Band(tuple(str(SCALE[i]) for i in range(a, b + 1)), sum(counts[a : b + 1]))
            for a, b in bands
        ]
        if bands is not None
        else None
    )
    satisfied = None
    if shown is not None:
        top = [b for b in shown if set(b.categories) <= {"4", "5"}]
        if sum(len(b.categories) for b in top) == 2:
            satisfied = sum(b.n for b in top) / n
    return ItemFigures(item, n, shown, mean, satisfied)


def _choice_figures(item: Item, answers: Counter[str], respondents: int, k: int) -> ItemFigures:
    """A single- or multiple-choice item: bands of options, or each option's ticks."""
    if respondents < k:
        return ItemFigures(item, None)
    options = [o.id for o in item.options or []]
    if item.type == "multi":
        ticked = {
            o: answers[o] if disclosure.binary_shown(answers[o], respondents, k) else None
            for o in options
        }
        return ItemFigures(item, respondents, ticked=ticked)
    pooled = disclosure.choice_bands({o: answers[o] for o in options}, k)
    bands = [Band(b, sum(answers[o] for o in b)) for b in pooled] if pooled else None
    return ItemFigures(item, respondents, bands)


# --- sections ---------------------------------------------------------------------------


def _survey_stage(
    instrument: Instrument,
    stage: Stage,
    counts: list[tally.Count],
    people: list[tally.Person],
    k: int,
) -> StageFigures:
    """One stage of a survey: its items, its overall mean and breakdowns."""
    respondents = _shown(len(people), k)
    figures = StageFigures(instrument, stage, respondents)
    if respondents is None:
        return figures
    by_item: dict[str, Counter[str]] = defaultdict(Counter)
    for c in counts:
        by_item[c.item][c.category] += c.n
    for item in instrument.items:
        answers = by_item.get(item.id, Counter())
        if item.type == "scale":
            figures.items.append(_scale_figures(item, answers, k))
        elif item.type in ("single", "multi"):
            answered = _respondents_of(item, counts)
            figures.items.append(_choice_figures(item, answers, answered, k))
    rated = [p for p in people if p.rating is not None]
    if len(rated) >= k:
        figures.mean = sum(p.rating for p in rated if p.rating is not None) / len(rated)
        for dimension in GROUP_DIMENSIONS:
            found = _breakdown(
                dimension,
                [(_group_of(p, dimension), (p.rating or 0.0,)) for p in rated],
                k,
                {"mean": 0},
            )
            if found is not None:
                figures.breakdowns.append(found)
    return figures


def _respondents_of(item: Item, counts: Iterable[tally.Count]) -> int:
    """People who answered an item (the tally's category '*')."""
    return sum(c.n for c in counts if c.item == item.id and c.category == "*")


def _group_of(person: tally.Person, dimension: str) -> str:
    return person.cohort if dimension == "cohort" else person.gender


def _summary(stages: list[StageFigures], people: list[tally.Person], k: int) -> Summary | None:
    """All activities together: each item's mean over the activities where it is shown."""
    shown = [s for s in stages if s.respondents is not None]
    if not shown:
        return None
    rows = []
    for item in shown[0].instrument.items:
        if item.type != "scale":
            continue
        by_stage: dict[str, float | None] = {}
        total = count = 0.0
        for stage in shown:
            found = next((f for f in stage.items if f.item.id == item.id), None)
            if found is None or found.respondents is None:
                continue
            by_stage[stage.stage.id] = found.mean
            if found.mean is not None:
                # Only activities whose mean is shown are pooled: anything else could be
                # recovered by subtraction from the pooled mean.
                total += found.mean * found.respondents
                count += found.respondents
        if by_stage:
            rows.append(SummaryRow(item, by_stage, total / count if count else None))
    ids = {s.stage.id for s in shown}
    distinct = len({p.participant_id for p in people if p.stage in ids})
    return Summary(_shown(distinct, k), [s.stage for s in shown], rows)


async def _rates(db: Database, content: Content, now: datetime, k: int) -> list[StageRates]:
    """Response to every stage over the roster, for the cohorts for which it has opened."""
    found = await response_counts(db, content, now)
    result = []
    for (kind, stage_id), per_cohort in found.items():
        opened = {c: v for c, v in per_cohort.items() if v is not None}
        not_open = sorted(c for c, v in per_cohort.items() if v is None)
        if not opened:
            result.append(StageRates(kind, stage_id, None, [], not_open))
            continue
        total = RateRow((), *(sum(v[i] for v in opened.values()) for i in range(3)))
        if 0 < total.enrolled < k or 0 < total.responded < k:
            result.append(StageRates(kind, stage_id, total, [], not_open, hidden=True))
            continue
        # Small cohorts are pooled on both protected counts, enrolled and responded.
        pools = disclosure.pool_groups(
            {c: min(x for x in v[1:] if x) if any(v[1:]) else 0 for c, v in opened.items()}, k
        )
        while pools is not None and any(
            0 < sum(opened[c][i] for c in pool) < k for pool in pools for i in (1, 2)
        ):
            pools = _merge_smallest(pools, opened)
        rows = [
            RateRow(pool, *(sum(opened[c][i] for c in pool) for i in range(3)))
            for pool in pools or []
        ]
        result.append(StageRates(kind, stage_id, total, rows, not_open))
    return result


def _merge_smallest(
    pools: list[tuple[str, ...]], counts: Mapping[str, tuple[int, int, int]]
) -> list[tuple[str, ...]] | None:
    """Two smallest pools merged (a pool small on one count only); None at one pool."""
    if len(pools) <= 2:
        return None
    ordered = sorted(pools, key=lambda p: sum(counts[c][2] for c in p))
    return sorted([tuple(sorted(ordered[0] + ordered[1])), *ordered[2:]])


def _kat(kat: Instrument, people: list[tally.Person], k: int, corrections: list[str]) -> KatFigures:
    """Level 2 over the people who took the first and the last stage of the quiz."""
    maximum = kat.max_score
    first, last = kat.stages[0].id, kat.stages[-1].id
    by_person: dict[int, dict[str, tally.Person]] = defaultdict(dict)
    for p in people:
        by_person[p.participant_id][p.stage] = p
    both = [(s[first], s[last]) for s in by_person.values() if first in s and last in s]
    n = len(both)
    if n < k or maximum <= 0 or first == last:
        return KatFigures(maximum, _shown(n, k), corrections=corrections)
    pre = [float(a.score or 0) for a, _ in both]
    post = [float(b.score or 0) for _, b in both]
    pre_mean, post_mean = sum(pre) / n, sum(post) / n
    class_gain = (post_mean - pre_mean) / (maximum - pre_mean) if maximum > pre_mean else None
    up = sum(1 for a, b in zip(pre, post, strict=True) if b > a)
    changes = [
        c
        for a, b in zip(pre, post, strict=True)
        if (c := normalised_change(int(a), int(b), maximum)) is not None
    ]
    right_items = {id(p): p.correct_items for pair in both for p in pair}
    facility = []
    for item in kat.items:
        if item.type != "quiz":
            continue
        right = [
            sum(1 for p in pair if item.id in right_items[id(p)])
            for pair in ([a for a, _ in both], [b for _, b in both])
        ]
        facility.append(
            Facility(
                item,
                *(r / n if disclosure.binary_shown(r, n, k) else None for r in right),
            )
        )
    breakdowns = [
        found
        for dimension in GROUP_DIMENSIONS
        if (
            found := _breakdown(
                dimension,
                [
                    (_group_of(a, dimension), (float(a.score or 0), float(b.score or 0)))
                    for a, b in both
                ],
                k,
                {"pre": 0, "post": 1},
            )
        )
        is not None
    ]
    return KatFigures(
        maximum,
        n,
        pre_mean,
        post_mean,
        class_gain,
        up / n if disclosure.binary_shown(up, n, k) else None,
        sum(changes) / len(changes) if len(changes) >= k else None,
        _shown(len(changes), k),
        facility,
        breakdowns,
        corrections,
    )


async def _certificates(
    db: Database, content: Content, scores: Mapping[int, float], k: int
) -> CertificateFigures | None:
    """Certificates obtained among the enrolled, yes/no counts shown by the rules."""
    async with db.read() as conn:
        people = [p for p, _ in await repo.bound_participants(conn)]
    found = await certificate_statuses(db, content, people, scores)
    if found is None:
        return None
    total = len(found)
    participation = sum(1 for s in found.values() if s.participation.obtained)
    success = sum(1 for s in found.values() if s.success.obtained)
    missing: Counter[str] = Counter()
    for status in found.values():
        level = status.success
        missing["attendance"] += bool(level.absent or level.unrecorded)
        missing["quiz"] += level.quiz_missing
        missing["plan"] += level.plan_missing

    def shown(count: int) -> int | None:
        return count if disclosure.binary_shown(count, total, k) else None

    return CertificateFigures(
        total,
        shown(participation),
        shown(success),
        {reason: shown(count) for reason, count in missing.most_common() if count},
    )


async def figures(
    db: Database,
    content: Content,
    now: datetime,
    k: int = 5,
    *,
    open_answers: bool = True,
) -> Figures:
    """Every figure of the report that the disclosure rules let through."""
    async with db.transaction() as conn:
        await tally.ensure(conn, content)
    async with db.read() as conn:
        enrolled = len(await repo.bound_participants(conn))
        counts = await tally.counts(conn)
        people = {kind: await tally.people(conn, kind) for kind in content.instruments}
    result = Figures(now, k, enrolled, open_answers)
    result.rates = await _rates(db, content, now, k)
    by_stage: dict[tuple[str, str], list[tally.Count]] = defaultdict(list)
    for c in counts:
        by_stage[(c.instrument, c.stage)].append(c)
    for kind, instrument in content.instruments.items():
        if kind == "kat":
            continue
        target = result.satisfaction if kind == "satisfaction" else result.followup
        for stage in instrument.stages:
            mine = [p for p in people[kind] if p.stage == stage.id]
            # The arithmetic over every person runs in a worker thread: taps go on meanwhile.
            found = await asyncio.to_thread(
                _survey_stage, instrument, stage, by_stage[(kind, stage.id)], mine, k
            )
            await _open(db, found, len(mine), k, open_answers)
            target.append(found)
    satisfaction = content.instrument("satisfaction")
    if satisfaction is not None:
        result.summary = _summary(result.satisfaction, people["satisfaction"], k)
    kat = content.instrument("kat")
    scores: dict[int, float] = {}
    if kat is not None:
        result.kat = await asyncio.to_thread(_kat, kat, people["kat"], k, [])
        last = kat.stages[-1].id
        scores = {
            p.participant_id: 100 * (p.score or 0) / kat.max_score
            for p in people["kat"]
            if p.stage == last and kat.max_score
        }
    result.certificates = await _certificates(db, content, scores, k)
    return result


async def _open(db: Database, stage: StageFigures, respondents: int, k: int, wanted: bool) -> None:
    """The typed answers of a stage: listed when at least k people answered the item."""
    if respondents < k:
        return
    for item in stage.instrument.items:
        if item.type != "text":
            continue
        if not wanted:
            stage.open_answers.append(OpenAnswers(item, None, withheld=True))
            continue
        async with db.read() as conn:
            texts = await tally.open_answers(conn, stage.instrument.kind, stage.stage.id, item.id)
        # One answer a person: too few could be told apart, like any small cell.
        stage.open_answers.append(OpenAnswers(item, texts if len(texts) >= k else None))
