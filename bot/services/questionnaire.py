"""The questionnaire engine: one item at a time, every tap committed, stale taps refused.

A participant's attempt at a stage of an instrument (KAT pre, satisfaction after
an activity, the follow-up) is shown in one Telegram message that is edited in
place. Each screen's buttons carry the attempt id and its revision; any change
bumps the revision, so a double tap, a tap on an old message or a forged callback
is refused without writing anything. The rules are in ``bot.rules.questionnaire``,
the screens in ``bot.views.questionnaire``; this module reads and writes the attempt
around them.

A supervisor answers the ``audience: supervisors`` instruments about each person they
supervise with the same engine: a ``Book`` says which tables, button prefixes and
instruments a start, a tap or a typed answer works on (``PARTICIPANTS``, ``SUPERVISORS``).
"""

from __future__ import annotations

import random
import secrets
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import aiosqlite

from bot.callbacks import (
    Tap,
    TapData,
    parse_supervisor_tap,
    parse_tap,
    supervisor_tap_data,
    tap_data,
)
from bot.content import Content
from bot.content.instruments import Instrument, Item, Option, Stage
from bot.content.models import LocalizedText
from bot.i18n import LOCALES, Translator
from bot.rules.questionnaire import (
    Refusal,
    Window,
    apply_tap,
    current_item,
    landing,
    next_position,
    resume_position,
    saved_choices,
    visible_items,
    window_for,
)
from bot.services.scores import stamp_of
from bot.storage import Database, repo
from bot.storage import answers as store
from bot.storage import supervisors as sstore
from bot.storage.answers import Attempt
from bot.storage.repo import Participant
from bot.storage.supervisors import Supervisee, Supervisor
from bot.views.questionnaire import render
from bot.views.screen import Screen

# --- whose questionnaires: the participants' own, or the supervisors' about each person ---


@dataclass(frozen=True, slots=True)
class Book:
    """One family of questionnaires the engine runs: where its attempts are stored, how its
    buttons' data is built and read, and which instruments it answers."""

    tables: store.Tables
    tap_data: TapData
    parse: Callable[[str], Tap | None]
    instrument: Callable[[Content, str], Instrument | None]


PARTICIPANTS = Book(store.PARTICIPANTS, tap_data, parse_tap, Content.instrument)
# A supervisor answers the ``audience: supervisors`` instruments, once per person supervised.
SUPERVISORS = Book(
    store.SUPERVISORS, supervisor_tap_data, parse_supervisor_tap, Content.supervisor_instrument
)


# --- outcomes: what a start, a tap or a typed answer did -------------------------------------


@dataclass(frozen=True, slots=True)
class Shown:
    """The attempt moved (or opened): show ``screen``."""

    attempt: Attempt
    screen: Screen
    # The participant's saved language, when a tap found them (None: not set or unknown).
    language: str | None = None


@dataclass(frozen=True, slots=True)
class Submitted:
    """The attempt was sent; its answers are locked."""

    attempt: Attempt
    language: str | None = None


@dataclass(frozen=True, slots=True)
class Refused:
    """Nothing changed, for ``refusal``; ``attempt`` is the one concerned, if one was found."""

    refusal: Refusal
    attempt: Attempt | None = None
    language: str | None = None


@dataclass(frozen=True, slots=True)
class OutsideWindow:
    """Nothing changed: the stage is not open yet, or closed."""

    refusal: Literal[Refusal.NOT_OPEN, Refusal.CLOSED]
    window: Window
    attempt: Attempt | None = None
    language: str | None = None


@dataclass(frozen=True, slots=True)
class TooLong:
    """A typed answer over the item's limit: nothing stored."""

    attempt: Attempt
    max_length: int
    refusal: Literal[Refusal.TOO_LONG] = Refusal.TOO_LONG


# Nothing changed, and why.
NotDone = Refused | OutsideWindow | TooLong
Outcome = Shown | Submitted | NotDone


def _outside(
    window: Window, now: datetime, attempt: Attempt | None, language: str | None = None
) -> OutsideWindow | None:
    """The refusal when ``now`` is outside the window, else None."""
    state = window.state(now)
    if state is Refusal.NOT_OPEN or state is Refusal.CLOSED:
        return OutsideWindow(state, window, attempt, language)
    return None


