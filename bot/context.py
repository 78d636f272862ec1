"""The typed PTB callback context of handlers and jobs alike.

It lives below both ``bot.handlers`` and ``bot.scheduling`` (the coordination handlers
import the scheduler, so the scheduler cannot import the handlers back).
"""

from __future__ import annotations

from typing import Any, cast

from telegram.ext import CallbackContext, ContextTypes, ExtBot, JobQueue

from bot.runtime import Runtime, runtime_of


class RelaisContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """PTB's callback context, with the runtime (settings, content, clock, database) typed."""

    @property
    def runtime(self) -> Runtime:
        """The runtime the application factory stored."""
        return runtime_of(self.application)

    @property
    def job_queue(self) -> JobQueue[RelaisContext] | None:  # type: ignore[override]
        """The application's job queue: its jobs get this context type too."""
        # PTB types the queue with an unbound context variable; the application is built
        # with CONTEXT_TYPES, so its jobs do receive a RelaisContext.
        return cast("JobQueue[RelaisContext] | None", self.application.job_queue)


# The application is built with these context types: every handler and job gets a
# RelaisContext.
CONTEXT_TYPES = ContextTypes(context=RelaisContext)
