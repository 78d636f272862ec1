"""The questionnaire's rules: windows, which items show, where an attempt resumes, what a tap does.

Pure functions over the content models and plain attempt data: the service around them
reads and writes the database, the views render what they decide.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

from bot.callbacks import Action, Tap
from bot.content import Content
from bot.content.instruments import Instrument, Item, LoopItem, Option, Stage, resolve_when
from bot.storage.answers import Attempt


class Refusal(StrEnum):
    """Why a tap or a start changed nothing."""

    STALE = "stale"  # an old screen, a double tap
    INVALID = "invalid"  # forged or not this participant's
    SUBMITTED = "submitted"  # answers are locked
    NOT_OPEN = "not-open"
    CLOSED = "closed"
    TOO_LONG = "too-long"
    NONE_OPEN = "none-open"  # a text message but no question waiting for one
    DUPLICATE = "duplicate"  # a typed message already taken, delivered again


@dataclass(frozen=True, slots=True)
class Window:
    """When a stage is open for a cohort."""

    opens: datetime
    closes: datetime

    def state(self, now: datetime) -> Refusal | None:
        """None while open; otherwise whether it is not open yet or closed."""
        if now < self.opens:
            return Refusal.NOT_OPEN
        if now >= self.closes:
            return Refusal.CLOSED
        return None


_WINDOWS: dict[tuple[str, str, str, str], Window] = {}


def window_for(content: Content, instrument: Instrument, stage: Stage, cohort: str) -> Window:
    """The stage's window for a cohort (validated content always resolves); cached per version."""
    key = (content.version, instrument.id, stage.id, cohort)
    found = _WINDOWS.get(key)
    if found is None:
        if len(_WINDOWS) > 4096:
            _WINDOWS.clear()
        opens = resolve_when(stage.opens, content.programme, cohort)
        closes = resolve_when(stage.closes, content.programme, cohort)
        if opens is None or closes is None:
            # The loader refuses such content; reaching this is a bug, not bad input.
            raise ValueError(f"{instrument.id}/{stage.id}: no window for cohort {cohort!r}")
        found = _WINDOWS[key] = Window(opens, closes)
    return found


def visible_items(instrument: Instrument, stage: Stage, answers: dict[str, Any]) -> list[Item]:
    """The items this participant sees, given the stage and the answers so far.

    A facilitator's items show in the stages about a session that person leads (for the
    respondent's cohort once the instrument is ``for_cohort``; for any cohort otherwise).
    """
    shown: list[Item] = []
    for item in instrument.items:
        if isinstance(item, LoopItem) and not any(s == stage.id for s, _ in item.shown_in):
            continue
        cond = item.show_if
        if cond is None:
            shown.append(item)
        elif cond.mode is not None:
            if stage.mode == cond.mode:
                shown.append(item)
        elif cond.stage is not None:
            if stage.id in cond.stage:
                shown.append(item)
        elif any(i.id == cond.item for i in shown):
            # Only the answer to an item still shown counts: conditions can chain.
            value = answers.get(cond.item or "")
            values = value if isinstance(value, list) else [value]
            if any(str(v) in (cond.answer_in or []) for v in values if v is not None):
                shown.append(item)
    return shown


def counted_items(instrument: Instrument, stage: Stage) -> list[Item]:
    """The items no answer can hide in this stage: the "N" of "Question n/N", which never moves.

    An item shown after some answers is asked as an extra, unnumbered question, so that
    revealing or hiding one does not change the count ("2/7" then "3/8" read as a jump).
    """
    counted = []
    for item in instrument.items:
        cond = item.show_if
        if cond is None or (cond.mode is not None and cond.mode == stage.mode):
            counted.append(item)
    return counted


def question_number(instrument: Instrument, stage: Stage, item: Item) -> int | None:
    """The item's number among the counted items; None for an extra one revealed by answers."""
    return next(
        (n for n, counted in enumerate(counted_items(instrument, stage), 1) if counted is item),
        None,
    )


def position_of(instrument: Instrument, item: Item | None) -> int:
    """An item's position; the summary's (one past the last item) for None."""
    return len(instrument.items) if item is None else instrument.position(item)


def current_item(
    instrument: Instrument, stage: Stage, attempt: Attempt, answers: dict[str, Any]
) -> Item | None:
    """The item at the attempt's position, or the next visible one; None at the summary."""
    shown = visible_items(instrument, stage, answers)
    return next((i for i in shown if instrument.position(i) >= attempt.position), None)