@dataclass(frozen=True, slots=True)
class Pending:
    """A stage the participant can answer now (a supervisor: ``about`` this person)."""

    instrument: Instrument
    stage: Stage
    window: Window
    started: bool
    about: Supervisee | None = None


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
                latest = await store.latest_attempt(conn, participant.id, instrument.id, stage.id)
                if latest is not None and latest.submitted:
                    continue
                # Opened but never answered (or just reopened) still reads "Start".
                started = latest is not None and latest.revision > 0
                found.append(Pending(instrument, stage, window, started))
    return sorted(found, key=lambda p: p.window.closes)


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
) -> Shown | Refused | OutsideWindow:
    """Start the stage, or resume it where the participant stopped.

    ``shown_in`` (chat id, message id) is the message that will show it, recorded in the
    same transaction; the attempt returned still names the message that showed it
    before, so that the caller can retire that one.
    """
    found = content.instrument(kind)
    instrument = found.for_cohort(participant.cohort) if found else None
    stage = instrument.stage(stage_id) if instrument else None
    if instrument is None or stage is None:
        return Refused(Refusal.INVALID)
    window = window_for(content, instrument, stage, participant.cohort)
    async with db.transaction() as conn:
        latest = await store.latest_attempt(conn, participant.id, kind, stage_id)

        async def start() -> Attempt:
            return await store.insert_attempt(
                conn,
                participant_id=participant.id,
                instrument=kind,
                stage=stage_id,
                number=1,
                content_version=content.version,
                seed=random.SystemRandom().randrange(1, 2**31),
                now=now,
            )

        return await _open_in(
            conn, PARTICIPANTS, instrument, stage, window, latest, start, t, now, shown_in
        )


async def _open_in(
    conn: aiosqlite.Connection,
    book: Book,
    instrument: Instrument,
    stage: Stage,
    window: Window,
    latest: Attempt | None,
    start: Callable[[], Awaitable[Attempt]],
    t: Translator,
    now: datetime,
    shown_in: tuple[int, int] | None,
    name: str | None = None,
) -> Shown | Refused | OutsideWindow:
    """Start (``start``) or resume ``latest`` inside the caller's transaction, or refuse."""
    if latest is not None and latest.submitted:
        return Refused(Refusal.SUBMITTED, latest)
    outside = _outside(window, now, latest)
    if outside is not None:
        return outside
    tables = book.tables
    if latest is None:
        attempt = await start()
        answers: dict[str, Any] = {}
    else:
        # Resume by id at the first question not answered: right even if the content
        # was edited since (an item inserted or removed moves every later position).
        answers = await store.answers_of(conn, latest.id, tables=tables)
        position = resume_position(instrument, stage, answers)
        draft = (
            latest.draft
            if position == latest.position
            else saved_choices(instrument, position, answers)
        )
        # A new message takes over: the buttons of the old one become stale.
        attempt = await store.move(
            conn, latest, position=position, draft=draft, now=now, tables=tables
        )
    if shown_in is not None:
        await store.set_message(conn, attempt.id, *shown_in, tables=tables)
    screen = render(instrument, stage, attempt, answers, t, tap=book.tap_data, name=name)
    return Shown(attempt, screen)


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


async def remember_message(
    db: Database,
    attempt: Attempt,
    chat_id: int,
    message_id: int,
    *,
    book: Book = PARTICIPANTS,
) -> None:
    """Record the message that shows the attempt, so later taps edit it."""
    async with db.transaction() as conn:
        await store.set_message(conn, attempt.id, chat_id, message_id, tables=book.tables)


# --- taps ---------------------------------------------------------------------------------------


async def tap(
    db: Database,
    content: Content,
    user_id: int,
    data: str,
    speak: Callable[[str | None], Translator],
    now: datetime,
    *,
    book: Book = PARTICIPANTS,
) -> Shown | Submitted | Refused | OutsideWindow:
    """Apply one tap by this Telegram user in one transaction, or refuse it and write nothing.

    ``speak`` gives the translator for the respondent's saved language (None: unknown);
    ``book`` says whose attempts the tap may touch (a participant's button never reaches
    a supervisor's attempt, nor the other way round).
    """
    parsed = book.parse(data)
    if parsed is None:
        return Refused(Refusal.INVALID)
    # The whole tap is one plain transaction on the database thread (see Database.run).
    applied = await db.run(lambda conn: _tap_in(conn, content, book, user_id, parsed, now))
    if not isinstance(applied, _Moved):
        return applied
    screen = render(
        applied.instrument,
        applied.stage,
        applied.attempt,
        applied.answers,
        speak(applied.language),
        tap=book.tap_data,
        name=applied.subject,
    )
    return Shown(applied.attempt, screen, applied.language)


