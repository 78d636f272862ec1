"""The bot token never appears in a log line, a traceback included."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from bot.logs import REDACTED, RedactingFormatter, configure_logging

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
    logging.getLogger("httpx").info("HTTP Request: POST https://api.telegram.org/bot%s/getMe", TOKEN)
    logging.getLogger("relais").info("token is %s", TOKEN)
    err = capsys.readouterr().err
    assert TOKEN not in err
    assert "token is " + REDACTED in err
    assert "HTTP Request" not in err
