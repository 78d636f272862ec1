"""The bot's aiohttp request class, against the HTTP emulator and against servers that fail."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, NetworkError, TimedOut

from bot.clock import FixedClock
from bot.request import AiohttpRequest
from bot.sandbox.emulator import BotAPIEmulator
from bot.sandbox.server import EmulatorServer

ALICE = 500_001
START = datetime(2027, 1, 6, 9, 0, tzinfo=UTC)


@asynccontextmanager
async def bot_on_emulator() -> AsyncIterator[tuple[BotAPIEmulator, Bot]]:
    api = BotAPIEmulator(clock=FixedClock(START))
    api.add_user(ALICE, "Alice")
    async with EmulatorServer(api) as server:
        bot = Bot(
            token=api.token,
            base_url=server.base_url,
            base_file_url=server.base_file_url,
            request=AiohttpRequest(4),
            get_updates_request=AiohttpRequest(1),
        )
        async with bot:
            yield api, bot


@asynccontextmanager
async def serve(
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    release: asyncio.Event | None = None,
) -> AsyncIterator[str]:
    """A one-route server on a free port; yields the base URL PTB is given. ``release`` is
    set before the server stops, so that a handler left waiting on it ends."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/bot"
    finally:
        if release is not None:
            release.set()
        await runner.cleanup()


async def test_messages_buttons_edits_and_files_go_through() -> None:
    async with bot_on_emulator() as (api, bot):
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("Oui", callback_data="x:1")]])
        sent = await bot.send_message(ALICE, "Bonjour <b>Alice</b>", reply_markup=markup)
        await bot.edit_message_text("Question 2/10", chat_id=ALICE, message_id=sent.message_id)
        content = b"id,name\n1,Alice\n"
        doc = await bot.send_document(ALICE, content, filename="x.csv", caption="roster")
        assert doc.document is not None
        file = await bot.get_file(doc.document.file_id)
        downloaded = await file.download_as_bytearray()
    shown = api.visible(ALICE)
    assert [m.text for m in shown] == ["Question 2/10", "roster"]
    assert downloaded == bytearray(content)


async def test_telegram_refusal_is_ptb_error() -> None:
    async with bot_on_emulator() as (_, bot):
        with pytest.raises(BadRequest):
            await bot.edit_message_text("x", chat_id=ALICE, message_id=999)


async def test_slow_answer_times_out() -> None:
    never = asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        await never.wait()
        return web.json_response({"ok": True, "result": True})

    async with serve(hang, never) as base:
        request = AiohttpRequest(2, read_timeout=0.05)
        await request.initialize()
        try:
            with pytest.raises(TimedOut):
                await request.post(f"{base}123:abc/getMe")
        finally:
            await request.shutdown()


async def test_unreachable_server_is_network_error_without_the_token() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    request = AiohttpRequest(2)
    await request.initialize()
    token = "123456:SECRET-token_value"
    try:
        with pytest.raises(NetworkError) as caught:
            await request.post(f"http://127.0.0.1:{port}/bot{token}/getMe")
    finally:
        await request.shutdown()
    assert not isinstance(caught.value, TimedOut)
    assert "SECRET" not in str(caught.value)


async def test_dropped_connection_is_network_error() -> None:
    released = asyncio.Event()

    async def drop(request: web.Request) -> web.Response:
        assert request.transport is not None
        request.transport.close()
        await released.wait()
        return web.json_response({"ok": True, "result": True})

    async with serve(drop, released) as base:
        request = AiohttpRequest(2)
        await request.initialize()
        try:
            with pytest.raises(NetworkError):
                await request.post(f"{base}1:a/getMe")
        finally:
            await request.shutdown()


async def test_shutdown_closes_and_initialize_reopens() -> None:
    async def me(request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "result": {"id": 1}})

    async with serve(me) as base:
        request = AiohttpRequest(1)
        with pytest.raises(NetworkError, match="not initialized"):
            await request.post(f"{base}1:a/getMe")
        await request.initialize()
        assert await request.post(f"{base}1:a/getMe") == {"id": 1}
        await request.shutdown()
        await request.shutdown()  # twice: harmless
        with pytest.raises(NetworkError, match="not initialized"):
            await request.post(f"{base}1:a/getMe")
        await request.initialize()
        assert await request.post(f"{base}1:a/getMe") == {"id": 1}
        await request.shutdown()


def test_pool_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        AiohttpRequest(0)