@dataclass(frozen=True, slots=True)
class _Moved:
    """A tap that moved the attempt, with what its next screen is rendered from."""

    attempt: Attempt
    instrument: Instrument
    stage: Stage
    answers: dict[str, Any]
    language: str | None
    subject: str | None


def _tap_in(
    conn: sqlite3.Connection,
    content: Content,
    book: Book,
    user_id: int,
    parsed: Tap,
    now: datetime,
) -> Submitted | Refused | OutsideWindow | _Moved:
    """The tap inside its transaction: check, then save the answer and move, or refuse."""
    tables = book.tables
    # Only the participant bound to this user may touch the attempt (a supervisor's: only
    # the supervisor bound to this user, while they supervise the person it is about).
    owned = store.sync_owned_attempt(conn, parsed.attempt_id, user_id, tables=tables)
    if owned is None:
        return Refused(Refusal.INVALID)
    attempt, answers, language = owned.attempt, owned.answers, owned.language
    found = book.instrument(content, attempt.instrument)
    instrument = found.for_cohort(owned.cohort) if found else None
    stage = instrument.stage(attempt.stage) if instrument else None
    if instrument is None or stage is None:
        return Refused(Refusal.INVALID, language=language)
    if attempt.submitted:
        return Refused(Refusal.SUBMITTED, attempt, language)
    if parsed.revision != attempt.revision:
        return Refused(Refusal.STALE, attempt, language)
    outside = _outside(window_for(content, instrument, stage, owned.cohort), now, attempt, language)
    if outside is not None:
        return outside
    step = apply_tap(instrument, stage, attempt, answers, parsed)
    if step is None:
        return Refused(Refusal.INVALID, attempt, language)
    if step.submit:
        shown = {i.id for i in visible_items(instrument, stage, answers)}
        hidden = [k for k in answers if k not in shown]
        store.sync_delete_answers(conn, attempt.id, hidden, tables=tables)
        done = store.sync_submit(conn, attempt.id, now, tables=tables)
        if done is None:  # not submitted: checked above, in this transaction
            raise RuntimeError(f"attempt {attempt.id} could not be submitted")
        return Submitted(done, language)
    if step.item is not None:
        stamp = stamp_of(instrument.item(step.item), step.value)
        store.sync_save_answer(conn, attempt.id, step.item, step.value, now, stamp, tables=tables)
        answers[step.item] = step.value
    position, draft = landing(instrument, stage, attempt, answers, step)
    moved = store.sync_move(conn, attempt, position=position, draft=draft, now=now, tables=tables)
    return _Moved(moved, instrument, stage, answers, language, owned.subject)


async def type_answer(
    db: Database,
    content: Content,
    respondent: Participant | Supervisor,
    text: str,
    t: Translator,
    now: datetime,
    message_id: int | None = None,
) -> Shown | NotDone:
    """Take a typed message as the answer to the open attempt's free-text item, if one waits.

    ``respondent`` is a participant (their own questionnaires) or a supervisor (theirs about
    the people they supervise now). ``message_id`` (the chat's, increasing) makes it
    idempotent: a message already taken for this attempt, delivered again, is
    ``Refusal.DUPLICATE`` and stores nothing.
    """
    book = SUPERVISORS if isinstance(respondent, Supervisor) else PARTICIPANTS
    tables = book.tables
    async with db.transaction() as conn:
        if message_id is not None and await store.typed_already(
            conn, respondent.id, message_id, tables=tables
        ):
            return Refused(Refusal.DUPLICATE)
        for found_open in reversed(
            await store.open_attempts_of(conn, respondent.id, tables=tables)
        ):
            attempt, cohort = found_open.attempt, found_open.cohort
            found = book.instrument(content, attempt.instrument)
            instrument = found.for_cohort(cohort) if found else None
            stage = instrument.stage(attempt.stage) if instrument else None
            if instrument is None or stage is None:
                continue
            answers = await store.answers_of(conn, attempt.id, tables=tables)
            item = current_item(instrument, stage, attempt, answers)
            if item is None or item.type != "text":
                continue
            window = window_for(content, instrument, stage, cohort)
            outside = _outside(window, now, attempt)
            if outside is not None:
                return outside
            answer = text.strip()
            if len(answer) > item.max_length:
                return TooLong(attempt, item.max_length)
            await store.save_answer(
                conn, attempt.id, item.id, answer, now, stamp_of(item, answer), tables=tables
            )
            if message_id is not None:
                await store.note_typed_message(conn, attempt.id, message_id, tables=tables)
            answers[item.id] = answer
            position = next_position(instrument, stage, answers, attempt.position)
            draft = saved_choices(instrument, position, answers)
            moved = await store.move(
                conn, attempt, position=position, draft=draft, now=now, tables=tables
            )
            screen = render(
                instrument, stage, moved, answers, t, tap=book.tap_data, name=found_open.subject
            )
            return Shown(moved, screen)
    return Refused(Refusal.NONE_OPEN)


