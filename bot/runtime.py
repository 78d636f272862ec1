"""What every handler needs at run time, built once by the application factory."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.clock import Clock
from bot.content import Content
from bot.settings import Settings
from bot.storage import Database

if TYPE_CHECKING:
    # Only for the annotation: the sender imports telegram, which the runtime need not load.
    from bot.sender import Sender


@dataclass
class Runtime:
    """Settings, content, clock and the database, held in ``application.bot_data``."""

    settings: Settings
    content: Content
    clock: Clock
    _db: Database | None = field(default=None, repr=False)
    # Set when the bot runs for real (polling or webhook): the outbox sender.
    sender: Sender | None = field(default=None, repr=False)

    @property
    def db(self) -> Database:
        """The open database; only after ``post_init`` has run."""
        if self._db is None:
            raise RuntimeError("database not open yet: post_init has not run")
        return self._db

    def attach(self, db: Database) -> None:
        """Hand over the open database connection."""
        self._db = db

    async def close(self) -> None:
        """Close the database if open; safe to call twice."""
        if self._db is not None:
            db, self._db = self._db, None
            await db.close()


RUNTIME_KEY = "runtime"


def runtime_of(app: Any) -> Runtime:
    """The runtime the application factory stored in ``bot_data``: the one lookup, used by
    the handlers' typed context (``context.runtime``) and by code holding the application."""
    rt = app.bot_data.get(RUNTIME_KEY)
    if not isinstance(rt, Runtime):
        raise RuntimeError(
            "no runtime in bot_data: the application was not built by build_application"
        )
    return rt
