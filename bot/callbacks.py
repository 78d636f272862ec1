"""Callback data: one build/parse pair per prefix, used by the views, the handlers and the tests.

Telegram allows 1-64 bytes and clients can send anything: every parser returns None for data
it does not recognise, and what it returns is still checked against the database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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
