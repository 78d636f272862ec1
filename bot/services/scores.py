"""KAT scores, knowledge gain and when the participant may see them (texts: bot.views.scores)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.content import Content
from bot.content.instruments import Instrument, Item
from bot.i18n import Translator
from bot.outgoing import OutgoingMessage
from bot.storage import Database, outbox, repo, versions
from bot.storage import scores as score_rows
from bot.storage.answers import Attempt, Stamp
from bot.storage.repo import Participant
from bot.storage.versions import AttemptScore
from bot.views import scores as views


def stamp_of(item: Item | None, value: Any) -> Stamp | None:
    """What an answer is stored with: the item's version and, for a quiz, whether it is right."""
    if item is None:
        return None
    correct = value == item.answer if item.type == "quiz" else None
    return Stamp(item.fingerprint, correct)


def is_correct(item: Item, value: Any) -> bool | None:
    """Whether an answer to a quiz item is right; None when not a quiz item or not answered.

    The one place that compares an answer with the key: the scores, the certificates and
    the exports come here, so a versioned key is plugged in here only.
    """
    if item.type != "quiz" or value is None:
        return None
    return bool(value == item.answer)


def score(instrument: Instrument, answers: dict[str, Any]) -> int:
    """One point per quiz item answered with its right option, under the key loaded now.

    Only for answers not stored yet: stored answers are scored by ``attempt_scores``, with
    the key each was given under.
    """
    return sum(1 for item in instrument.items if is_correct(item, answers.get(item.id)))


def normalised_change(pre: float, post: float, maximum: float = 100) -> float | None:
    """Marx & Cummings' normalised change c: the gain over what was left to learn when the
    score rose, the loss over what was known when it fell, 0 when it stayed, and undefined
    (None: the person is left out) when both scores are full marks or both zero."""
    if pre == post:
        return None if pre in (0, maximum) else 0.0
    if post > pre:
        return (post - pre) / (maximum - pre)
    return (post - pre) / pre


async def attempt_scores(
    db: Database, content: Content, participant_id: int | None = None
) -> list[AttemptScore]:
    """The KAT score of every latest submitted attempt (of one participant), under the key
    each answer was given under (or a declared correction of it)."""
    quiz = content.quiz()
    if quiz is None:
        return []
    async with db.read() as conn:
        return await versions.quiz_scores(conn, quiz.id, participant_id)


@dataclass(frozen=True, slots=True)
class KatResult:
    """A participant's KAT scores, each out of the questions that attempt was asked."""

    pre: int | None
    post: int | None
    maximum: int
    pre_maximum: int | None = None

    @property
    def gain(self) -> int | None:
        return None if self.pre is None or self.post is None else self.post - self.pre

    @property
    def pre_percent(self) -> float | None:
        top = self.pre_maximum if self.pre_maximum is not None else self.maximum
        return None if self.pre is None or not top else 100 * self.pre / top

    @property
    def post_percent(self) -> float | None:
        return None if self.post is None or not self.maximum else 100 * self.post / self.maximum

    @property
    def normalised(self) -> float | None:
        """Marx & Cummings' c, on percentages (the two tests may have had different lengths)."""
        pre, post = self.pre_percent, self.post_percent
        return None if pre is None or post is None else normalised_change(pre, post)


async def kat_result(db: Database, content: Content, participant_id: int) -> KatResult | None:
    """The participant's submitted pre and post scores (None where not taken)."""
    stages = content.quiz_stages()
    if stages is None:
        return None
    kat, before, after = stages
    found = {s.stage: s for s in await attempt_scores(db, content, participant_id)}
    pre, post = found.get(before.id), found.get(after.id)
    maximum = post.maximum if post is not None else kat.max_score
    return KatResult(
        pre.score if pre else None,
        post.score if post else None,
        maximum,
        pre.maximum if pre else None,
    )


def answers_release(content: Content) -> datetime | None:
    """When the right answers may be sent: once no cohort can still take the post-test."""
    from bot.rules.questionnaire import window_for

    stages = content.quiz_stages()
    kat, stage = (stages[0], stages[2]) if stages else (None, None)
    if kat is None or stage is None:
        return None
    closes = [
        window_for(content, kat, stage, cohort).closes
        for cohort in sorted(content.programme.cohort_ids)
    ]
    return max(closes) if closes else None


def answers_released(content: Content, now: datetime) -> bool:
    """Whether every cohort's post-test has closed, so the right answers can no longer leak."""
    release = answers_release(content)
    return release is not None and now >= release


