"""The questionnaire engine: one item at a time, every tap committed, stale taps refused.

A participant's attempt at a stage of an instrument (KAT pre, satisfaction after
an activity, the follow-up) is shown in one Telegram message that is edited in
place. Each screen's buttons carry the attempt id and its revision; any change
bumps the revision, so a double tap, a tap on an old message or a forged callback
is refused without writing anything. Nothing here imports ``telegram``: handlers
turn a ``Screen`` into a message.
"""

from __future__ import annotations

import random
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

from bot.content import Content
from bot.content.instruments import Instrument, Item, Option, Stage, resolve_when
from bot.content.models import LocalizedText
from bot.i18n import LOCALES, Translator, escape
from bot.services.scores import stamp_of
from bot.storage import Database, repo
from bot.storage import answers as store
from bot.storage.answers import Attempt
from bot.storage.repo import Participant

TAP_PREFIX = "q"
OPEN_PREFIX = "qo"
TAP_RE = re.compile(r"^q:(\d{1,12}):(\d{1,9}):([apstvkS])(?::([a-z0-9-]{1,12}))?$")
OPEN_RE = re.compile(r"^qo:([a-z]{1,14}):([a-z0-9-]{1,12})$")
# Longer option labels do not fit a button on a phone: they go in the text, lettered.
BUTTON_LABEL_MAX = 24
LETTERS = {"ar": "أبجدهوزح"}
DEFAULT_LETTERS = "ABCDEFGH"


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
class Button:
    """An inline button: label and callback data (at most 64 bytes)."""

    label: str
    data: str


