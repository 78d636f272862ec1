"""The questionnaire's pure rules and the callback data, tested over plain data (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.callbacks import (
    ANSWERS_DATA,
    Action,
    Tap,
    language_data,
    open_data,
    parse_language,
    parse_open,
    parse_tap,
    tap_data,
)
from bot.content.instruments import Instrument, Stage
from bot.i18n import LOCALES
from bot.rules.questionnaire import (
    Refusal,
    Step,
    Window,
    apply_tap,
    current_item,
    landing,
    next_position,
    resume_position,
    saved_choices,
    visible_items,
)
from bot.storage.answers import Attempt

OPENS = datetime(2027, 3, 1, 9, tzinfo=UTC)
CLOSES = OPENS + timedelta(days=7)

# A small survey of every item type; "why" shows only after a low rating, "online" only
# in an online stage.
SURVEY = Instrument.model_validate(
    {
        "id": "mini",
        "kind": "survey",
        "title": "Mini",
        "stages": [
            {
                "id": "online",
                "title": "En ligne",
                "mode": "online",
                "opens": OPENS,
                "closes": CLOSES,
            },
            {
                "id": "onsite",
                "title": "Sur place",
                "mode": "residential",
                "opens": OPENS,
                "closes": CLOSES,
            },
        ],
        "items": [
            {
                "id": "rate",
                "type": "scale",
                "text": "Note",
                "labels": {"low": "bas", "high": "haut"},
            },
            {
                "id": "why",
                "type": "text",
                "text": "Pourquoi ?",
                "show_if": {"item": "rate", "in": ["1", "2"]},
            },
            {
                "id": "tools",
                "type": "multi",
                "text": "Outils",
                "max_choices": 2,
                "options": [
                    {"id": "a", "text": "A"},
                    {"id": "b", "text": "B"},
                    {"id": "c", "text": "C"},
                ],
            },
            {
                "id": "zoom",
                "type": "single",
                "text": "Zoom ?",
                "optional": True,
                "options": [{"id": "yes", "text": "Oui"}, {"id": "no", "text": "Non"}],
                "show_if": {"mode": "online"},
            },
            {"id": "note", "type": "text", "text": "Remarque", "optional": True},
        ],
    }
)
ONLINE, ONSITE = SURVEY.stages
SUMMARY = len(SURVEY.items)


def attempt_at(position: int, draft: list[str] | None = None, revision: int = 3) -> Attempt:
    return Attempt(
        id=7,
        participant_id=1,
        instrument="satisfaction",
        stage="online",
        number=1,
        content_version="v",
        seed=1,
        position=position,
        revision=revision,
        draft=draft,
        chat_id=None,
        message_id=None,
        started_at=OPENS,
        updated_at=OPENS,
        submitted_at=None,
    )


def press(
    position: int,
    answers: dict[str, Any],
    action: Action,
    arg: str | None = None,
    draft: list[str] | None = None,
    stage: Stage = ONLINE,
) -> Step | None:
    return apply_tap(SURVEY, stage, attempt_at(position, draft), answers, Tap(7, 3, action, arg))


def test_a_window_is_open_from_its_opening_until_just_before_it_closes() -> None:
    window = Window(OPENS, CLOSES)
    assert window.state(OPENS - timedelta(seconds=1)) is Refusal.NOT_OPEN
    assert window.state(OPENS) is None
    assert window.state(CLOSES - timedelta(seconds=1)) is None
    assert window.state(CLOSES) is Refusal.CLOSED


def ids(stage: Stage, answers: dict[str, Any]) -> list[str]:
    return [i.id for i in visible_items(SURVEY, stage, answers)]


def test_conditional_items_follow_the_answers_and_the_stage_mode() -> None:
    assert ids(ONLINE, {}) == ["rate", "tools", "zoom", "note"]
    assert ids(ONLINE, {"rate": 2}) == ["rate", "why", "tools", "zoom", "note"]
    assert ids(ONSITE, {"rate": 5}) == ["rate", "tools", "note"]


def test_a_scale_takes_one_to_five_and_moves_on_past_hidden_items() -> None:
    step = press(0, {}, Action.ANSWER, "4")
    assert step == Step(0, "rate", 4, advance=True)
    assert press(0, {}, Action.ANSWER, "6") is None
    assert press(0, {}, Action.ANSWER, None) is None
    # A good rating: "why" stays hidden, the next item is "tools".
    assert landing(SURVEY, ONLINE, attempt_at(0), {"rate": 4}, step) == (2, None)
    # A low one asks why.
    assert next_position(SURVEY, ONLINE, {"rate": 1}, 0) == 1


def test_multiple_choices_toggle_up_to_the_limit_in_the_options_order() -> None:
    answers = {"rate": 5}
    assert press(2, answers, Action.TOGGLE, "c") == Step(2, draft=["c"])
    assert press(2, answers, Action.TOGGLE, "a", draft=["c"]) == Step(2, draft=["a", "c"])
    assert press(2, answers, Action.TOGGLE, "c", draft=["a", "c"]) == Step(2, draft=["a"])
    assert press(2, answers, Action.TOGGLE, "b", draft=["a", "c"]) is None  # two at most
    assert press(2, answers, Action.TOGGLE, "z") is None
    # Confirming nothing is refused on a required item; confirming saves the draft.
    assert press(2, answers, Action.CONFIRM, draft=[]) is None
    assert press(2, answers, Action.CONFIRM, draft=["a"]) == Step(2, "tools", ["a"], advance=True)


def test_skip_only_on_optional_items_keep_only_an_answer_given() -> None:
    answers = {"rate": 5, "tools": ["a"]}
    assert press(0, {}, Action.SKIP) is None
    assert press(3, answers, Action.SKIP) == Step(3, "zoom", None, advance=True)
    assert press(4, answers, Action.KEEP) is None
    assert press(4, {**answers, "note": "ok"}, Action.KEEP) == Step(4, advance=True)


def test_previous_goes_to_the_last_visible_item_before_and_never_before_the_first() -> None:
    answers = {"rate": 5, "tools": ["a", "b"]}
    assert press(0, {}, Action.PREVIOUS) is None
    # Back from "zoom" lands on "tools" with its saved choices, skipping the hidden "why".
    assert press(3, answers, Action.PREVIOUS) == Step(2, draft=["a", "b"])


def test_send_only_from_the_summary() -> None:
    answers = {"rate": 5, "tools": ["a"], "zoom": None, "note": None}
    assert current_item(SURVEY, ONLINE, attempt_at(SUMMARY), answers) is None
    assert press(SUMMARY, answers, Action.SEND) == Step(SUMMARY, submit=True)
    assert press(0, {}, Action.SEND) is None
    assert press(SUMMARY, answers, Action.ANSWER, "yes") is None


def test_resume_at_the_first_visible_item_without_an_answer() -> None:
    assert resume_position(SURVEY, ONLINE, {}) == 0
    assert resume_position(SURVEY, ONLINE, {"rate": 1}) == 1
    assert resume_position(SURVEY, ONSITE, {"rate": 5, "tools": ["a"]}) == 4
    assert resume_position(SURVEY, ONSITE, {"rate": 5, "tools": ["a"], "note": None}) == SUMMARY
    assert saved_choices(SURVEY, 2, {"tools": ["b"]}) == ["b"]
    assert saved_choices(SURVEY, SUMMARY, {}) is None


# --- callback data -------------------------------------------------------------------------------


@pytest.mark.parametrize("action", list(Action))
def test_every_tap_parses_back_to_what_was_built(action: Action) -> None:
    for arg in (None, "yes", "5", "opt-12"):
        data = tap_data(123456789012, 999999999, action, arg)
        assert len(data.encode()) <= 64
        assert parse_tap(data) == Tap(123456789012, 999999999, action, arg)


@pytest.mark.parametrize(
    "data",
    [
        "q:1:0:x",
        "q:1:0",
        "q:a:0:a",
        "q:1:0:a:",
        "q:1:0:a:UPPER",
        "q:1:0:a:" + "a" * 13,
        "qo:kat:pre",
    ],
)
def test_a_forged_tap_parses_to_nothing(data: str) -> None:
    assert parse_tap(data) is None


def test_skip_and_send_differ_by_more_than_a_letter_case_in_the_code() -> None:
    assert parse_tap("q:1:0:s") == Tap(1, 0, Action.SKIP)
    assert parse_tap("q:1:0:S") == Tap(1, 0, Action.SEND)


def test_open_language_and_answers_data_round_trip() -> None:
    assert parse_open(open_data("kat", "pre")) == ("kat", "pre")
    assert parse_open("qo:kat:") is None
    assert parse_open(ANSWERS_DATA) is None
    for locale in LOCALES:
        assert parse_language(language_data(locale)) == locale
    assert parse_language("lang:de") is None
    assert parse_language("lang:fr:extra") is None
