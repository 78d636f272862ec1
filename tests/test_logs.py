"""The bot token never appears in a log line, a traceback included."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.app import build_application, running
from bot.cli import EXIT_CONFIG
from bot.cli.running import run_bot
from bot.content import load_content
from bot.logs import REDACTED, RedactingFormatter, configure_logging
from bot.sandbox.chat import SimulatedUser, direct_delivery
from bot.sandbox.offline import OfflineBotAPI
from bot.settings import Settings
from tests.conftest import simulated_limiter

CONTENT_DIR = Path(__file__).resolve().parent.parent / "conversations"
TOKEN = "123456789:AAH-secret_secret_secret_secret_42"


def test_formatter_redacts_message_args_and_traceback() -> None:
    formatter = RedactingFormatter("%(message)s", [TOKEN])
    try:
        raise ValueError(f"https://api.telegram.org/bot{TOKEN}/getMe failed")
    except ValueError:
        import sys

        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "calling %s", (TOKEN,), sys.exc_info()
        )
    text = formatter.format(record)
    assert TOKEN not in text
    assert text.count(REDACTED) >= 2


@pytest.fixture
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("_restore_logging")
def test_configure_logging_silences_httpx_urls(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", secrets=[TOKEN])
    logging.getLogger("httpx").info(
        "HTTP Request: POST https://api.telegram.org/bot%s/getMe", TOKEN
    )
    logging.getLogger("relais").info("token is %s", TOKEN)
    err = capsys.readouterr().err
    assert TOKEN not in err
    assert "token is " + REDACTED in err
    assert "HTTP Request" not in err


@pytest.mark.usefixtures("_restore_logging")
def test_rejected_token_is_reported_without_the_token(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    api = OfflineBotAPI(reject_token=True)
    settings = Settings(
        bot_token=SecretStr(TOKEN),
        database=tmp_path / "r.db",
        content_dir=CONTENT_DIR,
    )
    code = run_bot(settings, request=api.request(), get_updates_request=api.request())
    err = capsys.readouterr().err
    assert code == EXIT_CONFIG
    assert "RELAIS_BOT_TOKEN: rejected by Telegram" in err
    assert TOKEN not in err
    assert TOKEN.split(":")[1] not in err


@pytest.mark.usefixtures("_restore_logging")
async def test_handler_failure_logs_no_token(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = OfflineBotAPI()
    settings = Settings(
        bot_token=SecretStr(TOKEN),
        database=tmp_path / "r.db",
        content_dir=CONTENT_DIR,
        log_level="DEBUG",
    )
    configure_logging("DEBUG", secrets=[TOKEN])
    app = build_application(
        settings,
        load_content(settings.content_dir),
        request=api.request(),
        rate_limiter=simulated_limiter(settings),
    )

    def broken(*args: object) -> str:
        raise RuntimeError(f"failure while holding {TOKEN}")

    monkeypatch.setattr("bot.handlers.help.help_text", broken)
    async with running(app):
        user = SimulatedUser(api, direct_delivery(app, api), 4242)
        turn = await user.send("/help")
    err = capsys.readouterr().err
    assert "update" in err
    assert "RuntimeError" in err
    assert TOKEN not in err
    assert TOKEN not in turn.text
