"""When to tell the admins about an unexpected error: at once, then at most once per interval.

A fault that fails every update (a full disk, a broken release) must not become
hundreds of messages: the first error is reported, the next ones are counted, and
the following report says how many there were in between.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

ALERT_INTERVAL = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class Alert:
    """An error to report, and how many were left unreported since the previous report."""

    update_id: int | None
    error: str
    unreported: int


@dataclass(slots=True)
class ErrorAlerts:
    """The rate limit on error reports; one per application, in memory (a restart resets it)."""

    interval: timedelta = ALERT_INTERVAL
    last: datetime | None = None
    unreported: int = 0

    def record(self, update_id: int | None, error: str, now: datetime) -> Alert | None:
        """Count one error; the alert to send now, or None while the last one is recent."""
        if self.last is not None and now - self.last < self.interval:
            self.unreported += 1
            return None
        alert = Alert(update_id, error, self.unreported)
        self.last, self.unreported = now, 0
        return alert