@dataclass(frozen=True, slots=True)
class Screen:
    """What the questionnaire message shows now."""

    text: str
    buttons: list[list[Button]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Window:
    """When a stage is open for a cohort."""

    opens: datetime
    closes: datetime

    def state(self, now: datetime) -> Refusal | None:
        if now < self.opens:
            return Refusal.NOT_OPEN
        if now >= self.closes:
            return Refusal.CLOSED
        return None


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of a start, a tap or a typed answer."""

    refusal: Refusal | None = None
    attempt: Attempt | None = None
    screen: Screen | None = None
    submitted: bool = False
    window: Window | None = None
    max_length: int | None = None
    # The participant's saved language, when a tap found them (None: not set or unknown).
    language: str | None = None


@dataclass(frozen=True, slots=True)
class Pending:
    """A stage the participant can answer now."""

    instrument: Instrument
    stage: Stage
    window: Window
    started: bool

    @property
    def data(self) -> str:
        return f"{OPEN_PREFIX}:{self.instrument.kind}:{self.stage.id}"


_WINDOWS: dict[tuple[str, str, str, str], Window] = {}


def window_for(content: Content, instrument: Instrument, stage: Stage, cohort: str) -> Window:
    """The stage's window for a cohort (validated content always resolves); cached per version."""
    key = (content.version, instrument.kind, stage.id, cohort)
    found = _WINDOWS.get(key)
    if found is None:
        if len(_WINDOWS) > 4096:
            _WINDOWS.clear()
        opens = resolve_when(stage.opens, content.programme, cohort)
        closes = resolve_when(stage.closes, content.programme, cohort)
        assert opens is not None
        assert closes is not None
        found = _WINDOWS[key] = Window(opens, closes)
    return found


def visible_items(instrument: Instrument, stage: Stage, answers: dict[str, Any]) -> list[Item]:
    """The items this participant sees, given the stage and the answers so far."""
    shown: list[Item] = []
    for item in instrument.items:
        cond = item.show_if
        if cond is None:
            shown.append(item)
        elif cond.mode is not None:
            if stage.mode == cond.mode:
                shown.append(item)
        elif any(i.id == cond.item for i in shown):
            # Only the answer to an item still shown counts: conditions can chain.
            value = answers.get(cond.item or "")
            values = value if isinstance(value, list) else [value]
            if any(str(v) in (cond.answer_in or []) for v in values if v is not None):
                shown.append(item)
    return shown


def _position_of(instrument: Instrument, item: Item | None) -> int:
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


# --- starting and resuming ----------------------------------------------------------------------


async def pending(
    db: Database, content: Content, participant: Participant, now: datetime
) -> list[Pending]:
    """Every stage open now for the participant's cohort and not yet submitted."""
    found: list[Pending] = []
    async with db.read() as conn:
        for instrument in content.instruments.values():
            for stage in instrument.stages:
                window = window_for(content, instrument, stage, participant.cohort)
                if window.state(now) is not None:
                    continue
                latest = await store.latest_attempt(conn, participant.id, instrument.kind, stage.id)
                if latest is not None and latest.submitted:
                    continue
                # Opened but never answered (or just reopened) still reads "Start".
                started = latest is not None and latest.revision > 0
                found.append(Pending(instrument, stage, window, started))
    return sorted(found, key=lambda p: p.window.closes)


def parse_open(data: str) -> tuple[str, str] | None:
    """The instrument kind and stage of a "start or continue" button."""
    match = OPEN_RE.fullmatch(data)
    return (match.group(1), match.group(2)) if match else None


async def open_stage(
    db: Database,
    content: Content,
    participant: Participant,
    kind: str,
    stage_id: str,
    t: Translator,
    now: datetime,
    *,
    shown_in: tuple[int, int] | None = None,
) -> Outcome:
    """Start the stage, or resume it where the participant stopped.

    ``shown_in`` (chat id, message id) is the message that will show it, recorded in the
    same transaction; the attempt returned still names the message that showed it
    before, so that the caller can retire that one.
    """
    instrument = content.instrument(kind)
    stage = instrument.stage(stage_id) if instrument else None
    if instrument is None or stage is None:
        return Outcome(Refusal.INVALID)
    window = window_for(content, instrument, stage, participant.cohort)
    async with db.transaction() as conn:
        latest = await store.latest_attempt(conn, participant.id, kind, stage_id)
        if latest is not None and latest.submitted:
            return Outcome(Refusal.SUBMITTED, latest, window=window)
        state = window.state(now)
        if state is not None:
            return Outcome(state, latest, window=window)
        if latest is None:
            attempt = await store.insert_attempt(
                conn,
                participant_id=participant.id,
                instrument=kind,
                stage=stage_id,
                number=1,
                content_version=content.version,
                seed=random.SystemRandom().randrange(1, 2**31),
                now=now,
            )
            answers: dict[str, Any] = {}
        else:
            # Resume by id at the first question not answered: right even if the content
            # was edited since (an item inserted or removed moves every later position).
            answers = await store.answers_of(conn, latest.id)
            position = resume_position(instrument, stage, answers)
            draft = (
                latest.draft
                if position == latest.position
                else _saved_choices(instrument, position, answers)
            )
            # A new message takes over: the buttons of the old one become stale.
            attempt = await store.move(conn, latest, position=position, draft=draft, now=now)
        if shown_in is not None:
            await store.set_message(conn, attempt.id, *shown_in)
    return Outcome(None, attempt, render(instrument, stage, attempt, answers, t), window=window)


class ReopenError(Exception):
    """Why a stage cannot be reopened; the message says it."""


async def reopen_stage(
    db: Database,
    content: Content,
    key: str,
    kind: str,
    stage_id: str,
    *,
    actor: str,
    now: datetime,
) -> Attempt:
    """Let a participant answer a submitted stage again: a new attempt; the old one is kept."""
    instrument = content.instrument(kind)
    if instrument is None or instrument.stage(stage_id) is None:
        raise ReopenError(f"no questionnaire {kind!r} with a stage {stage_id!r}")
    async with db.transaction() as conn:
        participant = await repo.participant_by_key(conn, key)
        if participant is None:
            raise ReopenError(f"no participant {key!r}")
        latest = await store.latest_attempt(conn, participant.id, kind, stage_id)
        if latest is None or not latest.submitted:
            raise ReopenError(f"{participant.code} has no submitted {kind} {stage_id} to reopen")
        attempt = await store.insert_attempt(
            conn,
            participant_id=participant.id,
            instrument=kind,
            stage=stage_id,
            number=latest.number + 1,
            content_version=content.version,
            seed=random.SystemRandom().randrange(1, 2**31),
            now=now,
        )
        await repo.audit(
            conn,
            actor=actor,
            action="attempt.reopen",
            target=participant.code,
            details={"instrument": kind, "stage": stage_id, "attempt": attempt.id},
            now=now,
        )
    return attempt


async def remember_message(db: Database, attempt: Attempt, chat_id: int, message_id: int) -> None:
    """Record the message that shows the attempt, so later taps edit it."""
    async with db.transaction() as conn:
        await store.set_message(conn, attempt.id, chat_id, message_id)


# --- taps ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Tap:
    """A parsed callback: which attempt, which screen, what was tapped."""

    attempt_id: int
    revision: int
    action: str
    arg: str | None


def parse_tap(data: str) -> Tap | None:
    """Decode ``q:<attempt>:<revision>:<action>[:<arg>]``; None if it is not one of ours."""
    match = TAP_RE.fullmatch(data)
    if match is None:
        return None
    return Tap(int(match.group(1)), int(match.group(2)), match.group(3), match.group(4))


async def tap(
    db: Database,
    content: Content,
    user_id: int,
    data: str,
    speak: Callable[[str | None], Translator],
    now: datetime,
) -> Outcome:
    """Apply one tap by this Telegram user in one transaction, or refuse it and write nothing.

    ``speak`` gives the translator for the participant's saved language (None: unknown).
    """
    parsed = parse_tap(data)
    if parsed is None:
        return Outcome(Refusal.INVALID)
    # The whole tap is one plain transaction on the database thread (see Database.run).
    applied = await db.run(lambda conn: _tap_in(conn, content, user_id, parsed, now))
    if applied.shown is None:
        return applied.outcome
    instrument, stage, answers = applied.shown
    moved = applied.outcome.attempt
    assert moved is not None
    screen = render(instrument, stage, moved, answers, speak(applied.outcome.language))
    return Outcome(None, moved, screen, language=applied.outcome.language)


@dataclass(frozen=True, slots=True)
class _Applied:
    """What a tap did, and what the next screen is rendered from (None: no screen)."""

    outcome: Outcome
    shown: tuple[Instrument, Stage, dict[str, Any]] | None = None


def _tap_in(
    conn: sqlite3.Connection, content: Content, user_id: int, parsed: Tap, now: datetime
) -> _Applied:
    """The tap inside its transaction: check, then save the answer and move, or refuse."""
    # Only the participant bound to this user may touch the attempt.
    owned = store.sync_owned_attempt(conn, parsed.attempt_id, user_id)
    if owned is None:
        return _Applied(Outcome(Refusal.INVALID))
    attempt, answers, language = owned.attempt, owned.answers, owned.language
    instrument = content.instrument(attempt.instrument)
    stage = instrument.stage(attempt.stage) if instrument else None
    if instrument is None or stage is None:
        return _Applied(Outcome(Refusal.INVALID, language=language))
    if attempt.submitted:
        return _Applied(Outcome(Refusal.SUBMITTED, attempt, language=language))
    if parsed.revision != attempt.revision:
        return _Applied(Outcome(Refusal.STALE, attempt, language=language))
    window = window_for(content, instrument, stage, owned.cohort)
    state = window.state(now)
    if state is not None:
        return _Applied(Outcome(state, attempt, window=window, language=language))
    step = _apply(instrument, stage, attempt, answers, parsed)
    if step is None:
        return _Applied(Outcome(Refusal.INVALID, attempt, language=language))
    if step.submit:
        shown = {i.id for i in visible_items(instrument, stage, answers)}
        store.sync_delete_answers(conn, attempt.id, [k for k in answers if k not in shown])
        done = store.sync_submit(conn, attempt.id, now)
        assert done is not None  # not submitted: checked above, in this transaction
        return _Applied(Outcome(None, done, submitted=True, language=language))
    if step.item is not None:
        stamp = stamp_of(instrument.item(step.item), step.value)
        store.sync_save_answer(conn, attempt.id, step.item, step.value, now, stamp)
        answers[step.item] = step.value
    position, draft = step.position, step.draft
    if step.advance:
        position = _next_position(instrument, stage, answers, attempt.position)
        draft = _saved_choices(instrument, position, answers)
    moved = store.sync_move(conn, attempt, position=position, draft=draft, now=now)
    return _Applied(Outcome(None, moved, language=language), (instrument, stage, answers))


@dataclass(frozen=True, slots=True)
class _Step:
    position: int
    item: str | None = None
    value: Any = None
    draft: list[str] | None = None
    advance: bool = False
    submit: bool = False


def _next_position(
    instrument: Instrument, stage: Stage, answers: dict[str, Any], after: int
) -> int:
    shown = visible_items(instrument, stage, answers)
    following = [i for i in shown if instrument.position(i) > after]
    if following:
        return _position_of(instrument, following[0])
    # An item added behind the participant (a content edit) is asked before the summary.
    return resume_position(instrument, stage, answers)


def resume_position(instrument: Instrument, stage: Stage, answers: dict[str, Any]) -> int:
    """The first visible item without an answer (by id), else the summary."""
    missing = [i for i in visible_items(instrument, stage, answers) if i.id not in answers]
    return _position_of(instrument, missing[0] if missing else None)


def _saved_choices(
    instrument: Instrument, position: int, answers: dict[str, Any]
) -> list[str] | None:
    """Arriving on a multiple-choice item already answered: start from the saved choices."""
    if position >= len(instrument.items):
        return None
    item = instrument.items[position]
    saved = answers.get(item.id)
    return list(saved) if item.type == "multi" and isinstance(saved, list) else None


def _apply(
    instrument: Instrument,
    stage: Stage,
    attempt: Attempt,
    answers: dict[str, Any],
    tap: Tap,
) -> _Step | None:
    """What a tap does on the current screen; None if it makes no sense there."""
    item = current_item(instrument, stage, attempt, answers)
    here = _position_of(instrument, item)
    if tap.action == "p":
        shown = visible_items(instrument, stage, answers)
        earlier = [i for i in shown if instrument.position(i) < here]
        if not earlier:
            return None
        position = _position_of(instrument, earlier[-1])
        return _Step(position, draft=_saved_choices(instrument, position, answers))
    if item is None:
        return _Step(here, submit=True) if tap.action == "S" else None
    if tap.action == "a":
        if item.type in ("quiz", "single") and tap.arg and item.option(tap.arg):
            return _Step(here, item.id, tap.arg, advance=True)
        if item.type == "scale" and tap.arg in {"1", "2", "3", "4", "5"}:
            return _Step(here, item.id, int(tap.arg), advance=True)
        return None
    if tap.action == "t" and item.type == "multi" and tap.arg and item.option(tap.arg):
        chosen = list(attempt.draft or [])
        if tap.arg in chosen:
            chosen.remove(tap.arg)
        elif item.max_choices is None or len(chosen) < item.max_choices:
            chosen.append(tap.arg)
        else:
            return None
        order = [o.id for o in item.options or []]
        return _Step(here, draft=sorted(chosen, key=order.index))
    if tap.action == "v" and item.type == "multi":
        chosen = list(attempt.draft or [])
        if not chosen and not item.optional:
            return None
        return _Step(here, item.id, chosen if chosen else None, advance=True)
    if tap.action == "s" and item.optional:
        return _Step(here, item.id, None, advance=True)
    if tap.action == "k" and item.id in answers:
        return _Step(here, advance=True)
    return None


async def type_answer(
    db: Database,
    content: Content,
    participant: Participant,
    text: str,
    t: Translator,
    now: datetime,
    message_id: int | None = None,
) -> Outcome:
    """Take a typed message as the answer to the open attempt's free-text item, if one waits.

    ``message_id`` (the chat's, increasing) makes it idempotent: a message already taken
    for this attempt, delivered again, is ``Refusal.DUPLICATE`` and stores nothing.
    """
    async with db.transaction() as conn:
        if message_id is not None and await store.typed_already(conn, participant.id, message_id):
            return Outcome(Refusal.DUPLICATE)
        for attempt in reversed(await store.attempts_of(conn, participant.id)):
            if attempt.submitted:
                continue
            instrument = content.instrument(attempt.instrument)
            stage = instrument.stage(attempt.stage) if instrument else None
            if instrument is None or stage is None:
                continue
            answers = await store.answers_of(conn, attempt.id)
            item = current_item(instrument, stage, attempt, answers)
            if item is None or item.type != "text":
                continue
            window = window_for(content, instrument, stage, participant.cohort)
            state = window.state(now)
            if state is not None:
                return Outcome(state, attempt, window=window)
            answer = text.strip()
            if len(answer) > item.max_length:
                return Outcome(Refusal.TOO_LONG, attempt, max_length=item.max_length)
            await store.save_answer(conn, attempt.id, item.id, answer, now, stamp_of(item, answer))
            if message_id is not None:
                await store.note_typed_message(conn, attempt.id, message_id)
            answers[item.id] = answer
            position = _next_position(instrument, stage, answers, attempt.position)
            draft = _saved_choices(instrument, position, answers)
            moved = await store.move(conn, attempt, position=position, draft=draft, now=now)
            return Outcome(None, moved, render(instrument, stage, moved, answers, t))
    return Outcome(Refusal.NONE_OPEN)


# --- screens ------------------------------------------------------------------------------------


def _button(attempt: Attempt, action: str, arg: str | None, label: str) -> Button:
    data = f"{TAP_PREFIX}:{attempt.id}:{attempt.revision}:{action}" + (f":{arg}" if arg else "")
    return Button(label, data)


def render(
    instrument: Instrument,
    stage: Stage,
    attempt: Attempt,
    answers: dict[str, Any],
    t: Translator,
) -> Screen:
    """The questionnaire message for the attempt's current item, or the summary."""
    loc = t.locale
    shown = visible_items(instrument, stage, answers)
    item = current_item(instrument, stage, attempt, answers)
    head = f"<b>{escape(instrument.title.get(loc))}</b> · {escape(stage.title.get(loc))}"
    back = _button(attempt, "p", None, t.gettext("◀ Previous"))
    if item is None:
        return _summary(instrument, stage, attempt, answers, shown, head, back, t)
    # By identity: list.index() would compare pydantic models field by field.
    number = next(n for n, shown_item in enumerate(shown, 1) if shown_item is item)
    lines = [head]
    if number == 1 and instrument.intro is not None:
        lines += [escape(instrument.intro.get(loc)), ""]
    lines += [t.gettext("Question %(n)d/%(total)d", n=number, total=len(shown)), ""]
    lines.append(f"<b>{escape(item.text.get(loc))}</b>")
    rows: list[list[Button]] = []
    current = answers.get(item.id)
    if item.type in ("quiz", "single", "multi"):
        options = ordered_options(item, attempt, shuffle=instrument.kind == "kat")
        chosen = set(attempt.draft or []) if item.type == "multi" else {current}
        lettered = any(len(o.text.get(loc)) > BUTTON_LABEL_MAX for o in options)
        letters = LETTERS.get(loc, DEFAULT_LETTERS)
        if lettered:
            lines.append("")
            for letter, option in zip(letters, options, strict=False):
                lines.append(f"{letter}. {escape(option.text.get(loc))}")
        action = "t" if item.type == "multi" else "a"
        buttons = []
        for letter, option in zip(letters, options, strict=False):
            label = letter if lettered else option.text.get(loc)
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
            rows.append([_button(attempt, "v", None, t.gettext("Confirm"))])
    elif item.type == "scale":
        assert item.labels is not None
        lines.append("")
        lines.append(
            t.gettext(
                "1 = %(low)s · 5 = %(high)s",
                low=escape(item.labels.low.get(loc)),
                high=escape(item.labels.high.get(loc)),
            )
        )
        rows.append(
            [
                _button(attempt, "a", str(n), ("✓ " if current == n else "") + str(n))
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
            lines.append(t.gettext("Your answer: %(answer)s", answer=escape(_clip(current))))
            rows.append([_button(attempt, "k", None, t.gettext("Keep this answer"))])
    nav: list[Button] = []
    if number > 1:
        nav.append(back)
    if item.optional:
        nav.append(_button(attempt, "s", None, t.gettext("Skip")))
    if nav:
        rows.append(nav)
    return Screen("\n".join(lines), rows)


def _clip(text: str, limit: int = 300) -> str:
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
) -> Screen:
    loc = t.locale
    lines = [head, t.gettext("Check your answers, then send them."), ""]
    for number, item in enumerate(shown, start=1):
        lines.append(f"{number}. {escape(_clip(item.text.get(loc), 80))}")
        lines.append(f"   → {escape(answer_text(item, answers.get(item.id), loc, t))}")
    lines.append("")
    lines.append(t.gettext("Once sent, your answers can no longer be changed."))
    rows = [[_button(attempt, "S", None, t.gettext("Send"))]]
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
        return _clip(str(value), 120)
    ids = value if isinstance(value, list) else [value]
    labels = [o.text.get(locale) for i in ids if (o := item.option(str(i))) is not None]
    return ", ".join(labels)


# --- content checks ---------------------------------------------------------------------------


def screen_problems(
    content: Content, locales: tuple[str, ...]
) -> list[tuple[str, int | None, str]]:
    """Every questionnaire screen Telegram would refuse as too long, in each language.

    Each item is rendered as the current question (with its longest previous answer
    shown back), and each stage's summary with every item answered at full length.
    Returns (instrument kind, item index or None for the summary, message).
    """
    from bot.services.text import MESSAGE_MAX, telegram_length, visible_text

    found: list[tuple[str, int | None, str]] = []
    tz = content.programme.tz
    for kind, instrument in content.instruments.items():
        for locale in locales:
            t = Translator(locale, tz)
            for stage in instrument.stages:
                longest = _longest_answers(instrument)
                for index, item in enumerate(instrument.items):
                    answers = _answers_showing(instrument, item, longest)
                    probe = _probe_attempt(instrument, index)
                    if current_item(instrument, stage, probe, answers) is not item:
                        continue  # never shown in this stage
                    screen = render(instrument, stage, probe, answers, t)
                    length = telegram_length(visible_text(t.bidi(screen.text))[0])
                    if length > MESSAGE_MAX:
                        found.append(
                            (
                                kind,
                                index,
                                f"the {locale} screen of {stage.id!r} is {length} "
                                f"characters, over Telegram's {MESSAGE_MAX}: shorten the text or "
                                "its options",
                            )
                        )
                end = _probe_attempt(instrument, len(instrument.items))
                summary = render(instrument, stage, end, longest, t)
                if summary.text:
                    length = telegram_length(visible_text(t.bidi(summary.text))[0])
                    if length > MESSAGE_MAX:
                        found.append(
                            (
                                kind,
                                None,
                                f"the {locale} summary of {stage.id!r} is {length} "
                                f"characters, over Telegram's {MESSAGE_MAX}: fewer or shorter "
                                "items",
                            )
                        )
    return found


def _probe_attempt(instrument: Instrument, position: int) -> Attempt:
    epoch = datetime(2000, 1, 1)
    draft = (
        [o.id for o in (instrument.items[position].options or [])]
        if position < len(instrument.items)
        else None
    )
    return Attempt(
        id=0,
        participant_id=0,
        instrument=instrument.kind,
        stage="",
        number=1,
        content_version="",
        seed=0,
        position=position,
        revision=0,
        draft=draft,
        chat_id=None,
        message_id=None,
        started_at=epoch,
        updated_at=epoch,
        submitted_at=None,
    )


def _longest_answers(instrument: Instrument) -> dict[str, Any]:
    """The longest answer each item can get back in a summary or as a kept answer."""
    answers: dict[str, Any] = {}
    for item in instrument.items:
        options = item.options or []
        if item.type == "text":
            answers[item.id] = "x" * item.max_length
        elif item.type == "scale":
            answers[item.id] = 5
        elif item.type == "multi":
            ranked = sorted(options, key=lambda o: -_size(o.text))
            answers[item.id] = [o.id for o in ranked[: item.max_choices or len(ranked)]]
        elif options:
            answers[item.id] = max(options, key=_option_size).id
    return answers


def _answers_showing(instrument: Instrument, target: Item, base: dict[str, Any]) -> dict[str, Any]:
    """``base`` changed so that the conditions leading to ``target`` hold."""
    answers = dict(base)
    item: Item | None = target
    while item is not None and item.show_if is not None and item.show_if.item:
        wanted = (item.show_if.answer_in or [""])[0]
        parent = next((i for i in instrument.items if i.id == item.show_if.item), None)
        if parent is None:
            break
        answers[parent.id] = int(wanted) if parent.type == "scale" and wanted.isdigit() else wanted
        if parent.type == "multi":
            answers[parent.id] = [wanted]
        item = parent
    return answers


def _size(text: LocalizedText) -> int:
    return max(len(text.get(locale)) for locale in LOCALES)


def _option_size(option: Option) -> int:
    return _size(option.text)
