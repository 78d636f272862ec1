"""Callback data: one build/parse pair per prefix, used by the views, the handlers and the tests.

Telegram gives a button at most 64 bytes of data; every parser here accepts only what
its builder can produce, so a forged or truncated callback parses to None.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from bot.i18n import LOCALES

# --- questionnaire ---


class Action(StrEnum):
    """What a questionnaire button does (the letter is what travels in the callback)."""

    ANSWER = "a"  # a quiz, single-choice or scale answer
    PREVIOUS = "p"
    SKIP = "s"  # an optional item left unanswered
    TOGGLE = "t"  # one choice of a multiple-choice item
    CONFIRM = "v"  # the choices of a multiple-choice item
    KEEP = "k"  # the typed answer already given
    SEND = "S"  # submit the attempt from its summary


TAP_PREFIX = "q"
TAP_PATTERN = rf"^{TAP_PREFIX}:"
_TAP_RE = re.compile(
    rf"^{TAP_PREFIX}:(\d{{1,12}}):(\d{{1,9}}):([{''.join(Action)}])(?::([a-z0-9-]{{1,12}}))?$"
)


@dataclass(frozen=True, slots=True)
class Tap:
    """A parsed questionnaire button: which attempt, which screen, what was tapped."""

    attempt_id: int
    revision: int
    action: Action
    arg: str | None = None


def tap_data(attempt_id: int, revision: int, action: Action, arg: str | None = None) -> str:
    """``q:<attempt>:<revision>:<action>[:<arg>]``."""
    return f"{TAP_PREFIX}:{attempt_id}:{revision}:{action}" + (f":{arg}" if arg else "")


def parse_tap(data: str) -> Tap | None:
    """The tap a questionnaire button carries; None if it is not one of ours."""
    match = _TAP_RE.fullmatch(data)
    if match is None:
        return None
    return Tap(int(match.group(1)), int(match.group(2)), Action(match.group(3)), match.group(4))


OPEN_PREFIX = "qo"
OPEN_PATTERN = rf"^{OPEN_PREFIX}:"
_OPEN_RE = re.compile(rf"^{OPEN_PREFIX}:([a-z]{{1,14}}):([a-z0-9-]{{1,12}})$")


def open_data(kind: str, stage: str) -> str:
    """The "start or continue" button of a stage: ``qo:<instrument>:<stage>``."""
    return f"{OPEN_PREFIX}:{kind}:{stage}"


def parse_open(data: str) -> tuple[str, str] | None:
    """The instrument kind and stage of a "start or continue" button."""
    match = _OPEN_RE.fullmatch(data)
    return (match.group(1), match.group(2)) if match else None


# The KAT's right answers, once released: one fixed datum, no argument.
ANSWERS_DATA = "qr:kat"
ANSWERS_PATTERN = f"^{ANSWERS_DATA}$"

# --- language ---

LANGUAGE_PREFIX = "lang"
LANGUAGE_PATTERN = re.compile(rf"^{LANGUAGE_PREFIX}:({'|'.join(LOCALES)})$")


def language_data(locale: str) -> str:
    """The button that chooses ``locale``: ``lang:<locale>``."""
    return f"{LANGUAGE_PREFIX}:{locale}"


def parse_language(data: str) -> str | None:
    """The locale a language button chooses; None for anything else (an unknown locale too)."""
    match = LANGUAGE_PATTERN.fullmatch(data)
    return match.group(1) if match else None


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
