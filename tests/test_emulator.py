"""The Bot API emulator over real HTTP: raw requests and PTB's own Bot parse its answers."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)

from bot.clock import FixedClock
from bot.sandbox.emulator import (
    BOT_ID,
    BOT_USERNAME,
    BotAPIEmulator,
    JSONDict,
    RateLimit,
    SentMessage,
)
from bot.sandbox.server import SECRET_HEADER, EmulatorServer

START = datetime(2027, 1, 6, 9, 0, tzinfo=UTC)
ALICE, BOB = 500_001, 500_002
# Not a valid image: the emulator stores whatever bytes it is given.
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


class FakeMonotonic:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Env:
    """One emulator behind its HTTP server, a PTB bot pointed at it, and a raw HTTP session."""

    api: BotAPIEmulator
    server: EmulatorServer
    bot: Bot
    http: aiohttp.ClientSession

    def url(self, method: str, token: str | None = None) -> str:
        return f"{self.server.base_url}{token or self.api.token}/{method}"

    async def raw(self, method: str, **params: Any) -> tuple[int, JSONDict]:
        """POST ``params`` as JSON and return (HTTP status, JSON body)."""
        async with self.http.post(self.url(method), json=params) as response:
            body: JSONDict = await response.json()
            return response.status, body


@asynccontextmanager
async def emulated(api: BotAPIEmulator | None = None) -> AsyncIterator[Env]:
    """Serve ``api`` on a free port for the duration of the block."""
    api = api or BotAPIEmulator(clock=FixedClock(START))
    async with (
        EmulatorServer(api) as server,
        aiohttp.ClientSession() as http,
    ):
        bot = Bot(token=api.token, base_url=server.base_url, base_file_url=server.base_file_url)
        async with bot:
            yield Env(api, server, bot, http)


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    async with emulated() as environment:
        yield environment


async def user_says(api: BotAPIEmulator, user_id: int, text: str) -> JSONDict:
    """Queue a user's message as an update and return the update as queued."""
    user = api.users.get(user_id) or api.add_user(user_id, f"User{user_id}")
    message = api.user_message(user, text)
    update_id = await api.push_update("message", message)
    return {"update_id": update_id, "message": message}


# --- getMe --------------------------------------------------------------------------------------


async def test_get_me_through_ptb(env: Env) -> None:
    me = await env.bot.get_me()
    assert me.is_bot
    assert me.id == BOT_ID
    assert me.username == BOT_USERNAME
    assert env.bot.username == BOT_USERNAME  # cached by ``async with bot``
    status, body = await env.raw("getMe")
    assert status == 200
    assert body["ok"] is True
    assert body["result"]["username"] == BOT_USERNAME


# --- getUpdates ---------------------------------------------------------------------------------


async def test_long_poll_returns_as_soon_as_an_update_is_pushed(env: Env) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()

    async def push_once_polling() -> JSONDict:
        await env.api.wait_until(lambda: bool(env.api.calls_to("getUpdates")))
        return await user_says(env.api, ALICE, "hello")

    updates, pushed = await asyncio.gather(env.bot.get_updates(timeout=5), push_once_polling())
    assert loop.time() - started < 2
    assert len(updates) == 1
    assert isinstance(updates[0], Update)
    assert updates[0].update_id == pushed["update_id"]
    assert updates[0].message is not None
    assert updates[0].message.text == "hello"


async def test_raw_long_poll_wakes_up_on_push(env: Env) -> None:
    async def push_once_polling() -> JSONDict:
        await env.api.wait_until(lambda: bool(env.api.calls_to("getUpdates")))
        return await user_says(env.api, ALICE, "hi")

    (status, body), pushed = await asyncio.gather(
        env.raw("getUpdates", timeout=5), push_once_polling()
    )
    assert status == 200
    assert body == {"ok": True, "result": [pushed]}


async def test_closing_releases_a_pending_long_poll_at_once(env: Env) -> None:
    # A bot being stopped must not wait out its poll's timeout (an emulator's shutdown).
    async def close_once_polling() -> None:
        await env.api.wait_until(lambda: bool(env.api.calls_to("getUpdates")))
        await env.api.close()

    async with asyncio.timeout(10):  # far below the poll's 60 s: never reached when released
        updates, _ = await asyncio.gather(env.bot.get_updates(timeout=60), close_once_polling())
    assert updates == ()
    # Still usable afterwards: the next poll gets what is queued.
    pushed = await user_says(env.api, ALICE, "after")
    assert [u.update_id for u in await env.bot.get_updates(timeout=5)] == [pushed["update_id"]]


