"""Callback data: one build/parse pair per prefix, used by the screens, handlers and tests.

Telegram gives callback data back as the client sends it, so every parse accepts anything
and returns None for what the bot never built (whole string: a trailing newline is refused
too). The ``*_PATTERN`` strings are what the handlers are registered on
(``bot/handlers/__init__.py``).
"""

from __future__ import annotations

import re
from typing import Final, Literal

# --- certificates ---
# Approve one person at one level, approve everyone listed, receive one's certificate again.

CertificateLevel = Literal["participation", "success"]
_LEVEL_KEYS: Final[dict[str, CertificateLevel]] = {"p": "participation", "s": "success"}
_CERT_OK = re.compile(r"^cert:ok:(\d{1,12}):([ps])$")
_CERT_ALL = re.compile(r"^cert:all:([0-9a-f]{10})$")
_CERT_GET = re.compile(r"^cert:get:(\d{1,12})$")
CERT_OK_PATTERN: Final = _CERT_OK.pattern
CERT_ALL_PATTERN: Final = _CERT_ALL.pattern
CERT_GET_PATTERN: Final = _CERT_GET.pattern


def cert_approve(participant_id: int, level: str) -> str:
    """The button that approves ``level`` for one participant."""
    return f"cert:ok:{participant_id}:{level[0]}"


def parse_cert_approve(data: str | None) -> tuple[int, CertificateLevel] | None:
    """(participant id, level) of an approval button."""
    match = _CERT_OK.fullmatch(data or "")
    return (int(match.group(1)), _LEVEL_KEYS[match.group(2)]) if match else None


def cert_approve_all(fingerprint: str) -> str:
    """The button that approves everyone a list showed (``fingerprint``: of that list)."""
    return f"cert:all:{fingerprint}"


def parse_cert_approve_all(data: str | None) -> str | None:
    """The list's fingerprint of an approve-all button."""
    match = _CERT_ALL.fullmatch(data or "")
    return match.group(1) if match else None


def cert_get(certificate_id: int) -> str:
    """The button that sends a certificate again to its holder."""
    return f"cert:get:{certificate_id}"


def parse_cert_get(data: str | None) -> int | None:
    """The certificate id of a receive-again button."""
    match = _CERT_GET.fullmatch(data or "")
    return int(match.group(1)) if match else None


# --- check-in ---
# The coordinator's QR screen at the venue: show a new code, or stop the check-in.

CheckinAction = Literal["new", "stop"]
# Every ci: button reaches the handler, which refuses the malformed ones politely.
CHECKIN_PATTERN: Final = r"^ci:"
_CHECKIN = re.compile(r"^ci:(new|stop):([a-z0-9-]{1,40})$")


def checkin(action: CheckinAction, session_id: str) -> str:
    """A button of the check-in screen for one session."""
    return f"ci:{action}:{session_id}"


def parse_checkin(data: str | None) -> tuple[CheckinAction, str] | None:
    """(action, session id) of a check-in button."""
    match = _CHECKIN.fullmatch(data or "")
    if match is None:
        return None
    action: CheckinAction = "new" if match.group(1) == "new" else "stop"
    return action, match.group(2)
