"""The shared pieces of the participant screens, built from plain data in each language."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.callbacks import parse_language, parse_open
from bot.content.models import Session
from bot.i18n import LOCALES, Translator, load_catalogs
from bot.runtime import runtime_of
from bot.views.common import open_button, session_lines, venue_line
from bot.views.language import language_screen
from tests.test_rules import ONLINE, SURVEY

TZ = ZoneInfo("Africa/Casablanca")


@pytest.fixture(autouse=True)
def catalogs() -> None:
    load_catalogs()


def session(**where: object) -> Session:
    return Session.model_validate(
        {
            "id": "intro",
            "title": "Introduction",
            "start": datetime(2027, 1, 13, 10),
            "end": datetime(2027, 1, 13, 12),
            **where,
        }
    )


def test_a_session_says_online_with_its_link_else_its_place_else_nothing() -> None:
    t = Translator("fr", TZ)
    online = session(link="https://zoom.example/j/1", place="Tanger")
    assert venue_line(t, online) == "En ligne : https://zoom.example/j/1"
    assert venue_line(t, session(place="Tanger")) == "Lieu : Tanger"
    assert venue_line(t, session()) is None
    lines = session_lines(t, session(place="<Rabat>"))
    assert lines[0] == "<b>Introduction</b>"
    assert lines[-1] == "Lieu : &lt;Rabat&gt;"


@pytest.mark.parametrize("locale", LOCALES)
def test_the_start_button_says_continue_once_begun(locale: str) -> None:
    t = Translator(locale, TZ)
    start = open_button(t, SURVEY, ONLINE, started=False)
    again = open_button(t, SURVEY, ONLINE, started=True)
    assert start.text != again.text
    # The button names the stage (its title here: no short label); the message, the instrument.
    assert start.text.endswith(": En ligne")
    assert again.text.endswith(": En ligne")
    assert parse_open(start.data) == parse_open(again.data) == ("mini", "online")


def test_the_language_screen_offers_every_language_named_in_itself() -> None:
    screen = language_screen(Translator("ar", TZ))
    (row,) = screen.buttons
    assert [b.text for b in row] == ["Français", "English", "العربية"]
    assert [parse_language(b.data) for b in row] == list(LOCALES)


def test_an_application_without_a_runtime_is_a_clear_error() -> None:
    class Bare:
        def __init__(self) -> None:
            self.bot_data: dict[str, object] = {}

    with pytest.raises(RuntimeError, match="no runtime"):
        runtime_of(Bare())
