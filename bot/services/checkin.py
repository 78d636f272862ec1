"""Check-in at the venue: a QR code of a short-lived deep link, scanned during the session.

The coordinator's screen shows a new code every ``ROTATE``; each code works for
``VALID`` (the one on screen and the one just before, for a scan made as it changed),
so a photo sent to someone at home stops working within minutes. A scan records the
participant present in the check-in window it falls in; a session counts once every
window has a check-in.
"""

from __future__ import annotations

import hashlib
import io
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import segno

from bot.clock import Clock
from bot.content import Programme, Session
from bot.services.invites import TOKEN_LENGTH
from bot.storage import Database, checkins
from bot.storage.repo import Participant

PREFIX = "c_"


def is_checkin(payload: str) -> bool:
    """Whether a ``/start`` payload is a check-in code rather than an invitation that
    happens to begin with ``c_`` (one in 4,096 does): a code is shorter than a token."""
    return payload.startswith(PREFIX) and len(payload) < TOKEN_LENGTH


ROTATE = timedelta(minutes=2)
VALID = timedelta(minutes=4)
# Without windows in the calendar, people arriving early can check in this long before.
EARLY = timedelta(minutes=30)


class Scan(StrEnum):
    """What scanning a check-in code did."""

    RECORDED = "recorded"
    ALREADY = "already"
    STALE = "stale"
    UNKNOWN = "unknown"
    NOT_OPEN = "not_open"
    WRONG_COHORT = "wrong_cohort"


@dataclass(frozen=True, slots=True)
class Code:
    """A freshly issued code; the plain token exists only here and in the QR code."""

    token: str
    session: Session
    expires_at: datetime

    @property
    def payload(self) -> str:
        """The ``/start`` payload: at most 64 characters of ``A-Za-z0-9_-``."""
        return PREFIX + self.token

    def link(self, bot_username: str) -> str:
        """The t.me link the QR code holds."""
        return f"https://t.me/{bot_username}?start={self.payload}"

    def qr_png(self, bot_username: str) -> bytes:
        """The QR code as a PNG, large enough to scan from the back of a room."""
        out = io.BytesIO()
        segno.make(self.link(bot_username), error="m").save(out, kind="png", scale=12, border=3)
        return out.getvalue()


@dataclass(frozen=True, slots=True)
class ScanResult:
    """The outcome, with what the participant is told."""

    status: Scan
    session: Session | None = None
    window: str | None = None
    at: datetime | None = None
    done: int = 0
    required: int = 0
    next_window: datetime | None = None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def windows(session: Session) -> list[tuple[str, datetime, datetime]]:
    """The check-in windows; the implicit whole-session one opens ``EARLY``."""
    found = session.checkin_windows()
    if not session.attendance.checkins:
        return [(found[0][0], found[0][1] - EARLY, found[0][2])]
    return found


def window_at(session: Session, now: datetime) -> tuple[str, datetime, datetime] | None:
    """The check-in window open at ``now``."""
    return next((w for w in windows(session) if w[1] <= now <= w[2]), None)


def is_open(session: Session, now: datetime) -> bool:
    """Whether codes can be shown now: from the first window's opening to the last's end."""
    found = windows(session)
    return found[0][1] <= now <= found[-1][2]


def window_label(session: Session, window_id: str, locale: str) -> str | None:
    """The calendar's label of a window, in ``locale``."""
    for window in session.attendance.checkins:
        if window.id == window_id:
            return window.label.get(locale) if window.label else window.id
    return None


async def issue_code(db: Database, session: Session, *, staff_user_id: int, clock: Clock) -> Code:
    """A new code for the session's QR; earlier codes keep working until they expire."""
    now = clock.now()
    token = secrets.token_urlsafe(12)
    code = Code(token, session, now + VALID)
    async with db.transaction() as conn:
        await checkins.add_code(
            conn,
            _hash(token),
            session.id,
            staff_user_id=staff_user_id,
            now=now,
            expires_at=code.expires_at,
        )
    return code


async def scan(
    db: Database, programme: Programme, payload: str, participant: Participant, *, clock: Clock
) -> ScanResult:
    """Record the participant present if the code is fresh, theirs and the window open."""
    now = clock.now()
    token = payload.removeprefix(PREFIX)
    async with db.transaction() as conn:
        row = await checkins.code_by_hash(conn, _hash(token))
        session = (
            next((s for s in programme.all_sessions() if s.id == row[0]), None) if row else None
        )
        if row is None or session is None:
            return ScanResult(Scan.UNKNOWN)
        if now > row[1]:
            return ScanResult(Scan.STALE, session)
        if not session.is_for(participant.cohort):
            return ScanResult(Scan.WRONG_COHORT, session)
        window = window_at(session, now)
        required = len(windows(session))
        if window is None:
            upcoming = [w[1] for w in windows(session) if w[1] > now]
            return ScanResult(
                Scan.NOT_OPEN, session, required=required, next_window=min(upcoming, default=None)
            )
        added = await checkins.add_checkin(conn, participant.id, session.id, window[0], now)
        slots = await checkins.checkins_of(conn, participant.id, session.id)
    status = Scan.RECORDED if added else Scan.ALREADY
    done = sum(1 for w in windows(session) if w[0] in slots)
    return ScanResult(status, session, window[0], slots[window[0]], done, required)
