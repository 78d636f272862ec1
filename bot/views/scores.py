"""What a participant is told about their KAT: the two scores, the results card, when the
right answers come."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.i18n import Translator, escape

if TYPE_CHECKING:
    from bot.services.scores import KatResult


@dataclass(frozen=True, slots=True)
class CardQuestion:
    """One question of the results card as the person saw it, in their language."""

    correct: bool
    text: str
    answer: str | None  # the right option they were scored against
    explanation: str | None


def scores_text(t: Translator, result: KatResult, title: str | None = None) -> str:
    """The two KAT scores and a kind sentence about them; never a negative percentage."""
    lines = [f"<b>{escape(title)}</b>"] if title else []
    if result.pre is not None:
        top = result.pre_maximum if result.pre_maximum is not None else result.maximum
        lines.append(t.gettext("Before the training: %(n)d/%(max)d", n=result.pre, max=top))
    if result.post is not None:
        lines.append(
            t.gettext("After the training: %(n)d/%(max)d", n=result.post, max=result.maximum)
        )
    pre, post = result.pre_percent, result.post_percent
    if pre is None or post is None or result.gain is None:
        return "\n".join(lines)
    change = result.normalised
    if post > pre and change is not None:
        lines.append(
            t.gettext(
                "Progress: %(gain)+d points, %(share)d %% of what was left to learn",
                gain=result.gain,
                share=round(100 * change),
            )
        )
    elif post == pre and post == 100:
        lines.append(t.gettext("Full marks before and after the training: well done!"))
    elif post == pre:
        lines.append(
            t.gettext("The same score as before the training: the explanations can help you.")
        )
    else:
        # c is negative here: a percentage of loss would discourage and says little.
        lines.append(
            t.gettext(
                "A lower score than before the training: that happens. Going over the "
                "explanations is the best way to consolidate what you learnt."
            )
        )
    return "\n".join(lines)


def results_card(
    t: Translator, result: KatResult, title: str | None, questions: Sequence[CardQuestion]
) -> str:
    """The KAT results card: scores before and after, then each question with the right
    answer and its explanation."""
    lines = [scores_text(t, result, title)]
    for number, question in enumerate(questions, start=1):
        lines.append("")
        lines.append(f"{'✅' if question.correct else '❌'} {number}. {escape(question.text)}")
        if question.answer is not None:
            lines.append(t.gettext("Answer: %(answer)s", answer=escape(question.answer)))
        if question.explanation is not None:
            lines.append(f"<i>{escape(question.explanation)}</i>")
    return "\n".join(lines)


def release_text(t: Translator, release: datetime | None) -> str:
    """When the right answers and explanations will come (nothing when they never do)."""
    if release is None:
        return ""
    return t.gettext(
        "The right answers and their explanations will be sent to you on %(when)s, once the "
        "test has closed for every group.",
        when=t.moment(release),
    )


def results_hidden_text(t: Translator) -> str:
    """The scores are not shown yet."""
    return t.gettext("Your results will be shown when the test closes.")


def after_post_test(
    t: Translator,
    result: KatResult | None,
    title: str | None,
    *,
    visible: bool,
    release: datetime | None,
) -> str:
    """After the post-test, before the answers are out: the scores (or when they come), then
    when the right answers come."""
    lines = []
    if not visible:
        lines.append(results_hidden_text(t))
    elif result is not None and result.post is not None:
        lines.append(scores_text(t, result, title))
    lines.append(release_text(t, release))
    return "\n\n".join(line for line in lines if line)
