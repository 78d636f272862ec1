"""Relais: a Telegram bot that keeps training participants engaged between and after sessions."""

__version__ = "0.1.0"

import os as _os

# Opt in to PTB's coming timedelta durations (RetryAfter.retry_after...): Relais reads
# both forms, and the opt-in silences a deprecation warning on every rate limit.
_os.environ.setdefault("PTB_TIMEDELTA", "1")