def results_visible(content: Content, participant: Participant, now: datetime) -> bool:
    """Whether the participant's own scores may be shown: at once after the post-test
    (``reveal: after-post``), or once their cohort's post-test closed (``after-close``)."""
    from bot.rules.questionnaire import window_for

    stages = content.quiz_stages()
    kat, stage = (stages[0], stages[2]) if stages else (None, None)
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
    """After the post-test: the scores (or when they come) and when the right answers come;
    nothing after the pre-test."""
    stages = content.quiz_stages()
    kat = stages[0] if stages else None
    if (
        stages is None
        or kat is None
        or (attempt.instrument, attempt.stage)
        != (
            kat.id,
            stages[2].id,
        )
    ):
        return None
    if answers_released(content, now):
        return await results_text(db, content, participant, t)
    visible = results_visible(content, participant, now)
    result = await kat_result(db, content, participant.id) if visible else None
    return views.after_post_test(
        t, result, kat.title.get(t.locale), visible=visible, release=answers_release(content)
    )


ANSWERS_SOURCE = "kat-answers"
# Telegram's limit is 4,096 characters; the card is cut between questions well below it.
CARD_LIMIT = 3800


async def queue_answer_cards(
    db: Database, content: Content, translator: Callable[[str | None], Translator], now: datetime
) -> int:
    """Once no cohort can take the post-test: queue, once per person, the right answers and
    explanations for everyone who sent it (through the outbox, so exactly once across
    restarts). Returns the people queued."""
    release = answers_release(content)
    if release is None or now < release:
        return 0
    stages = content.quiz_stages()
    if stages is None:
        return 0
    async with db.read() as conn:
        waiting = await score_rows.waiting_for_answers(
            conn, f"{ANSWERS_SOURCE}:", stages[0].id, stages[2].id
        )
        people = [(p, b) for p, b in await repo.bound_participants(conn) if p.id in waiting]
    cards: list[tuple[Participant, int, list[str]]] = []
    for participant, binding in people:
        t = translator(participant.language)
        text = await results_text(db, content, participant, t)
        if text is not None:
            cards.append((participant, binding.chat_id, _pieces(t.bidi(text), CARD_LIMIT)))
    async with db.transaction() as conn:
        for participant, chat_id, pieces in cards:
            for number, piece in enumerate(pieces, start=1):
                await outbox.enqueue(
                    conn,
                    key=f"{ANSWERS_SOURCE}:{participant.id}:{number}",
                    kind="reminder",
                    source=ANSWERS_SOURCE,
                    participant_id=participant.id,
                    chat_id=chat_id,
                    message=OutgoingMessage(piece),
                    due_at=release,
                    now=now,
                )
    return len(cards)


def _pieces(text: str, limit: int) -> list[str]:
    """The card in messages of at most ``limit`` characters, cut between paragraphs."""
    pieces: list[str] = []
    for paragraph in text.split("\n\n"):
        if pieces and len(pieces[-1]) + 2 + len(paragraph) <= limit:
            pieces[-1] += "\n\n" + paragraph
        else:
            pieces.append(paragraph[:limit])
    return pieces


async def results_text(
    db: Database, content: Content, participant: Participant, t: Translator
) -> str | None:
    """The KAT results card: scores before and after, then each question as the person saw
    it, with the right answer they were scored against and its explanation."""
    from bot.services.versions import catalog, seen_item

    kat = content.quiz()
    result = await kat_result(db, content, participant.id)
    if kat is None or result is None or result.post is None:
        return None
    loc = t.locale
    async with db.read() as conn:
        rows = await versions.item_results(conn, kat.id, participant.id)
    seen = await catalog(db)
    after = content.quiz_stages()
    posted = {r.item: r for r in rows if after is not None and r.stage == after[2].id}
    order = [i.id for i in kat.items] + sorted(set(posted) - {i.id for i in kat.items})
    questions = []
    for item_id in order:
        row = posted.get(item_id)
        if row is None:
            continue
        item = seen_item(seen, content, kat.id, item_id, row.version)
        if item is None:
            continue
        right = item.option(seen.scored_key(kat.id, item_id, row.version) or item.answer or "")
        # The explanation of the content loaded now: fixing one is not a new version.
        current = kat.item(item_id)
        explanation = current.explanation if current is not None else item.explanation
        questions.append(
            views.CardQuestion(
                correct=bool(row.correct),
                text=item.text.get(loc),
                answer=right.text.get(loc) if right is not None else None,
                explanation=explanation.get(loc) if explanation is not None else None,
            )
        )
    return views.results_card(t, result, kat.title.get(loc), questions)