async def test_empty_queue_with_zero_timeout_returns_nothing(env: Env) -> None:
    assert await env.bot.get_updates(timeout=0) == ()
    status, body = await env.raw("getUpdates", timeout=0)
    assert (status, body) == (200, {"ok": True, "result": []})


async def test_offset_confirms_and_limit_caps(env: Env) -> None:
    pushed = [await user_says(env.api, ALICE, f"m{n}") for n in range(4)]
    ids = [u["update_id"] for u in pushed]

    assert [u.update_id for u in await env.bot.get_updates()] == ids
    # Without an offset nothing is confirmed: the same updates come again.
    assert [u.update_id for u in await env.bot.get_updates()] == ids
    assert [u.update_id for u in await env.bot.get_updates(offset=ids[2])] == ids[2:]
    # Updates below the offset are gone even for a call without one.
    assert [u.update_id for u in await env.bot.get_updates()] == ids[2:]
    assert [u.update_id for u in await env.bot.get_updates(limit=1)] == ids[2:3]
    assert await env.bot.get_updates(offset=ids[-1] + 1) == ()
    assert env.api.acknowledged == ids[-1]


async def test_raw_get_with_query_string(env: Env) -> None:
    pushed = [await user_says(env.api, ALICE, f"m{n}") for n in range(3)]
    url = env.url("getUpdates")
    async with env.http.get(url, params={"offset": str(pushed[1]["update_id"])}) as response:
        body = await response.json()
    assert response.status == 200
    assert body["result"] == pushed[1:]


async def test_allowed_updates_filters_out_messages(env: Env) -> None:
    user = env.api.add_user(ALICE, "Alice")
    sent = await env.bot.send_message(ALICE, "pick one")
    await user_says(env.api, ALICE, "a message")
    query = env.api.callback_query(user, env.api.chats[ALICE][-1], "yes")
    query_update = await env.api.push_update("callback_query", query)

    updates = await env.bot.get_updates(allowed_updates=["callback_query"])
    assert [u.update_id for u in updates] == [query_update]
    assert updates[0].callback_query is not None
    assert updates[0].callback_query.data == "yes"
    assert updates[0].callback_query.message is not None
    assert updates[0].callback_query.message.message_id == sent.message_id
    # The setting sticks for later calls, as Telegram's does.
    await user_says(env.api, ALICE, "another")
    assert [u.update_id for u in await env.bot.get_updates()] == [query_update]


# --- sendMessage --------------------------------------------------------------------------------


async def test_message_ids_count_per_chat(env: Env) -> None:
    env.api.add_user(ALICE, "Alice")
    env.api.add_user(BOB, "Bob")
    await user_says(env.api, ALICE, "/start")  # takes id 1 in Alice's chat

    to_alice = [await env.bot.send_message(ALICE, f"a{n}") for n in range(2)]
    to_bob = [await env.bot.send_message(BOB, f"b{n}") for n in range(2)]
    assert [m.message_id for m in to_alice] == [2, 3]
    assert [m.message_id for m in to_bob] == [1, 2]
    assert [m.message_id for m in env.api.visible(BOB)] == [1, 2]


async def test_sent_message_is_parsed_by_ptb(env: Env) -> None:
    env.api.add_user(ALICE, "Alice", username="alice")
    message = await env.bot.send_message(ALICE, "<b>bold</b>", parse_mode="HTML")
    assert isinstance(message, Message)
    assert message.text == "<b>bold</b>"
    assert message.date == START
    assert message.from_user is not None
    assert message.from_user.id == BOT_ID
    assert message.from_user.is_bot
    assert message.chat.id == ALICE
    assert message.chat.type == "private"
    assert message.chat.username == "alice"

    status, body = await env.raw("sendMessage", chat_id=ALICE, text="raw")
    assert status == 200
    result = body["result"]
    assert type(result["date"]) is int
    assert result["date"] == int(START.timestamp())
    assert result["from"]["id"] == BOT_ID
    assert result["from"]["is_bot"] is True
    assert result["message_id"] == message.message_id + 1


async def test_inline_keyboard_is_echoed(env: Env) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("é" * 3, callback_data="é" * 32)]])
    message = await env.bot.send_message(ALICE, "pick", reply_markup=markup)  # 64 bytes: fine
    assert message.reply_markup == markup
    assert env.api.chats[ALICE][-1].button_texts == ["ééé"]


