"""Random taps, replays, forgeries, typing and time never break the questionnaire's invariants."""

from __future__ import annotations

import asyncio
import json
import shutil
import string
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bot.callbacks import parse_tap
from bot.clock import FixedClock
from bot.content import Content, load_content
from bot.content.instruments import Item
from bot.i18n import Translator, load_catalogs
from bot.rules.questionnaire import visible_items, window_for
from bot.services.questionnaire import (
    Outcome,
    Shown,
    Submitted,
    open_stage,
    tap,
    type_answer,
)
from bot.storage import Database, repo
from bot.storage.repo import Participant, from_db_time
from bot.views.screen import Button, Screen
from tests.conftest import CONTENT_DIR, START, add_participant
from tests.test_flow_questionnaire import SURVEY

STAGES = (("satisfaction", "online"), ("satisfaction", "onsite"), ("kat", "pre"), ("kat", "post"))


# --- steps --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Taps:
    """For each move in turn, tap the index-th button (modulo) of the last screen, or type text.

    A burst of taps on the screen the previous one returned and of typed answers, each checked
    on its own: lists drawn by hypothesis are short (about five steps on average), too short to
    reach a summary and send it one action per step.
    """

    who: int
    moves: tuple[int | str, ...]


@dataclass(frozen=True)
class Replay:
    """Send again the data of the index-th button ever seen (modulo), maybe as the other one."""

    who: int
    index: int


@dataclass(frozen=True)
class Forge:
    """Send made-up callback data: ``q:<int>:<int>:<letter>[:<text>]`` or any text."""

    who: int
    data: str


@dataclass(frozen=True)
class Tamper:
    """Send the current screen's attempt and revision with any action and argument."""

    who: int
    action: str
    arg: str | None


@dataclass(frozen=True)
class Type:
    """Send a text message."""

    who: int
    text: str


@dataclass(frozen=True)
class Open:
    """Start or resume a stage."""

    who: int
    kind: str
    stage: str


@dataclass(frozen=True)
class Advance:
    """Let time pass."""

    hours: int


Step = Taps | Replay | Forge | Tamper | Type | Open | Advance

# Mostly the first participant, so that her attempts go far; the second one gets in the way.
who = st.sampled_from([0, 0, 0, 1])
letters = st.one_of(st.sampled_from("apstvkS"), st.sampled_from(string.ascii_letters))
args = st.one_of(
    st.none(),
    st.sampled_from(["a", "b", "c", "d", "yes", "no", "0", "1", "2", "3", "5", "6"]),
    st.text(max_size=16),
)
forged_tap = st.builds(
    lambda a, r, letter, arg: f"q:{a}:{r}:{letter}" + ("" if arg is None else f":{arg}"),
    st.one_of(st.integers(0, 8), st.integers(0, 10**13)),
    st.one_of(st.integers(0, 40), st.integers(0, 10**10)),
    letters,
    args,
)
typed = st.one_of(
    st.text(max_size=120),
    st.builds(lambda n, c: c * n, st.integers(0, 120), st.sampled_from(["x", " ", "é", "ب"])),
)
# The first buttons of a screen are its answers (and Send on the summary), the last ones go back
# (or skip): -1 is the last button.
index = st.one_of(st.integers(0, 3), st.integers(-2, -1), st.integers(0, 20))
kinds = [
    *[st.builds(Taps, who, st.lists(st.one_of(index, typed), min_size=1, max_size=16).map(tuple))]
    * 3,
    st.builds(Replay, who, st.integers(0, 200)),
    st.builds(Forge, who, st.one_of(forged_tap, st.text(max_size=80))),
    *[st.builds(Type, who, typed)] * 2,
    st.builds(Tamper, who, letters, args),
    *[st.one_of([st.builds(Open, who, st.just(k), st.just(s)) for k, s in STAGES])] * 2,
    st.builds(Advance, st.one_of(st.integers(0, 24), st.integers(0, 400))),
]
# Taps, typing and starts come up more often than the other steps, to get somewhere.
step = st.sampled_from(kinds).flatmap(lambda kind: kind)
# Hypothesis draws about five steps on average; the second branch plays long sessions too,
# and shrinking still goes to the first, which allows the shortest sequence.
steps_strategy = st.one_of(st.lists(step, max_size=40), st.lists(step, min_size=20, max_size=40))


# --- content ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def survey_content(tmp_path_factory: pytest.TempPathFactory) -> Content:
    folder = tmp_path_factory.mktemp("property-content")
    for name in ("programme.yaml", "kat.yaml"):
        shutil.copy(CONTENT_DIR / name, folder / name)
    (folder / "satisfaction.yaml").write_text(SURVEY, encoding="utf-8")
    load_catalogs()
    return load_content(folder)


