"""An injectable clock so that nothing depends on real time passing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Source of the current instant, always timezone-aware UTC."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ShiftedClock:
    """The real clock moved by a constant offset: time passes, on another date.

    For rehearsals and for the tests that run the bot as a process of its own
    (``RELAIS_CLOCK_OFFSET``), so that they do not depend on today's date. Every process
    given the same offset agrees on the time, restarts included.
    """

    def __init__(self, offset: timedelta) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


def system_clock(offset: timedelta = timedelta(0)) -> Clock:
    """The bot's clock: the real one, or the real one shifted when an offset is set."""
    return ShiftedClock(offset) if offset else SystemClock()


class FixedClock:
    """A clock that only moves when told to (tests, demos)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, instant: datetime) -> None:
        self._now = instant.astimezone(UTC)
