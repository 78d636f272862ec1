"""KAT scores, knowledge gain and what the participant is told about them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from statistics import fmean
from typing import Any

from bot.content import Content
from bot.content.instruments import Instrument, Item
from bot.i18n import Translator, escape
from bot.storage import Database
from bot.storage import answers as store
from bot.storage.answers import Attempt
from bot.storage.repo import Participant


def is_correct(item: Item, value: Any) -> bool | None:
    """Whether an answer to a quiz item is right; None when not a quiz item or not answered.

    The one place that compares an answer with the key: the scores, the certificates and
    the exports come here, so a versioned key is plugged in here only.
    """
    if item.type != "quiz" or value is None:
        return None
    return bool(value == item.answer)


def score(instrument: Instrument, answers: dict[str, Any]) -> int:
    """One point per quiz item answered with its right option."""
    return sum(1 for item in instrument.items if is_correct(item, answers.get(item.id)))


def normalised_gain(pre: int, post: int, maximum: int) -> float | None:
    """(post - pre) / (max - pre): the share of what was left to learn that was learnt."""
    if maximum <= pre:
        return None
    return (post - pre) / (maximum - pre)


@dataclass(frozen=True, slots=True)
class KatResult:
    """A participant's KAT scores."""

    pre: int | None
    post: int | None
    maximum: int

    @property
    def gain(self) -> int | None:
        return None if self.pre is None or self.post is None else self.post - self.pre

    @property
    def normalised(self) -> float | None:
        if self.pre is None or self.post is None:
            return None
        return normalised_gain(self.pre, self.post, self.maximum)

    @property
    def post_percent(self) -> float | None:
        return None if self.post is None else 100 * self.post / self.maximum


async def kat_result(db: Database, content: Content, participant_id: int) -> KatResult | None:
    """The participant's submitted pre and post scores (None where not taken)."""
    kat = content.instrument("kat")
    if kat is None:
        return None
    scores: dict[str, int | None] = {"pre": None, "post": None}
    async with db.read() as conn:
        for stage in scores:
            attempt = await store.latest_attempt(conn, participant_id, "kat", stage)
            if attempt is not None and attempt.submitted:
                scores[stage] = score(kat, await store.answers_of(conn, attempt.id))
    return KatResult(scores["pre"], scores["post"], kat.max_score)


def results_visible(content: Content, participant: Participant, now: datetime) -> bool:
    """Whether the KAT results may be shown: after the post-test, or once it closed."""
    from bot.services.questionnaire import window_for

    kat = content.instrument("kat")
    stage = kat.stage("post") if kat else None
    if kat is None or stage is None:
        return False
    if kat.reveal == "after-close":
        return now >= window_for(content, kat, stage, participant.cohort).closes
    return True


async def kat_results_text(
    db: Database,
    content: Content,
    participant: Participant,
    attempt: Attempt,
    t: Translator,
    now: datetime,
) -> str | None:
    """After the post-test: both scores and every explanation; nothing after the pre-test."""
    kat = content.instrument("kat")
    if kat is None or attempt.instrument != "kat" or attempt.stage != "post":
        return None
    if not results_visible(content, participant, now):
        return t.gettext("Your results will be shown when the test closes.")
    return await results_text(db, content, participant, t)


async def results_text(
    db: Database, content: Content, participant: Participant, t: Translator
) -> str | None:
    """The KAT results card: scores before and after, then each question with its explanation."""
    kat = content.instrument("kat")
    result = await kat_result(db, content, participant.id)
    if kat is None or result is None or result.post is None:
        return None
    loc = t.locale
    lines = [scores_text(t, result, kat.title.get(loc))]
    async with db.read() as conn:
        attempt = await store.latest_attempt(conn, participant.id, "kat", "post")
        answers = await store.answers_of(conn, attempt.id) if attempt else {}
    for number, item in enumerate(kat.items, start=1):
        right = item.option(item.answer or "")
        mark = "✅" if is_correct(item, answers.get(item.id)) else "❌"
        lines.append("")
        lines.append(f"{mark} {number}. {escape(item.text.get(loc))}")
        if right is not None:
            lines.append(t.gettext("Answer: %(answer)s", answer=escape(right.text.get(loc))))
        if item.explanation is not None:
            lines.append(f"<i>{escape(item.explanation.get(loc))}</i>")
    return "\n".join(lines)


def scores_text(t: Translator, result: KatResult, title: str | None = None) -> str:
    """The KAT scores before and after, under the test's title."""
    lines = [f"<b>{escape(title)}</b>"] if title else []
    if result.pre is not None:
        lines.append(
            t.gettext("Before the training: %(n)d/%(max)d", n=result.pre, max=result.maximum)
        )
    if result.post is not None:
        lines.append(
            t.gettext("After the training: %(n)d/%(max)d", n=result.post, max=result.maximum)
        )
    if result.gain is not None:
        normalised = result.normalised
        if normalised is None:
            lines.append(t.gettext("Progress: %(gain)+d points", gain=result.gain))
        else:
            lines.append(
                t.gettext(
                    "Progress: %(gain)+d points, %(share)d %% of what was left to learn",
                    gain=result.gain,
                    share=round(100 * normalised),
                )
            )
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class CohortKat:
    """Mean KAT scores of a cohort, over participants who took both tests."""

    cohort: str
    participants: int
    mean_pre: float | None
    mean_post: float | None
    mean_normalised_gain: float | None


async def cohort_means(db: Database, content: Content) -> list[CohortKat]:
    """Aggregates only: the employer never sees an individual score."""
    kat = content.instrument("kat")
    if kat is None:
        return []
    by_participant: dict[int, dict[str, int]] = {}
    cohorts: dict[int, str] = {}
    async with db.read() as conn:
        for attempt, answers in await store.submitted_with_answers(conn, "kat"):
            by_participant.setdefault(attempt.participant_id, {})[attempt.stage] = score(
                kat, answers
            )
        async with conn.execute("SELECT id, cohort FROM participants") as cur:
            cohorts = {row["id"]: row["cohort"] for row in await cur.fetchall()}
    out: list[CohortKat] = []
    for cohort in sorted(content.programme.cohort_ids):
        both = [
            s
            for pid, s in by_participant.items()
            if cohorts.get(pid) == cohort and "pre" in s and "post" in s
        ]
        gains = [
            g
            for s in both
            if (g := normalised_gain(s["pre"], s["post"], kat.max_score)) is not None
        ]
        out.append(
            CohortKat(
                cohort,
                len(both),
                fmean(s["pre"] for s in both) if both else None,
                fmean(s["post"] for s in both) if both else None,
                fmean(gains) if gains else None,
            )
        )
    return out
