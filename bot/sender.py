"""The one task that drains the outbox to Telegram, paced and resilient.

Pacing: at most ``rate`` messages per second overall (default 25, under Telegram's
30) and one per second to any one chat. ``RetryAfter`` pauses the whole sender for
as long as Telegram says and retries the same row. ``Forbidden`` (the user blocked
the bot) fails the row and marks the participant unreachable. Network errors retry
with a growing delay, up to ``max_attempts``, then fail with the reason.

Crash safety: a row is marked ``sending`` (committed) before the call to Telegram and
``sent`` after. A crash between the two leaves it ``sending``; at start-up such rows go
back to pending and are sent again. So a message is sent at most twice, and only
when the process died during that very call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import warnings
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.warnings import PTBDeprecationWarning

from bot.clock import Clock
from bot.services.access import set_reachable
from bot.storage import Database, outbox
from bot.storage import answers as store
from bot.storage.outbox import Row

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
WINDOW_MARGIN = 0.005


@dataclass
class Sender:
    """Drains the outbox; ``run`` forever in the bot, ``drain`` once in tests and the sandbox."""

    bot: Bot
    db: Database
    clock: Clock
    rate: float = 25.0
    per_chat_seconds: float = 1.0
    max_attempts: int = 5
    batch: int = 50
    sleep: Sleep = asyncio.sleep
    monotonic: Callable[[], float] = time.monotonic
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    sent_times: list[float] = field(default_factory=list)
    _last_send: float = -1e9
    _last_by_chat: dict[int, float] = field(default_factory=dict)
    _paused_until: float = 0.0
    _draining: asyncio.Lock = field(default_factory=asyncio.Lock)
    _recent: deque[float] = field(default_factory=deque)

    async def start(self) -> int:
        """Put back rows a crash interrupted; return how many."""
        async with self.db.transaction() as conn:
            count = await outbox.reset_interrupted(conn)
        if count:
            log.warning("outbox: %d message(s) interrupted by a stop will be sent again", count)
        return count

    async def run(self) -> None:
        """Drain, then wait for new rows or the next due one, until cancelled."""
        while not self.stopping.is_set():
            try:
                sent = await self.drain()
            except Exception:
                log.exception("outbox: drain failed; retrying shortly")
                sent = 0
            if sent:
                continue
            async with self.db.read() as conn:
                upcoming = await outbox.next_not_before(conn)
            wait = 30.0
            if upcoming is not None:
                wait = max(0.05, min(wait, (upcoming - self.clock.now()).total_seconds()))
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=wait)

    async def drain(self) -> int:
        """Send what is due now, pacing each message; return how many rows were processed."""
        # One drain at a time: two would read the same pending rows and send them twice.
        async with self._draining:
            async with self.db.read() as conn:
                rows = await outbox.due(conn, self.clock.now(), self.batch)
            done = 0
            for row in rows:
                if self.stopping.is_set():
                    break
                await self._deliver(row)
                done += 1
            return done

    async def drain_all(self) -> int:
        """Drain until nothing is due now (the sandbox and tests, after moving the clock)."""
        total = 0
        while sent := await self.drain():
            total += sent
        return total

    async def _pace(self, chat_id: int | None) -> None:
        now = self.monotonic()
        wait = max(
            self._paused_until - now,
            self._last_send + 1.0 / self.rate - now,
            (self._last_by_chat.get(chat_id, -1e9) + self.per_chat_seconds - now)
            if chat_id is not None
            else 0.0,
            0.0,
        )
        # Evenly spaced sends can still put rate + 1 in one of Telegram's rolling seconds,
        # because requests travel at uneven speeds. Counting from when earlier calls came
        # back (they had arrived by then) keeps any second at ``rate`` at most.
        window = self._recent
        if len(window) >= int(self.rate):
            wait = max(wait, window[0] + 1.0 + WINDOW_MARGIN - now)
        if wait > 0:
            await self.sleep(wait)
        now = self.monotonic()
        self._last_send = now
        if chat_id is not None:
            self._last_by_chat[chat_id] = now

    async def _deliver(self, row: Row) -> None:
        now = self.clock.now()
        guard = row.payload.get("unless_submitted")
        if guard and row.participant_id is not None:
            async with self.db.read() as conn:
                latest = await store.latest_attempt(conn, row.participant_id, guard[0], guard[1])
            if latest is not None and latest.submitted:
                async with self.db.transaction() as conn:
                    await outbox.mark(conn, row.id, "skipped", now=now, error="already submitted")
                return
        async with self.db.transaction() as conn:
            await outbox.mark(conn, row.id, "sending", now=now, attempts=row.attempts + 1)
        await self._pace(row.chat_id)
        try:
            try:
                message = await self._send(row)
            finally:
                self._recent.append(self.monotonic())
                while len(self._recent) > int(self.rate):
                    self._recent.popleft()
        except RetryAfter as exc:
            seconds = _retry_seconds(exc)
            self._paused_until = self.monotonic() + seconds
            await self._requeue(row, seconds, f"rate limited: retry after {seconds:.0f} s", 0)
        except Forbidden as exc:
            await self._fail(row, f"blocked: {exc.message}")
            if row.chat_id is not None:
                await set_reachable(self.db, row.chat_id, False)
        except BadRequest as exc:
            await self._fail(row, f"refused: {exc.message}")
        except (TimedOut, NetworkError) as exc:
            attempts = row.attempts + 1
            if attempts >= self.max_attempts:
                await self._fail(row, f"network: {exc.message}")
            else:
                await self._requeue(row, 2.0**attempts, f"network: {exc.message}", 1)
        else:
            self.sent_times.append(self.monotonic())
            async with self.db.transaction() as conn:
                await outbox.mark(
                    conn, row.id, "sent", now=self.clock.now(), message_id=message.message_id
                )

    async def _send(self, row: Row) -> Message:
        assert row.chat_id is not None
        return await send_payload(self.bot, row.chat_id, row.payload)

    async def _requeue(self, row: Row, seconds: float, error: str, spent: int) -> None:
        async with self.db.transaction() as conn:
            await outbox.mark(
                conn,
                row.id,
                "pending",
                now=self.clock.now(),
                error=error,
                not_before=self.clock.now() + timedelta(seconds=seconds),
                # A rate limit is not the message's fault: it does not use up an attempt.
                attempts=row.attempts + spent,
            )

    async def _fail(self, row: Row, error: str) -> None:
        # Row and source only: a chat id is a personal identifier.
        log.info("outbox: row %s (%s) failed: %s", row.id, row.source, error)
        async with self.db.transaction() as conn:
            await outbox.mark(conn, row.id, "failed", now=self.clock.now(), error=error)


def _retry_seconds(exc: RetryAfter) -> float:
    # PTB 22 warns that retry_after becomes a timedelta; accept both without the noise.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


async def send_payload(bot: Bot, chat_id: int, payload: dict[str, Any]) -> Message:
    """Send an outbox payload: text, or a photo or document with its caption, and buttons."""
    markup = None
    if payload.get("buttons"):
        markup = InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(b["text"], callback_data=b["data"]) for b in line]
                for line in payload["buttons"]
            ]
        )
    caption = payload.get("text") or None
    if payload.get("photo"):
        return await bot.send_photo(chat_id, payload["photo"], caption=caption, reply_markup=markup)
    if payload.get("document"):
        return await bot.send_document(
            chat_id, payload["document"], caption=caption, reply_markup=markup
        )
    return await bot.send_message(chat_id, payload["text"], reply_markup=markup)