# --- errors -------------------------------------------------------------------------------------


async def test_edit_with_identical_text_is_not_modified(env: Env) -> None:
    message = await env.bot.send_message(ALICE, "hello")
    with pytest.raises(BadRequest) as caught:
        await env.bot.edit_message_text("hello", chat_id=ALICE, message_id=message.message_id)
    # PTB strips "Bad Request: " and capitalises what is left.
    assert caught.value.message.startswith("Message is not modified: specified new message")
    edited = await env.bot.edit_message_text(
        "hello again", chat_id=ALICE, message_id=message.message_id
    )
    assert isinstance(edited, Message)
    assert edited.text == "hello again"
    assert edited.edit_date == START


async def test_edit_of_unknown_message(env: Env) -> None:
    await env.bot.send_message(ALICE, "hello")
    with pytest.raises(BadRequest, match=r"^Message to edit not found$"):
        await env.bot.edit_message_text("x", chat_id=ALICE, message_id=99)
    status, body = await env.raw("editMessageText", chat_id=ALICE, message_id=99, text="x")
    assert (status, body["description"]) == (400, "Bad Request: message to edit not found")


async def test_callback_data_over_64_bytes(env: Env) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("go", callback_data="a" * 65)]])
    # Telegram says BUTTON_DATA_INVALID; PTB's capitalize() lowers the rest.
    with pytest.raises(BadRequest, match=r"^Button_data_invalid$"):
        await env.bot.send_message(ALICE, "pick", reply_markup=markup)
    assert env.api.chats[ALICE] == []


async def test_empty_text(env: Env) -> None:
    with pytest.raises(BadRequest, match=r"^Message text is empty$"):
        await env.bot.send_message(ALICE, "")
    with pytest.raises(BadRequest, match=r"^Message text is empty$"):
        await env.bot.send_message(ALICE, "<b> </b>", parse_mode="HTML")


