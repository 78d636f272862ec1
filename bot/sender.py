"""The one task that drains the outbox to Telegram, paced and resilient.

Pacing: at most ``rate`` messages per second overall (default 25, under Telegram's
30) and one per second to any one chat. Against a distant Telegram each call takes a
round trip, so up to ``max_in_flight`` calls travel at once; calls in flight count
against the rate, which therefore still holds in any rolling second. The calls are
marked as the bulk lane of ``bot.ratelimit``. ``RetryAfter`` pauses the sender for as
long as Telegram says and retries the same row. ``Forbidden`` (the user blocked the
bot) fails the row and marks the participant unreachable (a supervisor's row just
fails). Network errors retry with a growing delay, up to ``max_attempts``, then fail
with the reason. A supervisor's row whose account is no longer bound is cancelled.

Crash safety: a row is marked ``sending`` (committed) before the call to Telegram and
``sent`` after. A crash between the two leaves it ``sending``; at start-up such rows go
back to pending and are sent again. So a message is sent at most twice, and only when
the process died while that very call was in flight.

The status writes are batched (``StatusWriter``): every change waiting when a
transaction starts goes into it, so while taps keep the database busy the sender needs
one short transaction for several messages rather than two per message. A write that
meets a busy database (another process holding the lock past the busy timeout) is
retried until it commits: a delivered message never stays ``sending`` because its
``sent`` was refused, and no message leaves before its ``sending`` is committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import ExtBot

from bot.clock import Clock
from bot.outgoing import Button, OutgoingMessage
from bot.ratelimit import Lane, retry_seconds
from bot.services.access import set_reachable
from bot.storage import Database, outbox
from bot.storage.outbox import Change, Row, Status

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
WINDOW_MARGIN = 0.005
# How far behind its schedule the sender may catch up (see Sender._pace).
CATCH_UP = 0.2
# Waits between tries of a status write that met a busy database.
BUSY_FIRST_WAIT, BUSY_MAX_WAIT = 0.05, 1.0


def is_busy(exc: sqlite3.OperationalError) -> bool:
    """SQLite refused because another connection held the lock past the busy timeout."""
    text = str(exc).lower()
    return "locked" in text or "busy" in text


class StatusWriter:
    """The sender's status changes, written in batches, each retried until it commits."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.busy_retries = 0  # how often a write met a busy database (logs, tests)
        self.refused = asyncio.Event()  # set the first time it does
        self.transactions = 0
        self._queue: list[tuple[Change, asyncio.Future[None]]] = []
        self._flushing = False

    async def write(self, *changes: Change) -> None:
        """Return once ``changes`` are committed (with whatever else was waiting), in order."""
        if not changes:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue += [(c, done) for c in changes]
        if not self._flushing:
            # The first writer commits for everyone who queues while it waits for the lock.
            self._flushing = True
            batch: list[tuple[Change, asyncio.Future[None]]] = []
            try:
                while self._queue:
                    batch, self._queue = self._queue, []
                    while not await self._commit([c for c, _ in batch]):
                        # Refused: what queued meanwhile joins the same next try.
                        batch, self._queue = batch + self._queue, []
                    for _, future in batch:
                        if not future.done():
                            future.set_result(None)
            except BaseException as exc:
                failure = exc if isinstance(exc, Exception) else RuntimeError("writer stopped")
                for _, future in [*batch, *self._queue]:
                    if not future.done():
                        future.set_exception(failure)
                self._queue = []
                raise
            finally:
                self._flushing = False
        await done

    async def _commit(self, changes: list[Change]) -> bool:
        """One transaction for the changes; False if the database was busy (try again)."""
        try:
            async with self.db.transaction() as conn:
                await outbox.mark_many(conn, changes)
        except sqlite3.OperationalError as exc:
            if not is_busy(exc):
                raise
            self.busy_retries += 1
            self.refused.set()
            wait = min(BUSY_FIRST_WAIT * 2 ** min(self.busy_retries, 8), BUSY_MAX_WAIT)
            log.warning("outbox: database busy, status write retried in %.2f s", wait)
            # Real time: the lock is held by another process (an import, a backup).
            await asyncio.sleep(wait)
            return False
        self.transactions += 1
        return True


