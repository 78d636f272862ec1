"""Relais's rate limiter against the emulator enforcing Telegram's limits, on simulated time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram.error import RetryAfter
from telegram.ext import ExtBot

from bot.ratelimit import Lane, RelaisRateLimiter
from bot.sandbox.emulator import RateLimit
from bot.sandbox.offline import BOT_TOKEN, OfflineBotAPI
from tests.conftest import FakeTime

ALICE, BOB = 700_001, 700_002


@pytest.fixture
def time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def telegram(time: FakeTime) -> OfflineBotAPI:
    # Telegram's limits as the emulator plays them: 3 in 3 s per chat, 30/s for bulk sends.
    api = OfflineBotAPI(
        monotonic=time.monotonic, chat_rate=RateLimit(3, 3.0), global_rate=RateLimit(30, 1.0)
    )
    for user_id in (ALICE, BOB, *range(800_000, 800_100)):
        api.add_user(user_id, f"U{user_id}")
    return api


@pytest.fixture
async def bot(telegram: OfflineBotAPI, time: FakeTime) -> AsyncIterator[ExtBot[Any]]:
    limiter = RelaisRateLimiter(bulk_rate=25, monotonic=time.monotonic, sleep=time.sleep)
    async with ExtBot(BOT_TOKEN, request=telegram.request(), rate_limiter=limiter) as ext:
        yield ext


def limiter_of(bot: ExtBot[Any]) -> RelaisRateLimiter:
    assert isinstance(bot.rate_limiter, RelaisRateLimiter)
    return bot.rate_limiter


async def test_sends_and_edits_to_one_chat_are_paced_together_and_other_chats_do_not_wait(
    bot: ExtBot[Any], telegram: OfflineBotAPI, time: FakeTime
) -> None:
    message = await bot.send_message(ALICE, "Question 1")
    sent_at = [time.now]
    for n in range(2, 8):
        await bot.edit_message_text(f"Question {n}", ALICE, message.message_id)
        sent_at.append(time.now)
    await bot.send_message(ALICE, "Merci")
    sent_at.append(time.now)
    # Never more than 3 in any 3 s, so Telegram never answered 429.
    assert all(sent_at[i + 3] - sent_at[i] >= 3.0 for i in range(len(sent_at) - 3))
    assert not limiter_of(bot).rate_limited
    assert [m.text for m in telegram.visible(ALICE)] == ["Question 7", "Merci"]
    # A tap's answer is not limited, and another chat is not held by Alice's.
    before = time.now
    query = telegram.callback_query(telegram.users[BOB], telegram.visible(ALICE)[0], "x")
    await bot.answer_callback_query(query["id"])
    await bot.send_message(BOB, "Bonjour")
    assert time.now == before


async def test_bulk_sends_keep_the_ceiling_and_replies_are_not_under_it(
    bot: ExtBot[Any], telegram: OfflineBotAPI, time: FakeTime
) -> None:
    bulk_at = []
    for chat in range(800_000, 800_060):
        await bot.send_message(chat, "Annonce", rate_limit_args=Lane.BULK)
        bulk_at.append(time.now)
    assert all(bulk_at[i + 25] - bulk_at[i] >= 1.0 for i in range(len(bulk_at) - 25))
    # The bulk lane is full right now; a reply to someone still goes at once.
    before = time.now
    await bot.send_message(ALICE, "Réponse")
    assert time.now == before
    assert not limiter_of(bot).rate_limited


async def test_a_429_on_a_reply_delays_only_that_chat_and_is_retried(
    bot: ExtBot[Any], telegram: OfflineBotAPI, time: FakeTime
) -> None:
    message = await bot.send_message(ALICE, "Question 1")
    telegram.inject("error", "editMessageText", status=429, delay=5)
    start = time.now
    await bot.edit_message_text("Question 2", ALICE, message.message_id)
    assert time.now - start >= 5.0  # waited as Telegram asked, then went through
    assert telegram.visible(ALICE)[0].text == "Question 2"
    limiter = limiter_of(bot)
    assert limiter.rate_limited == 1
    assert limiter.chats[ALICE].paused_until > 0
    assert limiter.chats.get(BOB) is None or limiter.chats[BOB].paused_until == 0
    assert limiter.bulk.paused_until == 0  # the broadcast is not paused by Alice's chat


async def test_a_429_on_a_bulk_send_pauses_the_bulk_lane_only(
    bot: ExtBot[Any], telegram: OfflineBotAPI, time: FakeTime
) -> None:
    telegram.inject("error", "sendMessage", status=429, delay=7)
    with pytest.raises(RetryAfter):
        # Not retried here: the outbox puts the row back and keeps its own count.
        await bot.send_message(800_001, "Annonce", rate_limit_args=Lane.BULK)
    paused_at = time.now
    await bot.send_message(ALICE, "Réponse")  # replies are not held by the bulk pause
    assert time.now == paused_at
    await bot.send_message(800_002, "Annonce", rate_limit_args=Lane.BULK)
    assert time.now - paused_at >= 7.0


async def test_a_reply_goes_before_a_bulk_message_waiting_for_the_same_chat() -> None:
    clock = {"now": 0.0}
    order: list[str] = []

    async def sleep(seconds: float) -> None:
        clock["now"] += min(seconds, 0.05)
        await asyncio.sleep(0)  # let the other waiter look too

    limiter = RelaisRateLimiter(bulk_rate=25, monotonic=lambda: clock["now"], sleep=sleep)

    def call(name: str) -> Any:
        async def callback() -> bool:
            order.append(name)
            return True

        return callback

    for n in range(3):  # fill Alice's window
        await limiter.process_request(
            call(f"earlier {n}"), (), {}, "sendMessage", {"chat_id": ALICE}, None
        )
    bulk = asyncio.create_task(
        limiter.process_request(call("bulk"), (), {}, "sendMessage", {"chat_id": ALICE}, Lane.BULK)
    )
    await asyncio.sleep(0)
    reply = asyncio.create_task(
        limiter.process_request(call("reply"), (), {}, "editMessageText", {"chat_id": ALICE}, None)
    )
    await asyncio.gather(bulk, reply)
    assert order[3:] == ["reply", "bulk"]
