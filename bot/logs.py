"""Logging set-up that keeps secrets out of every line, tracebacks included."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from pathlib import Path

REDACTED = "[REDACTED]"


class RedactingFormatter(logging.Formatter):
    """Formats a record, then removes every secret from the whole text."""

    def __init__(self, fmt: str, secrets: Iterable[str]) -> None:
        super().__init__(fmt)
        # Longest first, so a secret containing another is removed whole.
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self._secrets)


class JsonFormatter(RedactingFormatter):
    """One JSON object per line, for log collectors; secrets removed like in text logs."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return redact(json.dumps(entry, ensure_ascii=False), self._secrets)


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace each secret in ``text``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


LIBRARIES = ("telegram", "httpcore", "aiosqlite", "tornado", "asyncio", "aiohttp", "hpack")


def configure_logging(
    level: str, secrets: Iterable[str] = (), fmt: str = "text", path: Path | None = None
) -> None:
    """Log to stderr, or to the file ``path``, at ``level`` (text, or JSON lines) with secrets
    redacted."""
    handler: logging.Handler = (
        logging.StreamHandler(sys.stderr)
        if path is None
        else logging.FileHandler(path, encoding="utf-8")
    )
    formatter_class = JsonFormatter if fmt == "json" else RedactingFormatter
    handler.setFormatter(
        formatter_class("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets)
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # DEBUG is for Relais' own lines, which carry ids and codes only. The libraries' debug
    # lines quote whole updates and requests: names, phone numbers, what people typed.
    for name in LIBRARIES:
        logging.getLogger(name).setLevel(max(logging.INFO, logging.getLevelName(level)))
    # httpx logs every request URL at INFO, and Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
