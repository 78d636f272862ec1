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


def test_a_large_agencys_line_manager_sees_twenty_people_at_a_time() -> None:
    from datetime import UTC, datetime, timedelta

    from bot.content import load_content
    from bot.rules.questionnaire import Window
    from bot.services.questionnaire import Pending, SupervisorMenu
    from bot.services.text import MESSAGE_MAX, telegram_length
    from bot.storage.supervisors import Supervisee
    from bot.views.supervisor import MAX_LISTED, menu_screen
    from tests.conftest import CONTENT_DIR

    content = load_content(CONTENT_DIR)
    instrument = content.supervisor_instrument("supervisors")
    assert instrument is not None
    opens = datetime(2027, 9, 1, tzinfo=UTC)
    todo = [
        Pending(
            instrument,
            instrument.stages[0],
            Window(opens, opens + timedelta(days=30 + n)),
            False,
            Supervisee(n, f"Conseiller·e numéro {n:03d} Nom-De-Famille-Long", "tanger"),
        )
        for n in range(150)
    ]
    t = Translator("fr", content.programme.tz)
    screen = menu_screen(t, SupervisorMenu(todo, None))
    # Within Telegram's limits (100 buttons, 4,096 characters), the closing soonest first.
    assert len(screen.buttons) == MAX_LISTED == 20
    assert telegram_length(screen.text) <= MESSAGE_MAX
    assert "numéro 000" in screen.text
    assert "numéro 019" in screen.text
    assert "numéro 020" not in screen.text
    assert "… et 130 autres personnes, affichées ici à mesure que vous répondez." in screen.text