def ordered_options(item: Item, attempt: Attempt, shuffle: bool) -> list[Option]:
    """The item's options, shuffled per attempt for the KAT, the same at every resume."""
    options = list(item.options or [])
    if not shuffle:
        return options
    order = _shuffled(f"{attempt.seed}:{item.id}", len(options))
    return [options[n] for n in order]


@lru_cache(maxsize=4096)
def _shuffled(seed: str, count: int) -> tuple[int, ...]:
    # Seeding a generator hashes the seed: done once per attempt and item, not per screen.
    order = list(range(count))
    random.Random(seed).shuffle(order)
    return tuple(order)


def resume_position(instrument: Instrument, stage: Stage, answers: dict[str, Any]) -> int:
    """The first visible item without an answer (by id), else the summary."""
    missing = [i for i in visible_items(instrument, stage, answers) if i.id not in answers]
    return position_of(instrument, missing[0] if missing else None)


def next_position(instrument: Instrument, stage: Stage, answers: dict[str, Any], after: int) -> int:
    """Where the attempt goes after answering the item at ``after``."""
    shown = visible_items(instrument, stage, answers)
    following = [i for i in shown if instrument.position(i) > after]
    if following:
        return position_of(instrument, following[0])
    # An item added behind the participant (a content edit) is asked before the summary.
    return resume_position(instrument, stage, answers)


def saved_choices(
    instrument: Instrument, position: int, answers: dict[str, Any]
) -> list[str] | None:
    """Arriving on a multiple-choice item already answered: start from the saved choices."""
    if position >= len(instrument.items):
        return None
    item = instrument.items[position]
    saved = answers.get(item.id)
    return list(saved) if item.type == "multi" and isinstance(saved, list) else None


@dataclass(frozen=True, slots=True)
class Step:
    """What a tap decides: an answer to save (``item``), then where to go, or to submit."""

    position: int
    item: str | None = None
    value: Any = None
    draft: list[str] | None = None
    advance: bool = False
    submit: bool = False


SCALE_VALUES = frozenset({"1", "2", "3", "4", "5"})


def apply_tap(
    instrument: Instrument, stage: Stage, attempt: Attempt, answers: dict[str, Any], tap: Tap
) -> Step | None:
    """What a tap does on the current screen; None if it makes no sense there."""
    item = current_item(instrument, stage, attempt, answers)
    here = position_of(instrument, item)
    action = tap.action
    if action is Action.PREVIOUS:
        shown = visible_items(instrument, stage, answers)
        earlier = [i for i in shown if instrument.position(i) < here]
        if not earlier:
            return None
        position = position_of(instrument, earlier[-1])
        return Step(position, draft=saved_choices(instrument, position, answers))
    if item is None:
        return Step(here, submit=True) if action is Action.SEND else None
    if action is Action.ANSWER:
        if item.type in ("quiz", "single") and tap.arg and item.option(tap.arg):
            return Step(here, item.id, tap.arg, advance=True)
        if item.type == "scale" and tap.arg in SCALE_VALUES:
            return Step(here, item.id, int(tap.arg), advance=True)
        return None
    if action is Action.TOGGLE and item.type == "multi" and tap.arg and item.option(tap.arg):
        chosen = list(attempt.draft or [])
        if tap.arg in chosen:
            chosen.remove(tap.arg)
        elif item.max_choices is None or len(chosen) < item.max_choices:
            chosen.append(tap.arg)
        else:
            return None
        order = [o.id for o in item.options or []]
        return Step(here, draft=sorted(chosen, key=order.index))
    if action is Action.CONFIRM and item.type == "multi":
        chosen = list(attempt.draft or [])
        if not chosen and not item.optional:
            return None
        return Step(here, item.id, chosen if chosen else None, advance=True)
    if action is Action.SKIP and item.optional:
        return Step(here, item.id, None, advance=True)
    if action is Action.KEEP and item.id in answers:
        return Step(here, advance=True)
    return None


def landing(
    instrument: Instrument, stage: Stage, attempt: Attempt, answers: dict[str, Any], step: Step
) -> tuple[int, list[str] | None]:
    """The position and multiple-choice draft after ``step`` (its answer already in ``answers``)."""
    if not step.advance:
        return step.position, step.draft
    position = next_position(instrument, stage, answers, attempt.position)
    return position, saved_choices(instrument, position, answers)
