"""The questionnaire's screens: one item at a time, the summary, and the notices around them."""

from __future__ import annotations

from typing import Any

from bot.callbacks import Action, TapData, tap_data
from bot.content.instruments import NAME_FIELD, Instrument, Item, Stage
from bot.content.models import LocalizedText
from bot.i18n import Translator, escape
from bot.rules.questionnaire import (
    Refusal,
    Window,
    counted_items,
    current_item,
    ordered_options,
    question_number,
    visible_items,
)
from bot.storage.answers import Attempt
from bot.views.screen import Button, Screen

# Longer option labels do not fit a button on a phone: they go in the text, lettered.
BUTTON_LABEL_MAX = 24
LETTERS = {"ar": "أبجدهوزح"}
DEFAULT_LETTERS = "ABCDEFGH"


class _Texts:
    """The content's texts in the reader's language, ``{name}`` filled in (a supervisor's
    questionnaire is about one person), and its buttons' data."""

    __slots__ = ("data", "locale", "name")

    def __init__(self, locale: str, name: str | None, data: TapData) -> None:
        self.locale, self.name, self.data = locale, name, data

    def __call__(self, text: LocalizedText) -> str:
        # Plain replace, not str.format: a course team's other braces stay as written.
        return self.fill(text.get(self.locale))

    def fill(self, found: str) -> str:
        return found if self.name is None else found.replace(NAME_FIELD, self.name)

    def button(self, attempt: Attempt, action: Action, arg: str | None, label: str) -> Button:
        return Button(label, self.data(attempt.id, attempt.revision, action, arg))


def render(
    instrument: Instrument,
    stage: Stage,
    attempt: Attempt,
    answers: dict[str, Any],
    t: Translator,
    *,
    tap: TapData = tap_data,
    name: str | None = None,
) -> Screen:
    """The questionnaire message for the attempt's current item, or the summary.

    ``tap`` builds the buttons' data (the participants' or the supervisors' prefix);
    ``name`` replaces ``{name}`` in every text of the content (escaped with it).
    """
    loc = t.locale
    text = _Texts(loc, name, tap)
    _button = text.button
    shown = visible_items(instrument, stage, answers)
    item = current_item(instrument, stage, attempt, answers)
    head = f"<b>{escape(text(instrument.title))}</b> · {escape(text(stage.title))}"
    back = _button(attempt, Action.PREVIOUS, None, t.gettext("◀ Previous"))
    if item is None:
        return _summary(instrument, stage, attempt, answers, shown, head, back, t, text)
    # By identity: list.index() would compare pydantic models field by field.
    first = shown[0] is item
    lines = [head]
    intro = stage.intro_for(instrument)
    if first and intro is not None:
        lines += [escape(text(intro)), ""]
    lines += [progress_text(t, instrument, stage, item), ""]
    lines.append(f"<b>{escape(text(item.text))}</b>")
    rows: list[list[Button]] = []
    current = answers.get(item.id)
    if item.type in ("quiz", "single", "multi"):
        options = ordered_options(item, attempt, shuffle=instrument.scored)
        chosen = set(attempt.draft or []) if item.type == "multi" else {current}
        lettered = any(len(text(o.text)) > BUTTON_LABEL_MAX for o in options)
        letters = LETTERS.get(loc, DEFAULT_LETTERS)
        if lettered:
            lines.append("")
            for letter, option in zip(letters, options, strict=False):
                lines.append(f"{letter}. {escape(text(option.text))}")
        action = Action.TOGGLE if item.type == "multi" else Action.ANSWER
        buttons = []
        for letter, option in zip(letters, options, strict=False):
            label = letter if lettered else text(option.text)
            if item.type == "multi":
                label = ("☑ " if option.id in chosen else "☐ ") + label
            elif option.id in chosen:
                label = "✓ " + label
            buttons.append(_button(attempt, action, option.id, label))
        # Narrow screens: lettered buttons four to a row (with check boxes, three).
        per_row = (3 if item.type == "multi" else 4) if lettered else 1
        rows += [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]
        if item.type == "multi":
            if item.max_choices:
                lines.append("")
                lines.append(t.gettext("Up to %(n)d answers.", n=item.max_choices))
            rows.append([_button(attempt, Action.CONFIRM, None, t.gettext("Confirm"))])
    elif item.type == "scale":
        assert item.labels is not None  # the content model requires labels on a scale
        lines.append("")
        lines.append(
            t.gettext(
                "1 = %(low)s · 5 = %(high)s",
                low=escape(text(item.labels.low)),
                high=escape(text(item.labels.high)),
            )
        )
        rows.append(
            [
                _button(attempt, Action.ANSWER, str(n), ("✓ " if current == n else "") + str(n))
                for n in range(1, 6)
            ]
        )
    else:
        lines.append("")
        lines.append(
            t.gettext(
                "Write your answer in a message (%(n)d characters at most).", n=item.max_length
            )
        )
        if isinstance(current, str):
            lines.append("")
            lines.append(t.gettext("Your answer: %(answer)s", answer=escape(clip(current))))
            rows.append([_button(attempt, Action.KEEP, None, t.gettext("Keep this answer"))])
    nav: list[Button] = []
    if not first:
        nav.append(back)
    if item.optional:
        nav.append(_button(attempt, Action.SKIP, None, t.gettext("Skip")))
    if nav:
        rows.append(nav)
    return Screen("\n".join(lines), rows)


