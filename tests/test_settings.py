"""Settings: defaults, parsing, and one clear line per bad setting, never the token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import runtime_of
from bot.content import Content
from bot.sandbox.offline import OfflineBotAPI
from bot.settings import TELEGRAM_API_BASE_URL, Settings, SettingsError, load_settings
from tests.conftest import START, offline_app

TOKEN = "123456789:AAH-secret_secret_secret_secret_42"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(__import__("os").environ):
        if name.startswith("RELAIS_"):
            monkeypatch.delenv(name)
    # No stray .env from the developer's checkout.
    monkeypatch.chdir(tmp_path)


def test_defaults_need_no_token() -> None:
    settings = load_settings()
    assert settings.bot_token is None
    assert settings.database == Path("relais.db")
    assert settings.content_dir == Path("conversations")
    assert settings.api_base_url == TELEGRAM_API_BASE_URL
    assert settings.default_locale == "fr"
    assert settings.admin_ids == ()


def test_reads_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELAIS_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("RELAIS_ADMIN_IDS", "111, 222")
    monkeypatch.setenv("RELAIS_DEFAULT_LOCALE", "ar")
    monkeypatch.setenv("RELAIS_LOG_LEVEL", "debug")
    monkeypatch.setenv("RELAIS_API_BASE_URL", "http://127.0.0.1:8081/bot")
    settings = load_settings()
    assert settings.require_token() == TOKEN
    assert settings.admin_ids == (111, 222)
    assert settings.default_locale == "ar"
    assert settings.log_level == "DEBUG"
    assert settings.api_base_url == "http://127.0.0.1:8081/bot"


def test_reads_dotenv_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"RELAIS_BOT_TOKEN={TOKEN}\nRELAIS_DATABASE=data/x.db\n")
    settings = load_settings()
    assert settings.require_token() == TOKEN
    assert settings.database == Path("data/x.db")


def test_missing_token_names_the_setting() -> None:
    with pytest.raises(SettingsError, match=r"^RELAIS_BOT_TOKEN: required"):
        load_settings().require_token()


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("RELAIS_ADMIN_IDS", "12,abc", "RELAIS_ADMIN_IDS"),
        ("RELAIS_DEFAULT_LOCALE", "de", "RELAIS_DEFAULT_LOCALE"),
        ("RELAIS_LOG_LEVEL", "chatty", "RELAIS_LOG_LEVEL"),
        ("RELAIS_INVITE_TTL_DAYS", "0", "RELAIS_INVITE_TTL_DAYS"),
    ],
)
def test_malformed_setting_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert message.startswith(expected + ":")
    assert "\n" not in message


def test_malformed_token_is_refused_without_echoing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    bad = "not-a-token-but-a-secret-anyway"
    monkeypatch.setenv("RELAIS_BOT_TOKEN", bad)
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert str(info.value).startswith("RELAIS_BOT_TOKEN:")
    assert bad not in str(info.value)


def test_token_is_hidden_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELAIS_BOT_TOKEN", TOKEN)
    settings = load_settings()
    assert TOKEN not in repr(settings)
    assert TOKEN not in str(settings.model_dump())


def test_webhook_needs_https_and_a_well_formed_secret_not_echoed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RELAIS_WEBHOOK_URL", "http://bot.example.org/hook")
    with pytest.raises(SettingsError, match=r"^RELAIS_WEBHOOK_URL: .*https://"):
        load_settings()
    monkeypatch.setenv("RELAIS_WEBHOOK_URL", "https://bot.example.org/hook")
    monkeypatch.setenv("RELAIS_WEBHOOK_SECRET", "has spaces!")
    with pytest.raises(SettingsError, match=r"^RELAIS_WEBHOOK_SECRET") as caught:
        load_settings()
    assert "has spaces" not in str(caught.value)
    monkeypatch.setenv("RELAIS_WEBHOOK_SECRET", "s3cret_token-1")
    settings = load_settings()
    assert settings.webhook_url == "https://bot.example.org/hook"
    assert "s3cret" not in repr(settings)


def test_webhook_without_secret_gets_a_random_one() -> None:
    from bot.app import webhook_of

    settings = Settings(webhook_url="https://bot.example.org/relais/hook")
    first, second = webhook_of(settings), webhook_of(settings)
    assert first.path == "relais/hook"
    assert first.secret_token
    assert first.secret_token != second.secret_token


def test_clock_offset_moves_the_running_bots_clock(
    monkeypatch: pytest.MonkeyPatch, content: Content, api: OfflineBotAPI
) -> None:
    # How the tests that run the bot as a process of its own put it on a date of their
    # choosing (a week before the first session) whatever today's date.
    real = datetime.now(UTC)
    monkeypatch.setenv("RELAIS_CLOCK_OFFSET", str((START - real).total_seconds()))
    monkeypatch.setenv("RELAIS_DATABASE", "relais.db")
    settings = load_settings()
    app = offline_app(settings, content, api)
    shifted = runtime_of(app).clock.now() - START
    assert timedelta(0) <= shifted < timedelta(minutes=5)
    assert load_settings(clock_offset="-P1D").clock_offset == timedelta(days=-1)
    with pytest.raises(SettingsError, match=r"^RELAIS_CLOCK_OFFSET: "):
        load_settings(clock_offset="tomorrow")
