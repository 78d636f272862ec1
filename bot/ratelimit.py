"""Relais's Bot API rate limiter: Telegram's limits as Telegram states them, no coarser.

- **Per chat**, every message sent or edited (``send*``, ``edit*``, copies, forwards)
  is paced: at most ``chat_burst`` in any ``chat_seconds`` (3 in 3 s: about one a
  second, with the short burst Telegram tolerates). Telegram counts sends and edits
  together in a chat.
- **Bulk**, the outbox's sends (marked ``rate_limit_args=Lane.BULK``) share one ceiling,
  ``bulk_rate`` per rolling second (``RELAIS_OUTBOX_RATE``). Replies to people are not
  under it: Telegram has no global limit on them, and ``answerCallbackQuery`` is not
  limited at all, so it (and anything without a chat) goes straight through.
- **Interactive first**: when a reply and a bulk message wait for the same chat, the
  reply goes first.
- **A 429** pauses only what it concerns, for the ``retry_after`` Telegram gives: that
  chat, and for a bulk send also the bulk lane. A reply is retried once (when the wait
  is short); a bulk send is not, the outbox puts the row back itself.

Windows count from when earlier calls came back, not when they left: a call has reached
Telegram by the time its answer is back, so uneven network delays cannot put more calls
in one of Telegram's windows than the limit.
"""

from __future__ import annotations

import asyncio
import logging
import time
import warnings
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any

from telegram._utils.types import JSONDict
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

log = logging.getLogger(__name__)

CHAT_BURST = 3
CHAT_SECONDS = 3.0
# A reply waiting longer than this for a 429 is given up: the person would have left.
MAX_RETRY_SECONDS = 10.0
# How often a waiter looks again when what it waits for is a call still in flight.
POLL_SECONDS = 0.02
# Forget idle chats now and then, so the table does not grow with every chat ever seen.
SWEEP_EVERY = 2000


class Lane(StrEnum):
    """Which lane a call travels in; interactive unless marked (``rate_limit_args``)."""

    BULK = "bulk"


@dataclass
class Window:
    """At most ``count`` calls in any ``seconds``, and a pause after a 429."""

    count: int
    seconds: float
    done: deque[float] = field(default_factory=deque)
    in_flight: int = 0
    paused_until: float = 0.0
    # Replies queue here (first come, first served); a bulk call yields while one waits.
    turn: asyncio.Lock = field(default_factory=asyncio.Lock)

    def delay(self, now: float) -> float:
        """Seconds before one more call may leave (0 or less: now)."""
        while self.done and self.done[0] <= now - self.seconds:
            self.done.popleft()
        wait = self.paused_until - now
        if len(self.done) + self.in_flight >= self.count:
            # Full: wait for the oldest to leave the window, or for one in flight to return.
            wait = max(wait, self.done[0] + self.seconds - now if self.done else POLL_SECONDS)
        return wait

    def idle(self, now: float) -> bool:
        return not self.in_flight and not self.turn.locked() and self.delay(now) <= 0


def paced_chat(endpoint: str, data: JSONDict) -> int | str | None:
    """The chat a call writes to, if Telegram counts it against that chat's limit."""
    name = endpoint.lower()
    if name == "sendchataction" or not name.startswith(("send", "edit", "copy", "forward")):
        return None
    chat = data.get("chat_id")
    return chat if isinstance(chat, int | str) else None


def retry_seconds(exc: RetryAfter) -> float:
    """The wait a 429 asks for, in seconds."""
    # PTB 22 warns that retry_after becomes a timedelta; accept both without the noise.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class VirtualTime:
    """A clock that waiting moves on at once: the limiter decides as always but nobody waits.

    For scripted sandbox runs (the demo, ``relais sandbox --script``) against the local
    emulator, which enforces no limit and where a script presses far faster than a person.
    """

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


class RelaisRateLimiter(BaseRateLimiter[Lane]):
    """Per-chat pacing for everything, a ceiling for bulk sends, 429s kept to their lane."""

    def __init__(
        self,
        *,
        bulk_rate: float,
        chat_burst: int = CHAT_BURST,
        chat_seconds: float = CHAT_SECONDS,
        max_retries: int = 1,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.chat_burst, self.chat_seconds = chat_burst, chat_seconds
        self.max_retries = max_retries
        self.monotonic, self.sleep = monotonic, sleep
        # rate >= 1: floor(rate) calls per floor(rate)/rate s; below 1: one per 1/rate s.
        count = max(1, int(bulk_rate))
        self.bulk = Window(count, count / bulk_rate)
        self.chats: dict[int | str, Window] = {}
        self.rate_limited = 0  # 429s met (for logs, tests and benchmarks)
        self._calls = 0

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    def _window(self, chat: int | str) -> Window:
        self._calls += 1
        if self._calls % SWEEP_EVERY == 0:
            now = self.monotonic()
            for key in [k for k, w in self.chats.items() if w.idle(now)]:
                del self.chats[key]
        window = self.chats.get(chat)
        if window is None:
            window = self.chats[chat] = Window(self.chat_burst, self.chat_seconds)
        return window

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Lane | None,
    ) -> bool | JSONDict | list[JSONDict]:
        """Wait for the call's lanes, make it, and keep a 429 to the lanes it concerns."""
        chat_id = paced_chat(endpoint, data)
        bulk = rate_limit_args is Lane.BULK
        if chat_id is None and not bulk:
            return await callback(*args, **kwargs)
        chat = self._window(chat_id) if chat_id is not None else None
        lanes = [w for w in (chat, self.bulk if bulk else None) if w is not None]
        for attempt in range(self.max_retries + 1):
            await self._acquire(chat, bulk)
            for lane in lanes:
                lane.in_flight += 1
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                self.rate_limited += 1
                seconds = retry_seconds(exc)
                until = self.monotonic() + seconds
                for lane in lanes:
                    lane.paused_until = max(lane.paused_until, until)
                log.warning(
                    "rate limited on %s (%s): %.0f s", endpoint, "bulk" if bulk else "chat", seconds
                )
                if bulk or attempt == self.max_retries or seconds > MAX_RETRY_SECONDS:
                    raise
            finally:
                now = self.monotonic()
                for lane in lanes:
                    lane.in_flight -= 1
                    lane.done.append(now)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _acquire(self, chat: Window | None, bulk: bool) -> None:
        """Return when the call may leave: its chat has room and, for bulk, the bulk lane."""
        if not bulk:
            assert chat is not None
            async with chat.turn:
                await self._wait(chat, None)
            return
        await self._wait(chat, self.bulk)

    async def _wait(self, chat: Window | None, bulk: Window | None) -> None:
        while True:
            now = self.monotonic()
            wait = 0.0
            if chat is not None:
                wait = chat.delay(now)
                if bulk is not None and chat.turn.locked():
                    wait = max(wait, POLL_SECONDS)  # a reply to this chat is waiting: after it
            if bulk is not None:
                wait = max(wait, bulk.delay(now))
            if wait <= 0:
                return
            await self.sleep(wait)