async def test_text_over_4096_characters(env: Env) -> None:
    await env.bot.send_message(ALICE, "x" * 4096)
    with pytest.raises(BadRequest, match=r"^Message is too long$"):
        await env.bot.send_message(ALICE, "x" * 4097)
    # Markup does not count: what is left after parsing does.
    await env.bot.send_message(ALICE, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")


async def test_unsupported_html_tag(env: Env) -> None:
    with pytest.raises(BadRequest) as caught:
        await env.bot.send_message(ALICE, "<div>x</div>", parse_mode="HTML")
    # PTB strips "Bad Request: " and capitalize() lowers Telegram's "Unsupported".
    assert caught.value.message == 'Can\'t parse entities: unsupported start tag "div"'
    with pytest.raises(BadRequest, match=r"^Can't parse entities: can't find end tag"):
        await env.bot.send_message(ALICE, "<b>x", parse_mode="HTML")
    # Without a parse mode the same text is plain.
    message = await env.bot.send_message(ALICE, "<div>x</div>")
    assert message.text == "<div>x</div>"


async def test_blocked_user_is_forbidden(env: Env) -> None:
    env.api.add_user(ALICE, "Alice")
    await env.bot.send_message(ALICE, "before")
    env.api.users[ALICE].blocked = True
    with pytest.raises(Forbidden, match=r"^Forbidden: bot was blocked by the user$"):
        await env.bot.send_message(ALICE, "after")
    with pytest.raises(Forbidden):
        await env.bot.send_document(ALICE, document=b"x", filename="x.txt")
    assert env.api.blocked_by == {ALICE}
    assert [m.text for m in env.api.visible(ALICE)] == ["before"]


async def test_chat_rate_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # retry_after as a timedelta, no warning
    monotonic = FakeMonotonic()
    api = BotAPIEmulator(monotonic=monotonic, chat_rate=RateLimit(2, 60))
    async with emulated(api) as env:
        await env.bot.send_message(ALICE, "1")
        await env.bot.send_message(ALICE, "2")
        with pytest.raises(RetryAfter) as caught:
            await env.bot.send_message(ALICE, "3")
        assert caught.value.retry_after == timedelta(seconds=60)
        # Another chat has its own window.
        await env.bot.send_message(BOB, "1")

        monotonic.now += 45
        status, body = await env.raw("sendMessage", chat_id=ALICE, text="3")
        assert status == 429
        assert body["parameters"] == {"retry_after": 15}
        assert body["description"] == "Too Many Requests: retry after 15"

        monotonic.now += 15
        message = await env.bot.send_message(ALICE, "3")
        assert message.text == "3"
        assert [m.text for m in env.api.visible(ALICE)] == ["1", "2", "3"]


async def test_global_rate_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    monotonic = FakeMonotonic()
    api = BotAPIEmulator(monotonic=monotonic, global_rate=RateLimit(3, 1.0))
    async with emulated(api) as env:
        for chat_id in (1, 2, 3):
            await env.bot.send_message(chat_id, "hi")
        with pytest.raises(RetryAfter) as caught:
            await env.bot.send_message(4, "hi")
        assert caught.value.retry_after == timedelta(seconds=1)
        monotonic.now += 0.5
        with pytest.raises(RetryAfter) as caught:
            await env.bot.send_document(4, document=b"x", filename="x.txt")
        assert caught.value.retry_after == timedelta(seconds=1)  # never less than one
        monotonic.now += 0.5
        await env.bot.send_message(4, "hi")
        # Other methods are not rate limited.
        assert (await env.bot.get_me()).is_bot


# --- routing and tokens -------------------------------------------------------------------------


async def test_unknown_method_is_404_naming_it(env: Env) -> None:
    status, body = await env.raw("frobnicateWidgets", chat_id=1)
    assert status == 404
    assert body["ok"] is False
    assert body["error_code"] == 404
    assert "frobnicateWidgets" in body["description"]
    async with env.http.get(f"{env.server.root}/nowhere") as response:
        assert response.status == 404
        assert (await response.json())["ok"] is False


async def test_wrong_token_is_401(env: Env) -> None:
    async with env.http.post(env.url("getMe", token="123:wrong"), json={}) as response:
        body = await response.json()
    assert response.status == 401
    assert body == {"ok": False, "error_code": 401, "description": "Unauthorized"}

    other = Bot(token="123:wrong", base_url=env.server.base_url)
    with pytest.raises(InvalidToken):
        await other.initialize()
    await other.shutdown()


async def test_rejected_token_is_401() -> None:
    async with emulated() as env:
        env.api.reject_token = True
        status, body = await env.raw("getMe")
        assert (status, body["description"]) == (401, "Unauthorized")
        with pytest.raises(InvalidToken):
            await env.bot.get_me()


# --- injected faults ----------------------------------------------------------------------------


async def test_injected_502_is_a_network_error(env: Env) -> None:
    env.api.inject("error", "getMe", status=502)
    with pytest.raises(NetworkError) as caught:
        await env.bot.get_me()
    assert type(caught.value) is NetworkError  # not BadRequest, its subclass
    assert caught.value.message == "Bad Gateway"
    # The fault is used up: the next call goes through.
    assert (await env.bot.get_me()).is_bot


async def test_injected_fault_only_hits_its_method(env: Env) -> None:
    env.api.inject("error", "getMe", status=503, times=2)
    await env.bot.send_message(ALICE, "unaffected")
    for _ in range(2):
        with pytest.raises(NetworkError):
            await env.bot.get_me()
    assert (await env.bot.get_me()).is_bot
    assert env.api.faults == []


async def test_dropped_connection_is_a_network_error(env: Env) -> None:
    env.api.inject("drop", "getMe")
    with pytest.raises(NetworkError) as caught:
        await env.bot.get_me()
    assert type(caught.value) is NetworkError
    assert caught.value.message.startswith("httpx.")
    assert (await env.bot.get_me()).is_bot


async def test_slow_call_still_succeeds(env: Env) -> None:
    env.api.inject("slow", "getMe", delay=0.05)
    loop = asyncio.get_running_loop()
    started = loop.time()
    me = await env.bot.get_me()
    assert loop.time() - started >= 0.05
    assert me.username == BOT_USERNAME


# --- files --------------------------------------------------------------------------------------


async def test_document_upload_and_download(env: Env) -> None:
    content = b"id,name\n1,Alice\n2,Bob\n"
    message = await env.bot.send_document(
        ALICE, document=content, filename="x.csv", caption="roster"
    )
    assert message.document is not None
    assert message.document.file_name == "x.csv"
    assert message.document.file_size == len(content)
    assert message.caption == "roster"

    file = await env.bot.get_file(message.document.file_id)
    assert file.file_path is not None
    assert file.file_path.startswith(f"{env.server.base_file_url}{env.api.token}/")
    assert file.file_path.endswith(".csv")
    assert await file.download_as_bytearray() == bytearray(content)

    # Sending it again by file id reuses the stored file.
    again = await env.bot.send_document(BOB, document=message.document.file_id)
    assert again.document is not None
    assert again.document.file_id == message.document.file_id


async def test_photo_upload_and_download(env: Env) -> None:
    message = await env.bot.send_photo(ALICE, photo=PNG, filename="p.png")
    assert message.photo
    file = await env.bot.get_file(message.photo[-1].file_id)
    assert await file.download_as_bytearray() == bytearray(PNG)
    assert env.api.chats[ALICE][-1].photo == message.photo[-1].file_id


async def test_download_of_a_part_sent_with_a_charset(env: Env) -> None:
    form = aiohttp.FormData()
    form.add_field("chat_id", str(ALICE))
    form.add_field("document", b"hello", filename="h.txt", content_type="text/plain; charset=utf-8")
    async with env.http.post(env.url("sendDocument"), data=form) as response:
        assert response.status == 200
        file_id = (await response.json())["result"]["document"]["file_id"]
    file = await env.bot.get_file(file_id)
    assert await file.download_as_bytearray() == bytearray(b"hello")


async def test_unknown_file(env: Env) -> None:
    with pytest.raises(BadRequest, match=r"^Invalid file_id$"):
        await env.bot.get_file("nope")
    async with env.http.get(f"{env.server.base_file_url}{env.api.token}/x/y") as response:
        assert response.status == 404
    sent = await env.bot.send_document(ALICE, document=b"z", filename="z.txt")
    assert sent.document is not None
    path = (await env.bot.get_file(sent.document.file_id)).file_path
    assert path is not None
    wrong = path.replace(env.api.token, "123:wrong")
    async with env.http.get(wrong) as response:
        assert response.status == 401


# --- commands -----------------------------------------------------------------------------------


async def test_commands_round_trip_per_language_and_scope(env: Env) -> None:
    default = [BotCommand("start", "Start"), BotCommand("help", "Help")]
    french = [BotCommand("start", "Commencer")]
    staff = [BotCommand("stats", "Statistiques")]
    scope = BotCommandScopeChat(ALICE)

    assert await env.bot.set_my_commands(default)
    assert await env.bot.set_my_commands(french, language_code="fr")
    assert await env.bot.set_my_commands(staff, scope=scope, language_code="fr")

    assert await env.bot.get_my_commands() == tuple(default)
    assert await env.bot.get_my_commands(language_code="fr") == tuple(french)
    assert await env.bot.get_my_commands(scope=scope, language_code="fr") == tuple(staff)
    assert await env.bot.get_my_commands(scope=scope) == ()

    assert await env.bot.delete_my_commands(scope=scope, language_code="fr")
    assert await env.bot.get_my_commands(scope=scope, language_code="fr") == ()
    assert await env.bot.get_my_commands(language_code="fr") == tuple(french)
    assert await env.bot.delete_my_commands(language_code="fr")
    assert await env.bot.get_my_commands(language_code="fr") == ()
    assert await env.bot.get_my_commands() == tuple(default)

    with pytest.raises(BadRequest, match=r"^Bot_command_invalid$"):
        await env.bot.set_my_commands([BotCommand("x" * 33, "too long")])


# --- webhook ------------------------------------------------------------------------------------


@dataclass
class Hook:
    """A tiny webhook endpoint that records what it is sent and answers ``status``."""

    status: int = 200
    received: list[tuple[dict[str, str], JSONDict]] = field(default_factory=list)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        body: JSONDict = await request.json()
        async with self.changed:
            self.received.append((dict(request.headers), body))
            self.changed.notify_all()
        return web.Response(status=self.status)

    async def wait_for(self, count: int, seconds: float = 2.0) -> None:
        async with asyncio.timeout(seconds), self.changed:
            await self.changed.wait_for(lambda: len(self.received) >= count)


@asynccontextmanager
async def webhook_endpoint() -> AsyncIterator[Hook]:
    hook = Hook()
    app = web.Application()
    app.router.add_post("/hook", hook.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        port = runner.addresses[0][1]
        hook.url = f"http://127.0.0.1:{port}/hook"
        yield hook
    finally:
        await runner.cleanup()


async def test_webhook_delivery_with_secret(env: Env) -> None:
    async with webhook_endpoint() as hook:
        assert await env.bot.set_webhook(hook.url, secret_token="s3cret")
        info = await env.bot.get_webhook_info()
        assert info.url == hook.url

        update = await user_says(env.api, ALICE, "over the hook")
        await hook.wait_for(1)
        headers, body = hook.received[0]
        assert headers[SECRET_HEADER] == "s3cret"
        assert body == update
        assert Update.de_json(body, env.bot).message is not None

        await env.api.wait_until(lambda: not env.api.updates)  # confirmed once it answered 200
        assert (await env.bot.get_webhook_info()).pending_update_count == 0
        assert env.server.webhook_deliveries == [(update["update_id"], 200)]
        assert (await env.bot.get_webhook_info()).last_error_message is None

        with pytest.raises(Conflict, match=r"^Conflict: can't use getUpdates method"):
            await env.bot.get_updates()

        assert await env.bot.delete_webhook()
        assert await env.bot.get_updates() == ()


async def test_webhook_failure_keeps_the_update_until_it_is_accepted(env: Env) -> None:
    env.server.webhook_retry_seconds = 0.01
    async with webhook_endpoint() as hook:
        hook.status = 500
        await env.bot.set_webhook(hook.url)
        update = await user_says(env.api, ALICE, "retry me")
        await hook.wait_for(1)
        assert SECRET_HEADER not in hook.received[0][0]

        await hook.wait_for(2)  # retried: the first failure is recorded before the retry
        info = await env.bot.get_webhook_info()
        assert info.pending_update_count == 1
        assert info.last_error_message == "Wrong response from the webhook: 500"
        assert info.last_error_date == START

        hook.status = 200
        await env.api.wait_until(lambda: not env.api.updates)
        assert len(env.api.updates) == 0
        assert (await env.bot.get_webhook_info()).pending_update_count == 0
        statuses = [status for update_id, status in env.server.webhook_deliveries]
        assert statuses[-1] == 200
        assert set(statuses[:-1]) == {500}
        assert all(body == update for _, body in hook.received)
        await env.bot.delete_webhook()


# --- callback queries ---------------------------------------------------------------------------


async def test_callback_query_is_answered_once(env: Env) -> None:
    user = env.api.add_user(ALICE, "Alice")
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="yes")]])
    await env.bot.send_message(ALICE, "ok?", reply_markup=markup)
    data = env.api.callback_query(user, env.api.chats[ALICE][-1], "yes")
    assert data["chat_instance"]
    query = CallbackQuery.de_json(data, env.bot)
    assert query.chat_instance == data["chat_instance"]
    assert query.from_user.id == ALICE
    assert isinstance(query.message, Message)
    assert query.message.reply_markup == markup

    assert await env.bot.answer_callback_query(query.id, text="noted")
    assert env.api.events[ALICE][-1].kind == "answer"
    assert env.api.events[ALICE][-1].text == "noted"
    with pytest.raises(BadRequest, match=r"^Query is too old and response timeout expired"):
        await env.bot.answer_callback_query(query.id)
    with pytest.raises(BadRequest, match=re.escape("query id is invalid")):
        await env.bot.answer_callback_query("no-such-query")


