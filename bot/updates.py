"""Updates of different people run concurrently; the updates of one person, strictly in order.

Against Telegram every API call is a network round trip, so a bot that handles one
update at a time makes each participant wait for everyone else's round trips. PTB can
run updates concurrently, but its ``SimpleUpdateProcessor`` gives no order at all: a
double tap or a quick Back then answer could be applied, or shown, the wrong way round.

``PerUserProcessor`` keys every update by its user (or, without one, its chat). An update
whose key already has an update in progress waits for it to finish, handler, replies and
all; updates with different keys do not wait for each other. PTB hands updates to the
processor in the order it received them (one task per update, created in that order, and
its semaphore wakes waiters first come, first served), and the chain of each key is built
at that moment, before anything is awaited, so the order within a key is arrival order.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Hashable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

# How many updates may be held at once, running or waiting for their user's previous
# one; PTB queues the rest. Handlers spend most of their time waiting on Telegram, so
# this is far above the number of cores.
MAX_CONCURRENT_UPDATES = 256


def ordering_key(update: object) -> Hashable | None:
    """Whose updates must not overtake each other: the user's, else the chat's; None for
    anything else (it then runs at once)."""
    if not isinstance(update, Update):
        return None
    if update.effective_user is not None:
        return ("user", update.effective_user.id)
    if update.effective_chat is not None:
        return ("chat", update.effective_chat.id)
    return None


class PerUserProcessor(BaseUpdateProcessor):
    """At most ``max_concurrent_updates`` updates at once; one user's strictly in order."""

    __slots__ = ("_tails",)

    def __init__(self, max_concurrent_updates: int = MAX_CONCURRENT_UPDATES) -> None:
        super().__init__(max_concurrent_updates)
        # Per key, a future resolved when the key's latest update so far is done.
        self._tails: dict[Hashable, asyncio.Future[None]] = {}

    @property
    def keys_in_progress(self) -> int:
        """How many users (or chats) have an update running or waiting."""
        return len(self._tails)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Wait for the previous update of the same user, then run this one."""
        key = ordering_key(update)
        if key is None:
            await coroutine
            return
        # No await before this point: the chain is extended in the order updates arrive.
        previous = self._tails.get(key)
        mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._tails[key] = mine
        try:
            if previous is not None:
                try:
                    # shield: cancelling this update must not mark the previous one done.
                    await asyncio.shield(previous)
                except BaseException:
                    if inspect.iscoroutine(coroutine):
                        coroutine.close()  # never started: no "never awaited" warning
                    raise
            await coroutine
        finally:
            mine.set_result(None)
            if self._tails.get(key) is mine:
                del self._tails[key]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release: PTB waits for the running updates itself."""
