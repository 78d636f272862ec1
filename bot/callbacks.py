"""Callback data: one build/parse pair per prefix, used by the screens, handlers and tests.

Telegram gives callback data back as the client sends it, so every parser refuses what
its builder would not have made (clients can forge data; see DESIGN.md).
"""

from __future__ import annotations

import re

# --- broadcast ---
# bc:a:<audience key> (choose), bc:ok / bc:no (confirm, cancel), bc:stop:<broadcast id>.

BROADCAST_OK = "bc:ok"
BROADCAST_NO = "bc:no"
# For PTB's CallbackQueryHandler: the audience step, the confirmation step, Stop.
BROADCAST_AUDIENCE_PATTERN = r"^bc:(a:|no$)"
BROADCAST_CONFIRM_PATTERN = r"^bc:(ok|no)$"
BROADCAST_STOP_PATTERN = r"^bc:stop:\d+$"
_AUDIENCE = "bc:a:"
_STOP = "bc:stop:"
# Forged digits past SQLite's 64-bit integers would raise OverflowError in a query.
_STOP_RE = re.compile(r"bc:stop:(\d{1,18})")


def broadcast_audience(key: str) -> str:
    """The button choosing an audience (``all``, ``cohort:<id>``, ``pending:<kind>:<stage>``)."""
    return _AUDIENCE + key


def parse_broadcast_audience(data: str) -> str | None:
    """The audience key of a choice, or None."""
    return data.removeprefix(_AUDIENCE) if data.startswith(_AUDIENCE) else None


def broadcast_stop(broadcast_id: int) -> str:
    """The Stop button of a running broadcast."""
    return f"{_STOP}{broadcast_id}"


def parse_broadcast_stop(data: str) -> int | None:
    """The broadcast a Stop button names, or None."""
    match = _STOP_RE.fullmatch(data)
    return int(match.group(1)) if match else None


# --- nudge ---
# nudge:<instrument kind>:<stage id>, the /pending button that nudges non-respondents now.

NUDGE_PATTERN = re.compile(r"^nudge:([a-z]{1,14}):([a-z0-9-]{1,12})$")


def nudge(instrument: str, stage: str) -> str:
    """The button that nudges those who have not answered a stage."""
    return f"nudge:{instrument}:{stage}"


def parse_nudge(data: str) -> tuple[str, str] | None:
    """The (instrument kind, stage id) of a nudge button, or None."""
    match = NUDGE_PATTERN.fullmatch(data)
    return (match.group(1), match.group(2)) if match else None