def progress_text(t: Translator, instrument: Instrument, stage: Stage, item: Item) -> str:
    """ "Question 3/8" over the items no answer can hide; an item revealed by an answer is an
    extra question, so the count never jumps when a condition shows or hides one."""
    number = question_number(instrument, stage, item)
    if number is None:
        return t.gettext("Additional question")
    total = len(counted_items(instrument, stage))
    return t.gettext("Question %(n)d/%(total)d", n=number, total=total)


def clip(text: str, limit: int = 300) -> str:
    """``text`` cut to ``limit`` characters, an ellipsis marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _summary(
    instrument: Instrument,
    stage: Stage,
    attempt: Attempt,
    answers: dict[str, Any],
    shown: list[Item],
    head: str,
    back: Button,
    t: Translator,
    text: _Texts,
) -> Screen:
    _button = text.button
    lines = [head, t.gettext("Check your answers, then send them."), ""]
    for item in shown:
        # The same numbers as on the questions; an extra question gets a bullet.
        number = question_number(instrument, stage, item)
        mark = "•" if number is None else f"{number}."
        lines.append(f"{mark} {escape(clip(text(item.text), 80))}")
        lines.append(
            f"   → {escape(text.fill(answer_text(item, answers.get(item.id), text.locale, t)))}"
        )
    lines.append("")
    lines.append(t.gettext("Once sent, your answers can no longer be changed."))
    rows = [[_button(attempt, Action.SEND, None, t.gettext("Send"))]]
    if shown:
        rows.append([back])
    return Screen("\n".join(lines), rows)


def answer_text(item: Item, value: Any, locale: str, t: Translator) -> str:
    """An answer as the participant reads it back."""
    if value is None:
        return t.gettext("(skipped)")
    if item.type == "scale":
        return f"{value}/5"
    if item.type == "text":
        return clip(str(value), 120)
    ids = value if isinstance(value, list) else [value]
    labels = [o.text.get(locale) for i in ids if (o := item.option(str(i))) is not None]
    return ", ".join(labels)


def refusal_text(t: Translator, refusal: Refusal, window: Window | None = None) -> str:
    """The short notice for a tap or a start that changed nothing."""
    if refusal is Refusal.SUBMITTED:
        return t.gettext("Your answers have already been sent; they can no longer be changed.")
    if refusal is Refusal.NOT_OPEN and window is not None:
        return t.gettext("This questionnaire opens on %(when)s.", when=t.moment(window.opens))
    if refusal is Refusal.CLOSED and window is not None:
        return t.gettext("This questionnaire closed on %(when)s.", when=t.moment(window.closes))
    return stale_text(t)


def stale_text(t: Translator) -> str:
    """A button that is stale, forged or not the presser's."""
    return t.gettext("This button is no longer valid.")


def submitted_text(t: Translator) -> str:
    """What the questionnaire message becomes once sent."""
    return t.gettext("Thank you! Your answers have been sent.")


def too_long_text(t: Translator, length: int, max_length: int) -> str:
    """A typed answer over the item's limit: nothing stored, the rest kept."""
    return t.gettext(
        "Your answer is too long: %(length)d characters for %(max)d at most. Please shorten "
        "it and send it again; your other answers are kept.",
        length=length,
        max=max_length,
    )