async def test_long_poll_ignores_updates_it_filters_out(env: Env) -> None:
    env.api.add_user(ALICE, "Alice")
    await env.bot.get_updates(allowed_updates=["callback_query"])

    async def later() -> int:
        # Wait until the long poll is waiting, then send what it filters, then what it wants.
        await env.api.wait_until(lambda: len(env.api.calls_to("getUpdates")) >= 2)
        await user_says(env.api, ALICE, "filtered out")
        query = env.api.callback_query(env.api.users[ALICE], SentMessage(ALICE, 1, "x"), "ok")
        return await env.api.push_update("callback_query", query)

    updates, wanted = await asyncio.wait_for(
        asyncio.gather(env.bot.get_updates(timeout=5), later()), timeout=4
    )
    assert [u.update_id for u in updates] == [wanted]


async def test_chat_id_and_not_modified_in_telegrams_words(env: Env) -> None:
    env.api.add_user(ALICE, "Alice")
    async with env.http.post(env.url("sendMessage"), json={"chat_id": "@x", "text": "hi"}) as r:
        assert (await r.json())["description"] == "Bad Request: chat not found"
    async with env.http.post(env.url("sendMessage"), json={"text": "hi"}) as r:
        assert (await r.json())["description"] == "Bad Request: chat_id is empty"
    sent = await env.bot.send_message(ALICE, "<b>x</b>", parse_mode=None)
    # Same characters, now read as HTML: the user sees a change, so it is one.
    edited = await env.bot.edit_message_text("<b>x</b>", ALICE, sent.message_id, parse_mode="HTML")
    assert isinstance(edited, Message)
