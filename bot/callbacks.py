"""Callback data: one build/parse pair per prefix, used by the views, the handlers and the tests.

Telegram gives a button at most 64 bytes of data; every parser here accepts only what
its builder can produce, so a forged or truncated callback parses to None.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Literal

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


def _tap_re(prefix: str) -> re.Pattern[str]:
    return re.compile(
        rf"^{prefix}:(\d{{1,12}}):(\d{{1,9}}):([{''.join(Action)}])(?::([a-z0-9-]{{1,12}}))?$"
    )


_TAP_RE = _tap_re(TAP_PREFIX)


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
    return _parsed_tap(_TAP_RE.fullmatch(data))


def _parsed_tap(match: re.Match[str] | None) -> Tap | None:
    if match is None:
        return None
    return Tap(int(match.group(1)), int(match.group(2)), Action(match.group(3)), match.group(4))


# What builds a questionnaire button's data: the views are given the one of the attempt's family.
TapData = Callable[[int, int, Action, str | None], str]


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

# --- supervisors ---

# A supervisor's list of the people they are asked about (their invitations and nudges
# carry it): one fixed datum, no argument, so that no queued message names anyone.
SUPERVISOR_MENU_DATA = "sm"
SUPERVISOR_MENU_PATTERN = f"^{SUPERVISOR_MENU_DATA}$"

# A supervisor's questionnaire buttons: the participants' taps (``q:``) with their own
# prefix, resolved against the supervisor's attempts only, so that neither kind of button
# can touch the other's attempts.
SUPERVISOR_TAP_PREFIX = "s"
SUPERVISOR_TAP_PATTERN = rf"^{SUPERVISOR_TAP_PREFIX}:"
_SUPERVISOR_TAP_RE = _tap_re(SUPERVISOR_TAP_PREFIX)


def supervisor_tap_data(
    attempt_id: int, revision: int, action: Action, arg: str | None = None
) -> str:
    """``s:<attempt>:<revision>:<action>[:<arg>]``."""
    return f"{SUPERVISOR_TAP_PREFIX}:{attempt_id}:{revision}:{action}" + (f":{arg}" if arg else "")


def parse_supervisor_tap(data: str) -> Tap | None:
    """The tap a supervisor's questionnaire button carries; None if it is not one."""
    return _parsed_tap(_SUPERVISOR_TAP_RE.fullmatch(data))


@dataclass(frozen=True, slots=True)
class SupervisorOpen:
    """A supervisor's "start or continue" button: about whom, which instrument and stage."""

    participant_id: int
    instrument: str
    stage: str


SUPERVISOR_OPEN_PREFIX = "so"
SUPERVISOR_OPEN_PATTERN = rf"^{SUPERVISOR_OPEN_PREFIX}:"
_SUPERVISOR_OPEN_RE = re.compile(
    rf"^{SUPERVISOR_OPEN_PREFIX}:(\d{{1,12}}):([a-z0-9-]{{1,12}}):([a-z0-9-]{{1,12}})$"
)


def supervisor_open_data(participant_id: int, instrument: str, stage: str) -> str:
    """``so:<participant id>:<instrument>:<stage>`` (41 bytes at most)."""
    return f"{SUPERVISOR_OPEN_PREFIX}:{participant_id}:{instrument}:{stage}"


def parse_supervisor_open(data: str) -> SupervisorOpen | None:
    """The supervisee, instrument and stage of a supervisor's open button, or None."""
    match = _SUPERVISOR_OPEN_RE.fullmatch(data)
    if match is None:
        return None
    return SupervisorOpen(int(match.group(1)), match.group(2), match.group(3))


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


# --- staff ---

_ROSTER = re.compile(r"^ro:(ok|no):([A-Za-z0-9_-]{16})$")
_INVITES = re.compile(r"^iv:(pending|cohort):([a-z0-9-]{0,40})$")
# 3 + 16 + 1 + 44 = 64 bytes: a longer session id is given in the document's caption.
SESSION_ID_MAX = 44
_ZOOM = re.compile(r"^zs:([A-Za-z0-9_-]{16}):([a-z0-9-]{1,44})$")
_REVIEW = re.compile(r"^rv:([0-9a-f]{12}):(\d{1,12}|-|skip)$")
_STAFF_INVITE = re.compile(r"^si:(coordinator|evaluator)$")
_STAFF_REVOKE = re.compile(r"^sr:(\d{1,16}):(coordinator|evaluator|admin)$")

