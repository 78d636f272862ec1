"""The evaluation report's figures (Kirkpatrick levels 1 to 3), aggregates only.

Every figure is counted in distinct people and passes the rules of
``bot.services.disclosure`` before it is kept: what this module returns is exactly what
may be published, so a renderer cannot show a hidden number by mistake. Hidden figures
are ``None``. The counts come from the summaries of ``bot.storage.tally``, kept up to date
at submission, so the report does not read every answer.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.content import Content
from bot.content.instruments import Instrument, Item, LoopItem, Stage
from bot.content.models import LocalizedText
from bot.services import certification, disclosure, versions
from bot.services.certificates import certificate_statuses
from bot.services.scores import normalised_change
from bot.services.stats import response_counts
from bot.storage import Database, stats, supervisor_results, tally

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
    # A supervisors' stage: ``respondents`` counts questionnaires (one per supervisor and
    # supervisee), these the distinct people behind them; None for a participants' stage.
    supervisors: int | None = None
    supervisees: int | None = None


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
class KeyCorrection:
    """A right answer the course team corrected: answers given under ``was`` re-scored."""

    item: Item
    was: str
    key: str
    reason: LocalizedText
    answers: int | None  # answers re-scored, None when fewer than k


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
    corrections: list[KeyCorrection] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CertificateFigures:
    """People who obtained each certificate, and what is missing for the success one."""

    participants: int
    participation: int | None
    success: int | None
    missing: dict[str, int | None]
    # Certificates issued (approved and not revoked) per level.
    issued: dict[str, int | None] = field(default_factory=dict)


@dataclass
class Section:
    """The figures of one instrument: each stage, then (a survey's) all stages together,
    or (a quiz's) scores before and after."""

    instrument: Instrument
    stages: list[StageFigures] = field(default_factory=list)
    summary: Summary | None = None
    quiz: KatFigures | None = None


@dataclass
class Figures:
    """Everything the report shows."""

    generated_at: datetime
    k: int
    participants: int
    with_open_answers: bool = True
    rates: list[StageRates] = field(default_factory=list)
    # One per instrument, in the content's order.
    sections: list[Section] = field(default_factory=list)
    certificates: CertificateFigures | None = None

    def section(self, instrument_id: str) -> Section | None:
        """The section of this instrument."""
        return next((s for s in self.sections if s.instrument.id == instrument_id), None)

    def stages_of(self, instrument_id: str) -> list[StageFigures]:
        """The stage figures of a survey (empty for a quiz or an unknown id)."""
        found = self.section(instrument_id)
        return found.stages if found is not None else []

    def quiz_of(self, instrument_id: str) -> KatFigures | None:
        """The scores of a quiz (None for a survey or an unknown id)."""
        found = self.section(instrument_id)
        return found.quiz if found is not None else None

    def summary_of(self, instrument_id: str) -> Summary | None:
        """A survey's stages together (None with one stage or nothing shown)."""
        found = self.section(instrument_id)
        return found.summary if found is not None else None


# --- building blocks --------------------------------------------------------------------


def _shown(n: int, k: int) -> int | None:
    return n if n >= k else None


def _breakdown(
    dimension: str,
    groups: Mapping[tuple[str, str], tuple[int, Sequence[float]]],
    k: int,
    measures: Sequence[str],
) -> Breakdown | None:
    """Means by ``dimension``, small groups pooled; ``groups``: (cohort, gender) ->
    (people, the sum of each measure over them)."""
    index = 0 if dimension == "cohort" else 1
    by: dict[str, list[tuple[int, Sequence[float]]]] = defaultdict(list)
    for key, entry in groups.items():
        by[key[index]].append(entry)
    sizes = {g: sum(n for n, _ in found) for g, found in by.items()}
    pools = disclosure.pool_groups(sizes, k)
    if pools is None:
        return None
    rows = []
    for members in pools:
        found = [row for g in members for row in by[g]]
        n = sum(count for count, _ in found)
        rows.append(
            Group(
                members,
                n,
                {name: sum(sums[i] for _, sums in found) / n for i, name in enumerate(measures)},
            )
        )
    return Breakdown(dimension, rows)


def _scale_figures(
    item: Item, points: Counter[str], k: int, fails: disclosure.Fails | None = None
) -> ItemFigures:
    """Bands, mean and share satisfied of a 1-5 item, as the disclosure rules allow.

    ``fails`` (the supervisors' section) says whether some rating points together rest on
    too few people; the default counts answers against k.
    """
    counts = [points[str(p)] for p in SCALE]
    n = sum(counts)
    if n < k:
        return ItemFigures(item, None)

    def band_fails(band: disclosure.Band) -> bool:
        assert fails is not None
        return fails([str(SCALE[i]) for i in range(band[0], band[1] + 1)])

    bands = disclosure.scale_bands(counts, k, band_fails if fails is not None else None)
    total = sum(p * c for p, c in zip(SCALE, counts, strict=True))
    mean = total / n
    sums = disclosure.sum_interval(round(mean, MEAN_DECIMALS), n, MEAN_DECIMALS)

    def pins(shown: list[disclosure.Band]) -> bool:
        totals = [sum(counts[a : b + 1]) for a, b in shown]
        if disclosure.mean_pins_a_point(SCALE, shown, totals, sums, k):
            return True
        if fails is None:
            return False
        # A point the mean fixes is published as surely as a band: it must not rest on
        # too few supervisors or supervisees either, however many answers it holds.
        solved = disclosure.pinned_points(SCALE, shown, totals, sums)
        return any(x and fails([str(SCALE[p])]) for p, x in solved.items())

    while bands is not None and pins(bands):
        bands = disclosure.widen(bands)
    if bands is None and pins([(0, 4)]):
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


def _choice_figures(
    item: Item,
    answers: Counter[str],
    respondents: int,
    k: int,
    fails: disclosure.Fails | None = None,
    ticks_shown: Callable[[str], bool] | None = None,
) -> ItemFigures:
    """A single- or multiple-choice item: bands of options, or each option's ticks.

    ``fails`` and ``ticks_shown`` (the supervisors' section) replace the counts against k
    for a group of options and for one option of a multiple choice.
    """
    if respondents < k:
        return ItemFigures(item, None)
    options = [o.id for o in item.options or []]
    if item.type == "multi":
        ticked = {
            o: answers[o]
            if (
                ticks_shown(o)
                if ticks_shown is not None
                else disclosure.binary_shown(answers[o], respondents, k)
            )
            else None
            for o in options
        }
        return ItemFigures(item, respondents, ticked=ticked)
    pooled = disclosure.choice_bands({o: answers[o] for o in options}, k, fails)
    bands = [Band(b, sum(answers[o] for o in b)) for b in pooled] if pooled else None
    return ItemFigures(item, respondents, bands)


def condition_leaks(condition: ItemFigures | None, answers: Sequence[str]) -> bool:
    """Whether an item shown only after some answers of another would give away, by its
    own count of respondents, a figure that other item's results hide.

    Its respondents are the people who gave those answers: shown beside bands that mix
    answers that open it with answers that do not, they split the band; beside a choice
    item whose bands are all hidden (or a tick count that is), they are that hidden count.
    """
    if condition is None or condition.respondents is None:
        # Not shown at all: the conditional item, among fewer people, fails k on its own.
        return False
    wanted = set(answers)
    if condition.ticked is not None:
        return any(condition.ticked.get(o) is None for o in wanted)
    if condition.bands is None:
        options = {o.id for o in condition.item.options or []}
        if condition.item.type == "scale":
            options = {str(p) for p in SCALE}
        return not options <= wanted
    return any(0 < len(wanted & set(b.categories)) < len(b.categories) for b in condition.bands)


def _leaks(item: Item, shown: dict[str, ItemFigures]) -> bool:
    """``condition_leaks`` for ``item``'s own condition, if it has one on another item."""
    condition = item.show_if
    if condition is None or condition.item is None:
        return False
    return condition_leaks(shown.get(condition.item), condition.answer_in or [])


# --- sections ---------------------------------------------------------------------------


def _survey_stage(
    instrument: Instrument,
    stage: Stage,
    counts: list[tally.Count],
    groups: list[tally.Group],
    k: int,
) -> StageFigures:
    """One stage of a survey: its items, its overall mean and breakdowns."""
    respondents = _shown(sum(g.n for g in groups), k)
    figures = StageFigures(instrument, stage, respondents)
    if respondents is None:
        return figures
    by_item: dict[str, Counter[str]] = defaultdict(Counter)
    for c in counts:
        by_item[c.item][c.category] += c.n
    shown: dict[str, ItemFigures] = {}
    for item in instrument.items:
        if isinstance(item, LoopItem) and all(s != stage.id for s, _ in item.shown_in):
            continue  # a facilitator of other activities: not asked about at this stage
        answers = by_item.get(item.id, Counter())
        if item.type in ("scale", "single", "multi") and _leaks(item, shown):
            result = ItemFigures(item, None)
        elif item.type == "scale":
            result = _scale_figures(item, answers, k)
        elif item.type in ("single", "multi"):
            result = _choice_figures(item, answers, _respondents_of(item, counts), k)
        else:
            continue
        shown[item.id] = result
        figures.items.append(result)
    rated = sum(g.rated for g in groups)
    if rated >= k:
        figures.mean = sum(g.rating_sum for g in groups) / rated
        sums = {(g.cohort, g.gender): (g.rated, (g.rating_sum,)) for g in groups if g.rated}
        for dimension in GROUP_DIMENSIONS:
            found = _breakdown(dimension, sums, k, ["mean"])
            if found is not None:
                figures.breakdowns.append(found)
    return figures


def _respondents_of(item: Item, counts: Iterable[tally.Count]) -> int:
    """People who answered an item (the tally's category '*')."""
    return sum(c.n for c in counts if c.item == item.id and c.category == "*")


def _summary(stages: list[StageFigures], distinct: int, k: int) -> Summary | None:
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


def _kat(
    kat: Instrument,
    pairs: list[tally.Pair],
    right: Mapping[tuple[str, str], int],
    k: int,
    corrections: list[KeyCorrection],
) -> KatFigures:
    """Level 2 over the people who took the first and the last stage of the quiz."""
    maximum = kat.max_score
    first, last = kat.stages[0].id, kat.stages[-1].id
    n = sum(p.n for p in pairs)
    if n < k or maximum <= 0 or first == last:
        return KatFigures(maximum, _shown(n, k), corrections=corrections)
    pre_mean = sum(p.first * p.n for p in pairs) / n
    post_mean = sum(p.last * p.n for p in pairs) / n
    class_gain = (post_mean - pre_mean) / (maximum - pre_mean) if maximum > pre_mean else None
    up = sum(p.n for p in pairs if p.last > p.first)
    changes = [
        (c, p.n) for p in pairs if (c := normalised_change(p.first, p.last, maximum)) is not None
    ]
    changed = sum(count for _, count in changes)
    facility = [
        Facility(
            item,
            *(
                r / n if disclosure.binary_shown(r, n, k) else None
                for r in (right.get((first, item.id), 0), right.get((last, item.id), 0))
            ),
        )
        for item in kat.items
        if item.type == "quiz"
    ]
    sums: dict[tuple[str, str], tuple[int, tuple[float, float]]] = {}
    for p in pairs:
        count, (a, b) = sums.get((p.cohort, p.gender), (0, (0.0, 0.0)))
        sums[(p.cohort, p.gender)] = (count + p.n, (a + p.first * p.n, b + p.last * p.n))
    breakdowns = [
        found
        for dimension in GROUP_DIMENSIONS
        if (found := _breakdown(dimension, sums, k, ["pre", "post"])) is not None
    ]
    return KatFigures(
        maximum,
        n,
        pre_mean,
        post_mean,
        class_gain,
        up / n if disclosure.binary_shown(up, n, k) else None,
        sum(c * count for c, count in changes) / changed if changed >= k else None,
        _shown(changed, k),
        facility,
        breakdowns,
        corrections,
    )


@dataclass(frozen=True, slots=True)
class _Enrolled:
    """An enrolled participant, as much as the certificate rules need."""

    id: int
    cohort: str


async def _certificates(
    db: Database, content: Content, scores: Mapping[int, float], k: int
) -> CertificateFigures | None:
    """Certificates obtained among the enrolled, yes/no counts shown by the rules."""
    async with db.read() as conn:
        people = [_Enrolled(pid, cohort) for pid, cohort in await stats.enrolled_people(conn)]
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

    issued = await certification.counts_by_level(db)
    return CertificateFigures(
        total,
        shown(participation),
        shown(success),
        {reason: shown(count) for reason, count in missing.most_common() if count},
        {level: shown(issued.get(level, 0)) for level in ("participation", "success")},
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
        enrolled = await stats.enrolled_count(conn)
        counts = await tally.counts(conn)
        groups = {kind: await tally.groups(conn, kind) for kind in content.instruments}
    result = Figures(now, k, enrolled, open_answers)
    result.rates = await _rates(db, content, now, k)
    by_stage: dict[tuple[str, str], list[tally.Count]] = defaultdict(list)
    for c in counts:
        by_stage[(c.instrument, c.stage)].append(c)
    scores: dict[int, float] = {}
    counted = content.quiz_stages()
    for kind, instrument in content.instruments.items():
        section = Section(instrument)
        result.sections.append(section)
        if instrument.scored:
            first, last = instrument.stages[0].id, instrument.stages[-1].id
            async with db.read() as conn:
                pairs = await tally.pairs(conn, kind, first, last)
                right = await tally.right_answers(conn, kind, first, last)
                finals = (
                    await tally.scores(conn, kind, counted[2].id)
                    if counted is not None and counted[0] is instrument
                    else None
                )
            corrections = await _corrections(db, content, instrument, k)
            section.quiz = _kat(instrument, pairs, right, k, corrections)
            if finals is not None:
                # The certificates' percentage: of the questions scored, as in each /me.
                scores = {pid: 100 * s / asked for pid, (s, asked) in finals.items() if asked}
            continue
        for stage in instrument.stages:
            mine = [g for g in groups[kind] if g.stage == stage.id]
            found = _survey_stage(instrument, stage, by_stage[(kind, stage.id)], mine, k)
            await _open(db, found, sum(g.n for g in mine), k, open_answers)
            section.stages.append(found)
        if len(instrument.stages) > 1:
            shown = [s.stage.id for s in section.stages if s.respondents is not None]
            async with db.read() as conn:
                distinct = await tally.people_at(conn, kind, shown) if shown else 0
            section.summary = _summary(section.stages, distinct, k)
    # The supervisors' sections take their place in the instruments' order.
    for instrument in content.supervisor_instruments.values():
        result.sections.append(await _supervisor_section(db, instrument, k, open_answers))
    order = list(content.all_instruments)
    result.sections.sort(key=lambda s: order.index(s.instrument.id))
    result.certificates = await _certificates(db, content, scores, k)
    return result


async def _corrections(
    db: Database, content: Content, kat: Instrument, k: int
) -> list[KeyCorrection]:
    """The key corrections the content declares for the quiz, and how many answers each
    re-scored (a count of people like any other: hidden below k)."""
    declared = [c for c in versions.declared_corrections(content) if c.instrument == kat.id]
    if not declared:
        return []
    counts = await versions.corrected_answers(db)
    found = []
    for c in declared:
        item = kat.item(c.item)
        if item is None:
            continue
        n = counts.get((c.instrument, c.item), 0)
        found.append(KeyCorrection(item, c.was, c.key, c.reason, n if n == 0 or n >= k else None))
    return found


async def _open(db: Database, stage: StageFigures, respondents: int, k: int, wanted: bool) -> None:
    """The typed answers of a stage: listed when at least k people answered the item."""
    if respondents < k:
        return
    shown = {f.item.id: f for f in stage.items}
    for item in stage.instrument.items:
        if item.type != "text":
            continue
        if not wanted:
            stage.open_answers.append(OpenAnswers(item, None, withheld=True))
            continue
        async with db.read() as conn:
            texts = await tally.open_answers(conn, stage.instrument.id, stage.stage.id, item.id)
        # One answer a person: too few could be told apart, like any small cell; and their
        # number is a count of respondents, which must not give a hidden figure away.
        listed = len(texts) >= k and not _leaks(item, shown)
        stage.open_answers.append(OpenAnswers(item, texts if listed else None))


# --- the supervisors' section -----------------------------------------------------------

Pair = tuple[int, int]  # (supervisor, supervisee): one questionnaire


class _People:
    """The disclosure rule of the supervisors' section, over sets of questionnaires.

    A questionnaire is answered by one supervisor about one supervisee. A figure may be
    shown only when the questionnaires behind it come from at least k distinct supervisors
    (or one supervisor's answers could be read) and are about at least k distinct
    supervisees (or what a manager said of one counsellor could be). An empty group
    reveals nothing. A union of groups never fails more than one of its parts, so the
    pooling rules of ``bot.services.disclosure`` apply with this test in place of a count.
    """

    def __init__(self, k: int) -> None:
        self.k = k

    def fails(self, pairs: Iterable[Pair]) -> bool:
        found = set(pairs)
        if not found:
            return False
        supervisors = {s for s, _ in found}
        supervisees = {p for _, p in found}
        return len(supervisors) < self.k or len(supervisees) < self.k

    def shown(self, part: set[Pair], whole: set[Pair]) -> bool:
        """A yes/no split of ``whole``: both sides empty or standing on k and k people."""
        return bool(whole) and not any(self.fails(s) for s in (whole, part, whole - part))


def _answered(rated: Sequence[supervisor_results.Rated], item: str) -> dict[Pair, Any]:
    """Each questionnaire's answer to one item (skipped ones left out)."""
    return {
        (r.supervisor, r.supervisee): r.answers[item]
        for r in rated
        if r.answers.get(item) is not None
    }


def _supervisor_stage(
    instrument: Instrument,
    stage: Stage,
    rated: Sequence[supervisor_results.Rated],
    k: int,
    open_answers: bool,
) -> StageFigures:
    """One stage of the supervisors' questionnaire, counted over questionnaires, each figure
    standing on k supervisors and k supervisees."""
    rule = _People(k)
    everyone = {(r.supervisor, r.supervisee) for r in rated}
    if not everyone or rule.fails(everyone):
        return StageFigures(instrument, stage, None)
    figures = StageFigures(
        instrument,
        stage,
        len(everyone),
        supervisors=len({s for s, _ in everyone}),
        supervisees=len({p for _, p in everyone}),
    )
    shown: dict[str, ItemFigures] = {}
    for item in instrument.items:
        given = _answered(rated, item.id)
        if item.type == "text":
            given = {p: v for p, v in given.items() if isinstance(v, str) and v.strip()}
        answered = set(given)
        # Who answered an item is a figure too: its complement (skipped, or not asked)
        # must stand on k and k people as well.
        hidden = not rule.shown(answered, everyone)
        if _leaks(item, shown):
            hidden = True
        if item.type == "text":
            texts = sorted(str(v) for v in given.values())
            if not open_answers:
                figures.open_answers.append(OpenAnswers(item, None, withheld=True))
            else:
                # Sorted, never in the order of the questionnaires.
                figures.open_answers.append(
                    OpenAnswers(item, None if hidden or not texts else texts)
                )
            continue
        if item.type not in ("scale", "single", "multi"):
            continue
        if hidden:
            shown[item.id] = ItemFigures(item, None)
            figures.items.append(shown[item.id])
            continue
        by_answer: dict[str, set[Pair]] = defaultdict(set)
        for pair, value in given.items():
            for answer in value if isinstance(value, list) else [value]:
                by_answer[str(answer)].add(pair)
        counts = Counter({answer: len(pairs) for answer, pairs in by_answer.items()})

        def fails(categories: Sequence[str], found: dict[str, set[Pair]] = by_answer) -> bool:
            return rule.fails(set().union(*(found.get(c, set()) for c in categories)))

        def ticks(
            option: str, found: dict[str, set[Pair]] = by_answer, whole: set[Pair] = answered
        ) -> bool:
            return rule.shown(found.get(option, set()), whole)

        if item.type == "scale":
            result = _scale_figures(item, counts, k, fails)
        else:
            result = _choice_figures(item, counts, len(answered), k, fails, ticks)
        shown[item.id] = result
        figures.items.append(result)
    _supervisor_mean(figures, instrument, rated, rule)
    return figures


def _supervisor_mean(
    figures: StageFigures,
    instrument: Instrument,
    rated: Sequence[supervisor_results.Rated],
    rule: _People,
) -> None:
    """The mean over questionnaires of their mean rating, and by the supervisee's cohort
    when the cohorts (pooled) each stand on k supervisors and k supervisees."""
    scales = [i.id for i in instrument.items if i.type == "scale"]
    means: dict[Pair, tuple[str, float]] = {}
    for r in rated:
        points = [float(r.answers[i]) for i in scales if r.answers.get(i) is not None]
        if points:
            means[(r.supervisor, r.supervisee)] = (r.cohort, sum(points) / len(points))
    everyone = {(r.supervisor, r.supervisee) for r in rated}
    if not means or rule.fails(means) or rule.fails(everyone - set(means)):
        return
    figures.mean = sum(m for _, m in means.values()) / len(means)
    by_cohort: dict[str, set[Pair]] = defaultdict(set)
    for pair, (cohort, _) in means.items():
        by_cohort[cohort].add(pair)
    pools = disclosure.pool_groups(
        {c: len(p) for c, p in by_cohort.items()},
        rule.k,
        lambda cohorts: rule.fails(set().union(*(by_cohort[c] for c in cohorts))),
    )
    if pools is None:
        return
    rows = []
    for members in pools:
        pairs = set().union(*(by_cohort[c] for c in members))
        rows.append(
            Group(members, len(pairs), {"mean": sum(means[p][1] for p in pairs) / len(pairs)})
        )
    figures.breakdowns.append(Breakdown("cohort", rows))


async def _supervisor_section(
    db: Database, instrument: Instrument, k: int, open_answers: bool
) -> Section:
    """The supervisors' questionnaire: each stage over the latest questionnaire per
    supervisor and supervisee. Nothing here is joined to a participant's own answers,
    scores or code: only the supervisee's cohort, for the breakdown."""
    async with db.read() as conn:
        rated = await supervisor_results.submitted(conn, instrument.id)
    section = Section(instrument)
    for stage in instrument.stages:
        mine = [r for r in rated if r.stage == stage.id]
        section.stages.append(_supervisor_stage(instrument, stage, mine, k, open_answers))
    return section