# --- invariants ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    attempts: dict[int, dict[str, Any]]
    answers: dict[tuple[int, str], dict[str, Any]]
    answer_rows: list[tuple[int, str]]


async def snapshot(db: Database) -> Snapshot:
    async with db.read() as conn:
        async with conn.execute("SELECT * FROM attempts ORDER BY id") as cur:
            attempts = {row["id"]: dict(row) for row in await cur.fetchall()}
        async with conn.execute("SELECT * FROM answers ORDER BY attempt_id, item") as cur:
            rows = [dict(row) for row in await cur.fetchall()]
    return Snapshot(
        attempts,
        {(r["attempt_id"], r["item"]): r for r in rows},
        [(r["attempt_id"], r["item"]) for r in rows],
    )


def valid_value(item: Item, value: Any) -> bool:
    if value is None:
        return item.optional
    if item.type in ("quiz", "single"):
        return isinstance(value, str) and item.option(value) is not None
    if item.type == "multi":
        return (
            isinstance(value, list)
            and 0 < len(value) == len(set(value))
            and all(isinstance(v, str) and item.option(v) is not None for v in value)
            and (item.max_choices is None or len(value) <= item.max_choices)
        )
    if item.type == "scale":
        return type(value) is int and 1 <= value <= 5
    return isinstance(value, str) and len(value) <= item.max_length


def check(content: Content, people: list[Participant], snap: Snapshot) -> None:
    cohorts = {p.id: p.cohort for p in people}
    assert len(snap.answer_rows) == len(set(snap.answer_rows)), "duplicate (attempt, item)"
    open_ones = Counter(
        (a["participant_id"], a["instrument"], a["stage"])
        for a in snap.attempts.values()
        if a["submitted_at"] is None
    )
    assert all(n <= 1 for n in open_ones.values()), open_ones
    by_attempt: dict[int, dict[str, Any]] = {a: {} for a in snap.attempts}
    for (attempt_id, item_id), row in snap.answers.items():
        assert attempt_id in snap.attempts, f"answer {item_id!r} of missing attempt {attempt_id}"
        by_attempt[attempt_id][item_id] = json.loads(row["value"])
    for attempt_id, attempt in snap.attempts.items():
        assert attempt["participant_id"] in cohorts
        instrument = content.instrument(attempt["instrument"])
        assert instrument is not None
        stage = instrument.stage(attempt["stage"])
        assert stage is not None
        window = window_for(content, instrument, stage, cohorts[attempt["participant_id"]])
        started = from_db_time(attempt["started_at"])
        assert window.opens <= started < window.closes, (attempt_id, started, window)
        submitted = attempt["submitted_at"]
        submitted_at = from_db_time(submitted) if submitted is not None else None
        if submitted_at is not None:
            assert window.opens <= submitted_at < window.closes, (attempt_id, submitted_at)
        assert 0 <= attempt["position"] <= len(instrument.items)
        if attempt["draft"]:
            draft = json.loads(attempt["draft"])
            assert attempt["position"] < len(instrument.items), attempt
            here = instrument.items[attempt["position"]]
            assert here.type == "multi", attempt
            assert len(draft) == len(set(draft)), attempt
            assert all(here.option(d) is not None for d in draft), attempt
            assert here.max_choices is None or len(draft) <= here.max_choices, attempt
        answers = by_attempt[attempt_id]
        for item_id, value in answers.items():
            item = instrument.item(item_id)
            assert item is not None, f"{item_id!r} is not an item of {instrument.id}"
            assert valid_value(item, value), (attempt_id, item_id, value)
            answered_at = from_db_time(snap.answers[(attempt_id, item_id)]["answered_at"])
            assert window.opens <= answered_at < window.closes, (attempt_id, item_id, answered_at)
            if submitted_at is not None:
                assert answered_at <= submitted_at, (attempt_id, item_id, "after submission")
        if submitted_at is not None:
            shown = {i.id for i in visible_items(instrument, stage, answers)}
            assert set(answers) == shown, (attempt_id, sorted(answers), sorted(shown))