@dataclass
class Sender:
    """Drains the outbox; ``run`` forever in the bot, ``drain`` once in tests and the sandbox."""

    bot: Bot
    db: Database
    clock: Clock
    rate: float = 25.0
    per_chat_seconds: float = 1.0
    max_attempts: int = 5
    batch: int = 100
    # Enough calls travelling for the rate over a slow round trip: 16 at 25/s covers 0.64 s
    # (Telegram's 0.1-0.3 s, or a bot whose loop is busy with a live class).
    max_in_flight: int = 16
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
    _in_flight: int = 0
    _flying: set[asyncio.Task[None]] = field(default_factory=set)
    writer: StatusWriter = field(init=False)
    _slots: asyncio.Semaphore = field(init=False)

    def __post_init__(self) -> None:
        self.writer = StatusWriter(self.db)
        # Fewer in flight than the rate: the rolling second can always be kept.
        self._slots = asyncio.Semaphore(max(1, min(self.max_in_flight, int(self.rate) - 1)))

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
            # Cleared before looking, not after: a wake-up (a new row, or stop) that comes
            # while this pass drains, settles or reads would otherwise be lost, and a stop
            # would wait out the whole idle wait below.
            self.wake.clear()
            try:
                sent = await self.drain(settle=False)
            except Exception:
                log.exception("outbox: drain failed; retrying shortly")
                sent = 0
            if sent:
                continue
            await self.settle()  # calls in flight may put rows back, due at once
            async with self.db.read() as conn:
                upcoming = await outbox.next_not_before(conn)
            wait = 30.0
            if upcoming is not None:
                wait = max(0.05, min(wait, (upcoming - self.clock.now()).total_seconds()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=wait)

    async def drain(self, *, settle: bool = True) -> int:
        """Send what is due now, pacing each message; return how many rows were processed.

        ``settle``: return only once every call has come back and its row is written
        (tests, the sandbox). ``run`` does not wait between batches, so the calls of one
        batch are still travelling while the next batch starts.
        """
        # One drain at a time: two would read the same pending rows and send them twice.
        async with self._draining:
            async with self.db.read() as conn:
                rows = await outbox.due(conn, self.clock.now(), self.batch)
            done = 0
            ahead = max(1, int(self.rate))
            try:
                # A second's worth of rows is claimed in one write; then each is paced and
                # sent, its call and outcome going on while the next one leaves.
                for start in range(0, len(rows), ahead):
                    if self.stopping.is_set():
                        break
                    chunk = rows[start : start + ahead]
                    try:
                        ready = await self._claim(chunk)
                    except Exception:
                        log.exception(
                            "outbox: rows from %s could not be claimed; kept", chunk[0].id
                        )
                        continue
                    done += len(chunk)
                    for index, row in enumerate(ready):
                        await self._slots.acquire()
                        if self.stopping.is_set():
                            self._slots.release()
                            await self._unclaim(ready[index:])
                            break
                        await self._pace(row.chat_id)
                        self._in_flight += 1
                        task = asyncio.create_task(self._finish(row))
                        self._flying.add(task)
                        task.add_done_callback(self._flying.discard)
            finally:
                if settle or self.stopping.is_set():
                    await self.settle()
            return done

    async def settle(self) -> None:
        """Wait until every call in flight has come back and its row is written."""
        while self._flying:
            await asyncio.gather(*self._flying, return_exceptions=True)

    async def drain_all(self) -> int:
        """Drain until nothing is due now (the sandbox and tests, after moving the clock)."""
        total = 0
        while sent := await self.drain():
            total += sent
        return total

    async def _pace(self, chat_id: int | None) -> None:
        """Wait for the row's turn: the rate, the chat's second, and any pause after a 429."""
        overrun = 0.0
        while (wait := self._wait(chat_id, start := self.monotonic())) > 0:
            await self.sleep(wait)  # meanwhile calls come back, or a 429 pauses: look again
            overrun = self.monotonic() - start - wait
        now = self.monotonic()
        # Sends are spaced from when each was meant to leave, not from when it did: on a
        # busy event loop every sleep overruns, and spacing from the overrun would lose that
        # much rate at each message. So the next may leave sooner by the last sleep's
        # overrun (at most CATCH_UP); the rolling second (see _wait) still holds.
        self._last_send = now - min(max(overrun, 0.0), CATCH_UP)
        self.sent_times.append(now)  # when each call is let go (it leaves at once)
        if chat_id is not None:
            self._last_by_chat[chat_id] = now

    def _wait(self, chat_id: int | None, now: float) -> float:
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
        # back (they had arrived by then), and counting those still in flight, keeps any
        # second at ``rate`` at most.
        recent = [t for t in self._recent if t > now - 1.0 - WINDOW_MARGIN]
        excess = len(recent) + self._in_flight - int(self.rate) + 1
        if excess > 0 and recent:
            # In flight are fewer than the rate (see drain), so enough have come back.
            wait = max(wait, recent[min(excess, len(recent)) - 1] + 1.0 + WINDOW_MARGIN - now)
        return wait

    async def _claim(self, rows: list[Row]) -> list[Row]:
        """Commit the rows as ``sending``, in one write; those to send (a nudge to someone who
        has submitted meanwhile is skipped instead)."""
        ready: list[Row] = []
        changes: list[Change] = []
        now = self.clock.now()
        pointless: set[int] = set()
        unbound: set[int] = set()
        guarded = any(row.message.unless_submitted for row in rows)
        to_supervisors = any(row.supervisor_id is not None for row in rows)
        if guarded or to_supervisors:
            async with self.db.read() as conn:
                if guarded:
                    pointless = await outbox.submitted_guards(conn, rows)
                if to_supervisors:
                    unbound = await outbox.unbound_supervisor_rows(conn, rows)
        for row in rows:
            if row.id in unbound:
                # As for a forgotten participant: the account is no longer theirs to write to.
                changes.append(Change(row.id, Status.CANCELLED, now, error="no longer bound"))
                continue
            if row.id in pointless:
                changes.append(Change(row.id, Status.SKIPPED, now, error="already submitted"))
                continue
            ready.append(row)
            changes.append(Change(row.id, Status.SENDING, now, attempts=row.attempts + 1))
        # Committed before any call: after a crash these rows are known to be maybe sent.
        await self.writer.write(*changes)
        return ready

    async def _unclaim(self, rows: list[Row]) -> None:
        """Stopping: rows claimed but not sent go back to pending as they were."""
        now = self.clock.now()
        await self.writer.write(
            *(Change(r.id, Status.PENDING, now, attempts=r.attempts) for r in rows)
        )

    async def _finish(self, row: Row) -> None:
        """Make the call, then record what became of the row, whatever happens."""
        try:
            try:
                result = await self._send(row)
            finally:
                self._in_flight -= 1
                self._recent.append(self.monotonic())
                while len(self._recent) > int(self.rate):
                    self._recent.popleft()
            await self._record(row, result)
        except Exception:
            # Still ``sending``: put back at the next start, never lost.
            log.exception("outbox: the outcome of row %s could not be recorded", row.id)
        finally:
            self._slots.release()

    async def _send(self, row: Row) -> Message | Exception:
        """The message sent, or what prevented it (Telegram's refusal, the network…)."""
        assert row.chat_id is not None
        try:
            return await send_message(self.bot, row.chat_id, row.message, bulk=True)
        except Exception as exc:
            return exc

    async def _record(self, row: Row, result: Message | Exception) -> None:
        """Write what became of the row: sent, put back for later, or failed with why."""
        if isinstance(result, Message):
            await self._mark(row, Status.SENT, message_id=result.message_id)
        elif isinstance(result, RetryAfter):
            seconds = retry_seconds(result)
            self._paused_until = max(self._paused_until, self.monotonic() + seconds)
            await self._requeue(row, seconds, f"rate limited: retry after {seconds:.0f} s", 0)
        elif isinstance(result, Forbidden):
            await self._fail(row, f"blocked: {result.message}")
            # A participant is marked unreachable (broadcasts leave them out). A supervisor
            # has no such flag: only campaigns write to them, and each row fails like this
            # one until they unblock the bot, when the next one goes out.
            if row.chat_id is not None and row.supervisor_id is None:
                await set_reachable(self.db, row.chat_id, False)
        elif isinstance(result, BadRequest):
            await self._fail(row, f"refused: {result.message}")
        elif isinstance(result, TimedOut | NetworkError):
            attempts = row.attempts + 1
            if attempts >= self.max_attempts:
                await self._fail(row, f"network: {result.message}")
            else:
                await self._requeue(row, 2.0**attempts, f"network: {result.message}", 1)
        else:
            # Not Telegram's answer but a fault here: the row fails rather than stay sending.
            log.error("outbox: row %s: %s", row.id, type(result).__name__)
            await self._fail(row, f"error: {type(result).__name__}")

    async def _mark(self, row: Row, status: Status, **details: Any) -> None:
        await self.writer.write(Change(row.id, status, self.clock.now(), **details))

    async def _requeue(self, row: Row, seconds: float, error: str, spent: int) -> None:
        await self._mark(
            row,
            Status.PENDING,
            error=error,
            not_before=self.clock.now() + timedelta(seconds=seconds),
            # A rate limit is not the message's fault: it does not use up an attempt.
            attempts=row.attempts + spent,
        )

    async def _fail(self, row: Row, error: str) -> None:
        # Row and source only: a chat id is a personal identifier.
        log.info("outbox: row %s (%s) failed: %s", row.id, row.source, error)
        await self._mark(row, Status.FAILED, error=error)


def keyboard(buttons: Sequence[Sequence[Button]]) -> InlineKeyboardMarkup | None:
    """Telegram's markup for rows of buttons (a screen's or a queued message's); None for none."""
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.text, callback_data=b.data) for b in row] for row in buttons]
    )


async def send_message(
    bot: Bot, chat_id: int, message: OutgoingMessage, *, bulk: bool = False
) -> Message:
    """Send a message: text, or a photo or document with its caption, and buttons.

    ``bulk``: one of many (the outbox's), in the bulk lane of ``bot.ratelimit``.
    """
    lane: dict[str, Any] = {}
    if bulk and isinstance(bot, ExtBot):
        lane["rate_limit_args"] = Lane.BULK
    markup = keyboard(message.buttons)
    caption = message.text or None
    if message.photo:
        return await bot.send_photo(
            chat_id, message.photo, caption=caption, reply_markup=markup, **lane
        )
    if message.document:
        return await bot.send_document(
            chat_id, message.document, caption=caption, reply_markup=markup, **lane
        )
    return await bot.send_message(chat_id, message.text, reply_markup=markup, **lane)