ROSTER_PATTERN = _ROSTER.pattern
INVITES_PATTERN = _INVITES.pattern
ZOOM_PATTERN = _ZOOM.pattern
REVIEW_PATTERN = _REVIEW.pattern
STAFF_INVITE_PATTERN = _STAFF_INVITE.pattern
STAFF_REVOKE_PATTERN = _STAFF_REVOKE.pattern


@dataclass(frozen=True, slots=True)
class RosterChoice:
    """Confirm (True) or cancel (False) the upload ``nonce``."""

    confirm: bool
    nonce: str


def roster_choice(confirm: bool, nonce: str) -> str:
    """The roster summary's Import / Cancel buttons."""
    return f"ro:{'ok' if confirm else 'no'}:{nonce}"


def parse_roster_choice(data: str) -> RosterChoice | None:
    """The roster button pressed, or None."""
    match = _ROSTER.fullmatch(data)
    return RosterChoice(match.group(1) == "ok", match.group(2)) if match else None


def invites_choice(cohort: str | None) -> str:
    """The /invites buttons: everyone not yet enrolled (None) or one cohort."""
    return "iv:pending:" if cohort is None else f"iv:cohort:{cohort}"


# The /invites button for the line managers not yet enrolled: one fixed datum.
SUPERVISOR_INVITES_DATA = "iv:supervisors"
SUPERVISOR_INVITES_PATTERN = f"^{SUPERVISOR_INVITES_DATA}$"


def parse_invites_choice(data: str) -> tuple[str | None] | None:
    """``(cohort,)`` (None for everyone not enrolled), or None for unknown data."""
    match = _INVITES.fullmatch(data)
    if match is None or (match.group(1) == "cohort") != bool(match.group(2)):
        return None
    return (match.group(2) or None,)


def zoom_session(nonce: str, session_id: str) -> str:
    """Which session a Zoom report uploaded as ``nonce`` is for."""
    return f"zs:{nonce}:{session_id}"


def parse_zoom_session(data: str) -> tuple[str, str] | None:
    """``(nonce, session id)``, or None."""
    match = _ZOOM.fullmatch(data)
    return (match.group(1), match.group(2)) if match else None


@dataclass(frozen=True, slots=True)
class ReviewChoice:
    """A decision on an unmatched row: a participant id, ignore (None), or skip."""

    person_hash: str
    participant_id: int | None
    skip: bool


def review_choice(person_hash: str, participant_id: int | None, *, skip: bool = False) -> str:
    """A review button: this participant, a guest to ignore, or decide later."""
    if skip:
        return f"rv:{person_hash}:skip"
    return f"rv:{person_hash}:{'-' if participant_id is None else participant_id}"


def parse_review_choice(data: str) -> ReviewChoice | None:
    """The review button pressed, or None."""
    match = _REVIEW.fullmatch(data)
    if match is None:
        return None
    value = match.group(2)
    if value == "skip":
        return ReviewChoice(match.group(1), None, True)
    return ReviewChoice(match.group(1), None if value == "-" else int(value), False)


def staff_invite(role: str) -> str:
    """The /staff buttons that create a single-use staff link."""
    return f"si:{role}"


def parse_staff_invite(data: str) -> str | None:
    """The role to invite, or None."""
    match = _STAFF_INVITE.fullmatch(data)
    return match.group(1) if match else None


def staff_revoke(user_id: int, role: str) -> str:
    """The /staff button that takes ``role`` away from ``user_id``."""
    return f"sr:{user_id}:{role}"


def parse_staff_revoke(data: str) -> tuple[int, str] | None:
    """``(user id, role)``, or None."""
    match = _STAFF_REVOKE.fullmatch(data)
    return (int(match.group(1)), match.group(2)) if match else None