def check_step(
    before: Snapshot, after: Snapshot, actor: int | None, outcome: Outcome | None
) -> None:
    """A refusal or the clock writes nothing; a participant only writes in her own attempts."""
    if actor is None or outcome is None or not isinstance(outcome, Shown | Submitted):
        assert before == after, f"nothing or a refusal ({outcome}), yet the database changed"
        return
    changed = {a for a in after.attempts if before.attempts.get(a) != after.attempts[a]}
    changed |= {a for (a, _) in set(before.answers) ^ set(after.answers)}
    changed |= {
        a for (a, i), row in after.answers.items() if before.answers.get((a, i), row) != row
    }
    assert set(before.attempts) <= set(after.attempts), "an attempt disappeared"
    for attempt_id in changed:
        assert after.attempts[attempt_id]["participant_id"] == actor, (attempt_id, actor)


# --- the game -----------------------------------------------------------------------------------


@dataclass
class Game:
    content: Content
    db: Database
    clock: FixedClock
    people: list[Participant]
    t: Translator
    before: Snapshot
    screens: dict[int, Screen | None] = field(default_factory=dict)
    seen: list[str] = field(default_factory=list)

    async def verify(self, who: int | None, label: str, outcome: Outcome | None) -> None:
        """Check the invariants after one action, and remember what it showed."""
        after = await snapshot(self.db)
        check_step(self.before, after, None if who is None else self.people[who].id, outcome)
        check(self.content, self.people, after)
        self.before = after
        if who is None or outcome is None:
            return
        if isinstance(outcome, Submitted):
            event(f"{label}: sent {outcome.attempt.instrument}/{outcome.attempt.stage}")
            self.screens[who] = None
        elif not isinstance(outcome, Shown):
            event(f"{label}: refused {outcome.refusal}")
        else:
            event(f"{label}: ok")
            self.screens[who] = outcome.screen
            for row in outcome.screen.buttons:
                for button in row:
                    assert len(button.data.encode()) <= 64, button
                    assert parse_tap(button.data) is not None, button
                    self.seen.append(button.data)

    def buttons(self, who: int) -> list[Button]:
        screen = self.screens.get(who)
        return [b for row in screen.buttons for b in row] if screen else []

    async def type(self, who: int, text: str) -> Outcome:
        person = self.people[who]
        return await type_answer(self.db, self.content, person, text, self.t, self.clock.now())

    async def press(self, who: int, data: str) -> Outcome:
        user_id = USER_BASE + self.people[who].id
        now = self.clock.now()
        return await tap(self.db, self.content, user_id, data, lambda _saved: self.t, now)

    async def play(self, step: Step) -> None:
        label = type(step).__name__
        if isinstance(step, Advance):
            self.clock.advance(timedelta(hours=step.hours))
            await self.verify(None, label, None)
            return
        who, now = step.who, self.clock.now()
        outcome: Outcome | None = None
        if isinstance(step, Taps):
            for move in step.moves:
                buttons = self.buttons(who)
                if isinstance(move, str):
                    outcome = await self.type(who, move)
                elif buttons:
                    outcome = await self.press(who, buttons[move % len(buttons)].data)
                else:
                    continue
                await self.verify(
                    who, f"{label}/{'type' if isinstance(move, str) else 'tap'}", outcome
                )
            return
        if isinstance(step, Replay):
            if self.seen:
                outcome = await self.press(who, self.seen[step.index % len(self.seen)])
        elif isinstance(step, Forge):
            outcome = await self.press(who, step.data)
        elif isinstance(step, Tamper):
            buttons = self.buttons(who)
            if buttons:
                attempt_id, revision = buttons[0].data.split(":")[1:3]
                arg = "" if step.arg is None else f":{step.arg}"
                outcome = await self.press(who, f"q:{attempt_id}:{revision}:{step.action}{arg}")
        elif isinstance(step, Type):
            outcome = await self.type(who, step.text)
        else:
            outcome = await open_stage(
                self.db, self.content, self.people[who], step.kind, step.stage, self.t, now
            )
        await self.verify(who, label, outcome)


USER_BASE = 880_000


async def play(content: Content, steps: list[Step]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        clock = FixedClock(START)
        db = await Database.open(Path(folder) / "relais.db")
        try:
            people = [
                await add_participant(db, clock, external_id="P-001", cohort="tanger"),
                await add_participant(db, clock, external_id="P-002", cohort="tanger"),
            ]
            # Taps are checked against the Telegram account bound to the participant.
            async with db.transaction() as conn:
                for person in people:
                    user_id = USER_BASE + person.id
                    await repo.bind_participant(conn, person.id, user_id, user_id, clock.now())
            t = Translator("fr", content.programme.tz)
            game = Game(content, db, clock, people, t, await snapshot(db))
            for step in steps:
                await game.play(step)
        finally:
            await db.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=steps_strategy)
def test_random_sessions_keep_the_invariants(survey_content: Content, steps: list[Step]) -> None:
    asyncio.run(play(survey_content, steps))