# --- a supervisor's questionnaires about the people they supervise ------------------------


@dataclass(frozen=True, slots=True)
class SupervisorMenu:
    """What a supervisor can answer now, one entry per person and stage; when nothing is
    open, when the next one opens (None: nothing more to come)."""

    todo: list[Pending]
    next_opens: datetime | None


async def supervisor_menu(
    db: Database, content: Content, supervisor: Supervisor, now: datetime
) -> SupervisorMenu:
    """Every supervisors' stage open now for someone the supervisor supervises (the window of
    that person's cohort) and not yet sent by this supervisor about them."""
    todo: list[Pending] = []
    upcoming: list[datetime] = []
    async with db.read() as conn:
        for person in await sstore.supervisees(conn, supervisor.id):
            for instrument in content.supervisor_instruments.values():
                for stage in instrument.stages:
                    window = window_for(content, instrument, stage, person.cohort)
                    state = window.state(now)
                    if state is Refusal.CLOSED:
                        continue
                    latest = await store.latest_attempt(
                        conn,
                        person.participant_id,
                        instrument.id,
                        stage.id,
                        supervisor_id=supervisor.id,
                    )
                    if latest is not None and latest.submitted:
                        continue
                    if state is Refusal.NOT_OPEN:
                        upcoming.append(window.opens)
                        continue
                    started = latest is not None and latest.revision > 0
                    todo.append(Pending(instrument, stage, window, started, person))
    todo.sort(key=lambda p: (p.window.closes, p.about.name if p.about else ""))
    return SupervisorMenu(todo, min(upcoming) if upcoming and not todo else None)


def draw_pseudonym() -> str:
    """A supervisor-and-supervisee pair's key in the evaluators' export: random, so that it
    says nothing of the participant's code (``S-`` and 8 characters)."""
    return "S-" + "".join(secrets.choice(PSEUDONYM_ALPHABET) for _ in range(8))


# No 0/O, 1/I/L: read aloud or copied by hand without mistakes.
PSEUDONYM_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


async def open_for_supervisee(
    db: Database,
    content: Content,
    supervisor: Supervisor,
    participant_id: int,
    kind: str,
    stage_id: str,
    t: Translator,
    now: datetime,
    *,
    shown_in: tuple[int, int] | None = None,
) -> Shown | Refused | OutsideWindow:
    """Start or resume the supervisor's questionnaire about one person they supervise now;
    anyone else (not, or no longer, theirs) is refused and nothing is written."""
    found = content.supervisor_instrument(kind)
    async with db.transaction() as conn:
        person = await sstore.supervisee(conn, supervisor.id, participant_id)
        instrument = found.for_cohort(person.cohort) if found and person else None
        stage = instrument.stage(stage_id) if instrument else None
        if person is None or instrument is None or stage is None:
            return Refused(Refusal.INVALID)
        window = window_for(content, instrument, stage, person.cohort)
        latest = await store.latest_attempt(
            conn, participant_id, kind, stage_id, supervisor_id=supervisor.id
        )

        async def start() -> Attempt:
            # One pseudonym per pair, drawn at the first attempt and kept for the later ones.
            pseudonym = await store.pair_pseudonym(conn, supervisor.id, participant_id)
            return await store.insert_attempt(
                conn,
                participant_id=participant_id,
                instrument=kind,
                stage=stage_id,
                number=1,
                content_version=content.version,
                seed=random.SystemRandom().randrange(1, 2**31),
                now=now,
                supervisor=store.SupervisorKey(supervisor.id, pseudonym or draw_pseudonym()),
            )

        return await _open_in(
            conn,
            SUPERVISORS,
            instrument,
            stage,
            window,
            latest,
            start,
            t,
            now,
            shown_in,
            person.name,
        )


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
    for kind, instrument in content.all_instruments.items():
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
        instrument=instrument.id,
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
