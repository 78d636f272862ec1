"""RELAIS_DEFAULT_LOCALE reaches every place that picks a language, from the environment on."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest

from bot.app import running, runtime_of
from bot.clock import FixedClock
from bot.content import load_content
from bot.i18n import LOCALES, LocaleCode
from bot.sandbox.chat import SimulatedUser, direct_delivery
from bot.sandbox.offline import OfflineBotAPI
from bot.settings import SettingsError, load_settings
from bot.storage import repo
from tests.conftest import (
    CONTENT_DIR,
    START,
    add_participant,
    invite_for,
    offline_app,
)


async def test_a_german_telegram_is_greeted_and_stored_in_the_configured_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RELAIS_DEFAULT_LOCALE", "en")
    monkeypatch.setenv("RELAIS_DATABASE", str(tmp_path / "relais.db"))
    monkeypatch.setenv("RELAIS_CONTENT_DIR", str(CONTENT_DIR))
    settings = load_settings()
    api = OfflineBotAPI()
    clock = FixedClock(START)
    app = offline_app(settings, load_content(CONTENT_DIR), api, clock)
    async with running(app):
        db = runtime_of(app).db
        khadija = await add_participant(db, clock, full_name="Khadija El Idrissi")
        invite = await invite_for(db, clock, khadija)
        user = SimulatedUser(api, direct_delivery(app, api), 700_001, "Khadija", language_code="de")

        turn = await user.send(f"/start {invite.token}")
        assert turn.text.startswith("Welcome, Khadija El Idrissi! Your enrolment in")
        async with db.read() as conn:
            stored = await repo.get_participant(conn, khadija.id)
        assert stored is not None
        assert stored.language == "en"
        # Later replies follow the stored language, not Telegram's German nor French.
        help_text = (await user.send("/help")).text
        assert "/me" in help_text
        assert "Votre" not in help_text
        assert "votre" not in help_text


def test_one_list_of_locales_is_what_settings_accept() -> None:
    assert typing.get_args(LocaleCode) == LOCALES
    assert load_settings(default_locale="ar").default_locale == "ar"
    with pytest.raises(SettingsError, match=r"^RELAIS_DEFAULT_LOCALE: "):
        load_settings(default_locale="de")


def test_the_report_from_the_terminal_speaks_the_default_unless_told(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.cli import EXIT_OK, main

    monkeypatch.setenv("RELAIS_DEFAULT_LOCALE", "en")
    monkeypatch.setenv("RELAIS_DATABASE", str(tmp_path / "relais.db"))
    monkeypatch.setenv("RELAIS_CONTENT_DIR", str(CONTENT_DIR))
    default, arabic = tmp_path / "report.html", tmp_path / "report-ar.html"
    assert main(["report", "--out", str(default)]) == EXIT_OK
    assert main(["report", "--out", str(arabic), "--locale", "ar"]) == EXIT_OK
    assert '<html lang="en"' in default.read_text(encoding="utf-8")
    assert '<html lang="ar"' in arabic.read_text(encoding="utf-8")
