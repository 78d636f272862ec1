"""Settings read from the environment (prefix ``RELAIS_``) or a ``.env`` file."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.i18n import FALLBACK_LOCALE, LocaleCode

TELEGRAM_API_BASE_URL = "https://api.telegram.org/bot"
TELEGRAM_API_FILE_URL = "https://api.telegram.org/file/bot"
_TOKEN_RE = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{20,}$")

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line naming it."""


class Settings(BaseSettings):
    """Everything an operator can configure, validated once at start-up."""

    model_config = SettingsConfigDict(
        env_prefix="RELAIS_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
    )

    bot_token: SecretStr | None = None
    bot_username: str | None = None
    api_base_url: str = TELEGRAM_API_BASE_URL
    api_file_url: str = TELEGRAM_API_FILE_URL
    database: Path = Path("relais.db")
    content_dir: Path = Path("conversations")
    admin_ids: Annotated[tuple[int, ...], NoDecode] = ()
    default_locale: LocaleCode = FALLBACK_LOCALE
    log_level: LogLevel = "INFO"
    invite_ttl_days: int = Field(default=30, ge=1, le=365)
    # Telegram allows about 30 messages a second overall; stay under it.
    outbox_rate: float = Field(default=25.0, gt=0, le=30)
    # The report suppresses any figure based on fewer respondents than this.
    report_min_cell: int = Field(default=5, ge=1, le=100)
    log_format: Literal["text", "json"] = "text"
    # Identities are erased this many days after the last follow-up closes (0: never).
    retention_days: int = Field(default=365, ge=0, le=3650)
    webhook_url: str | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    webhook_secret: SecretStr | None = None
    # Webhook mode only: the public certificate verification page (/verify/<code>).
    verify_port: int = Field(default=8444, ge=1, le=65535)
    # Rehearsals and tests only: the running bot's clock is the real one plus this offset
    # (seconds, or an ISO 8601 duration), so a process can live on a chosen date.
    clock_offset: timedelta = timedelta(0)

    @field_validator("webhook_url", mode="after")
    @classmethod
    def _check_webhook_url(cls, value: str | None) -> str | None:
        # Telegram only posts to HTTPS; plain HTTP is allowed on loopback for the sandbox.
        if value and not value.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise ValueError("must be an https:// URL that Telegram can reach")
        return value or None

    @field_validator("webhook_secret", mode="after")
    @classmethod
    def _check_secret(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram's own limits for secret_token; the message never echoes it.
        if value is not None and not re.fullmatch(
            r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()
        ):
            raise ValueError("1-256 characters among A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        # Operators write "123, 456" in .env files; JSON lists are accepted too.
        if isinstance(value, str):
            text = value.strip().strip("[]")
            return tuple(part.strip() for part in text.split(",") if part.strip())
        if isinstance(value, int):
            return (value,)
        return value

    @field_validator("bot_token", mode="after")
    @classmethod
    def _check_token(cls, value: SecretStr | None) -> SecretStr | None:
        # The message must never echo the value: it is the bot's password.
        if value is not None and not _TOKEN_RE.fullmatch(value.get_secret_value()):
            raise ValueError("does not look like a bot token from BotFather (digits:secret)")
        return value

    @field_validator("bot_username", mode="before")
    @classmethod
    def _strip_at(cls, value: object) -> object:
        return value.lstrip("@") if isinstance(value, str) else value

    @field_validator("clock_offset", mode="before")
    @classmethod
    def _seconds(cls, value: object) -> object:
        # From the environment a number of seconds is a string; pydantic reads ISO 8601 ones.
        if isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?", value.strip()):
            return float(value)
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    def require_token(self) -> str:
        """Return the bot token or raise a one-line error naming the setting."""
        if self.bot_token is None:
            raise SettingsError("RELAIS_BOT_TOKEN: required to talk to Telegram (see README)")
        return self.bot_token.get_secret_value()


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning validation errors into one line per bad setting."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for error in exc.errors(include_input=False, include_url=False):
            name = "RELAIS_" + str(error["loc"][0]).upper() if error["loc"] else "RELAIS_*"
            lines.append(f"{name}: {error['msg']}")
        raise SettingsError("; ".join(lines)) from None
