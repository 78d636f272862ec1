"""The state and methods of a Telegram Bot API server, without any transport.

``BotAPIEmulator`` answers Bot API calls with responses shaped like Telegram's
(dates in seconds, ``from``/``chat`` objects, message ids counting per chat,
Telegram's error descriptions), keeps an update queue for ``getUpdates`` or a
webhook, and holds simulated users and their chats as they see them, edits
included. Two transports share it: ``bot.sandbox.offline`` (a PTB request object,
in process) and ``bot.sandbox.server`` (HTTP on 127.0.0.1). Parameters arrive as
Telegram receives them over HTTP: scalars as strings, objects JSON-encoded.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import math
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http import HTTPStatus
from typing import Any

from bot.clock import Clock, SystemClock

BOT_ID = 7_000_000_001
BOT_USERNAME = "relais_demo_bot"
BOT_TOKEN = "7000000001:OFFLINE-sandbox-token-not-a-secret"
JSONDict = dict[str, Any]

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
# Telegram's own update types; getUpdates filters on these names.
DEFAULT_UPDATE_TYPES = frozenset(
    {"message", "edited_message", "callback_query", "my_chat_member", "channel_post"}
)
SENDING_METHODS = frozenset({"sendmessage", "senddocument", "sendphoto", "sendmediagroup"})
# Telegram counts edits against the per-chat limit, not against the bulk ceiling.
EDITING_METHODS = frozenset(
    {"editmessagetext", "editmessagereplymarkup", "editmessagecaption", "editmessagemedia"}
)


class ApiError(Exception):
    """A refusal in Telegram's words: HTTP status, description, optional ``retry_after``."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.retry_after = status, description, retry_after

    def body(self) -> JSONDict:
        """The JSON Telegram answers with."""
        data: JSONDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            data["parameters"] = {"retry_after": self.retry_after}
        return data


@dataclass
class Upload:
    """A file sent to the emulator by the bot or a user."""

    content: bytes
    file_name: str | None = None
    mime_type: str | None = None


@dataclass
class StoredFile:
    """A file the emulator can serve through ``getFile`` and the file URL."""

    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes
    file_name: str | None
    mime_type: str | None


@dataclass
class SentMessage:
    """A message the bot sent, as it currently looks in the chat."""

    chat_id: int
    message_id: int
    text: str
    reply_markup: JSONDict | None = None
    parse_mode: str | None = None
    deleted: bool = False
    edits: int = 0
    document: str | None = None
    photo: str | None = None
    date: int = 0

    @property
    def buttons(self) -> list[list[JSONDict]]:
        """Inline keyboard rows, empty when there is none."""
        if not self.reply_markup:
            return []
        rows: list[list[JSONDict]] = self.reply_markup.get("inline_keyboard", [])
        return rows

    @property
    def button_texts(self) -> list[str]:
        """Every inline button's label, row by row."""
        return [button["text"] for row in self.buttons for button in row]


@dataclass
class ChatEvent:
    """Something that happened in a chat, in order: what a transcript shows."""

    kind: str  # sent, edited, deleted, answer, action, user
    message: SentMessage | None = None
    text: str = ""
    data: JSONDict = field(default_factory=dict)


@dataclass
class Call:
    """One Bot API call as the bot made it."""

    method: str
    params: JSONDict


@dataclass
class SimUser:
    """A Telegram account in a private chat with the bot."""

    user_id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "fr"
    blocked: bool = False

    def json(self) -> JSONDict:
        """The ``User`` object Telegram puts in ``from``."""
        data: JSONDict = {"id": self.user_id, "is_bot": False, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            value = getattr(self, key)
            if value:
                data[key] = value
        return data

    def chat_json(self) -> JSONDict:
        """The private ``Chat`` object, whose id is the user's."""
        data: JSONDict = {"id": self.user_id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        return data


@dataclass
class Fault:
    """A failure to inject: ``kind`` is ``error`` (5xx, 429, 403), ``slow``, ``drop``, or
    ``hold`` (the call waits until the test sets ``gate``; ``entered`` is set on arrival)."""

    kind: str
    method: str | None = None
    times: int = 1
    status: int = 502
    delay: float = 0.0
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    entered: asyncio.Event = field(default_factory=asyncio.Event)

    async def hold(self) -> None:
        """For ``hold``: say the call arrived, then wait to be let through."""
        self.entered.set()
        await self.gate.wait()

    def matches(self, method: str) -> bool:
        return self.method is None or self.method.lower() == method.lower()


@dataclass
class RateLimit:
    """At most ``count`` messages per ``seconds``; beyond, 429 with ``retry_after``."""

    count: int
    seconds: float = 1.0


@dataclass
class WebhookConfig:
    """What ``setWebhook`` set, and how delivery is going."""

    url: str
    secret_token: str | None = None
    allowed_updates: list[str] | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None


class BotAPIEmulator:
    """State of the emulated Telegram server shared by every transport and simulated user."""

    def __init__(
        self,
        *,
        token: str = BOT_TOKEN,
        username: str = BOT_USERNAME,
        bot_id: int = BOT_ID,
        clock: Clock | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        global_rate: RateLimit | None = None,
        chat_rate: RateLimit | None = None,
        reject_token: bool = False,
    ) -> None:
        self.token, self.username, self.bot_id = token, username, bot_id
        self.clock: Clock = clock or SystemClock()
        self.monotonic = monotonic
        self.global_rate, self.chat_rate = global_rate, chat_rate
        self.reject_token = reject_token
        self.calls: list[Call] = []
        self.chats: dict[int, list[SentMessage]] = defaultdict(list)
        self.events: dict[int, list[ChatEvent]] = defaultdict(list)
        self.commands: dict[tuple[str, str], list[JSONDict]] = {}
        self.users: dict[int, SimUser] = {}
        self.files: dict[str, StoredFile] = {}
        self.faults: list[Fault] = []
        self.webhook: WebhookConfig | None = None
        self.updates: deque[JSONDict] = deque()
        self.allowed_updates: frozenset[str] = DEFAULT_UPDATE_TYPES
        self.acknowledged = 0
        # Notified on every change a test or a transport may wait for: a call arriving, a call
        # answered, an update queued or confirmed, the emulator closing. Nobody polls.
        self.changed = asyncio.Condition()
        self.closings = 0  # how many times close() was called
        self._notifications: set[asyncio.Task[None]] = set()
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count[int]] = defaultdict(lambda: itertools.count(1))
        self._ids = itertools.count(1)
        # Callback queries waiting for answerCallbackQuery: query id -> chat id.
        self._queries: dict[str, int] = {}
        self._sent_at: deque[float] = deque()
        self._chat_sent_at: dict[int, deque[float]] = defaultdict(deque)

    # --- bookkeeping ----------------------------------------------------------------------------

    def now(self) -> int:
        """Unix time in seconds from the emulator's clock, as Telegram dates are."""
        return int(self.clock.now().timestamp())

    def next_message_id(self, chat_id: int) -> int:
        """Message ids count per chat, as Telegram's do in private chats."""
        return next(self._message_ids[chat_id])

    def calls_to(self, method: str) -> list[Call]:
        """Every call of one method, in order."""
        return [c for c in self.calls if c.method.lower() == method.lower()]

    def visible(self, chat_id: int) -> list[SentMessage]:
        """The bot's messages still shown in a chat."""
        return [m for m in self.chats[chat_id] if not m.deleted]

    @property
    def blocked_by(self) -> set[int]:
        """Ids of the users who blocked the bot."""
        return {u.user_id for u in self.users.values() if u.blocked}

    def bot_user(self) -> JSONDict:
        """The bot as ``getMe`` describes it."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Relais",
            "username": self.username,
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def add_user(
        self,
        user_id: int,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "fr",
    ) -> SimUser:
        """Register a Telegram account that can talk to the bot."""
        user = SimUser(user_id, first_name, last_name, username, language_code)
        self.users[user_id] = user
        return user

    def take_fault(self, method: str) -> Fault | None:
        """The next injected fault for this method, consumed."""
        for fault in self.faults:
            if fault.matches(method):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def inject(self, kind: str, method: str | None = None, **options: Any) -> Fault:
        """Make the next matching call fail (``error``), hang (``slow``) or lose its connection."""
        fault = Fault(kind, method, **options)
        self.faults.append(fault)
        return fault

    async def _notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    def _notify_soon(self) -> None:
        """Notify from synchronous code (the condition's lock is taken in a task)."""
        try:
            task = asyncio.get_running_loop().create_task(self._notify())
        except RuntimeError:
            return  # no loop: nobody can be waiting
        self._notifications.add(task)
        task.add_done_callback(self._notifications.discard)

    async def wait_until(self, check: Callable[[], bool], seconds: float = 5.0) -> None:
        """Wait until ``check()`` holds, looking again at each change; TimeoutError after
        ``seconds`` (a guard against a hang, never the expected path)."""
        async with asyncio.timeout(seconds), self.changed:
            await self.changed.wait_for(check)

    async def close(self) -> None:
        """Release every pending long poll: it answers now, with what is queued (usually
        nothing), so a bot being stopped never waits out its poll's timeout. The emulator
        stays usable: a server started on it again serves new polls as before."""
        self.closings += 1
        await self._notify()

    # --- updates --------------------------------------------------------------------------------

    async def push_update(self, kind: str, payload: JSONDict) -> int:
        """Queue an update for the bot (long polling or webhook) and return its id."""
        update_id = next(self._update_ids)
        self.updates.append({"update_id": update_id, kind: payload})
        await self._notify()
        return update_id

    def _deliverable(self, allowed: frozenset[str]) -> list[JSONDict]:
        return [u for u in self.updates if next(k for k in u if k != "update_id") in allowed]

    def confirm(self, offset: int) -> None:
        """Forget every update below ``offset``, as Telegram does on getUpdates."""
        while self.updates and self.updates[0]["update_id"] < offset:
            self.updates.popleft()
        self.acknowledged = max(self.acknowledged, offset - 1)
        self._notify_soon()

    def drop_filtered(self, allowed: frozenset[str]) -> None:
        """Updates of a type the bot did not ask for are never delivered."""
        kept = [u for u in self.updates if next(k for k in u if k != "update_id") in allowed]
        self.updates = deque(kept)

    # --- dispatch -------------------------------------------------------------------------------

    async def call(
        self, method: str, params: JSONDict, uploads: dict[str, Upload] | None = None
    ) -> tuple[int, JSONDict]:
        """Answer one call as Telegram would: (HTTP status, JSON body)."""
        self.calls.append(Call(method, params))
        if method.lower() == "getupdates":
            await self._notify()  # a test may wait for a long poll to start
        if self.reject_token:
            return 401, ApiError(401, "Unauthorized").body()
        handler = getattr(self, f"_m_{method.lower()}", None)
        if handler is None:
            return 404, ApiError(404, f"Not Found: method {method} is not emulated").body()
        try:
            if method.lower() in SENDING_METHODS | EDITING_METHODS:
                self._check_rate(_chat_id(params), bulk=method.lower() in SENDING_METHODS)
            result = await handler(params, uploads or {})
        except ApiError as exc:
            return exc.status, exc.body()
        except (KeyError, ValueError, TypeError) as exc:
            return 400, ApiError(400, f"Bad Request: {exc}").body()
        await self._notify()
        return 200, {"ok": True, "result": result}

    def _check_rate(self, chat_id: int, *, bulk: bool = True) -> None:
        """429 past the per-chat limit (sends and edits) or the global one (sends only)."""
        now = self.monotonic()
        for limit, window in (
            (self.global_rate, self._sent_at),
            (self.chat_rate, self._chat_sent_at[chat_id]),
        ):
            if limit is None or (window is self._sent_at and not bulk):
                continue
            while window and window[0] <= now - limit.seconds:
                window.popleft()
            if len(window) >= limit.count:
                wait = window[0] + limit.seconds - now
                raise ApiError(
                    429,
                    f"Too Many Requests: retry after {max(1, math.ceil(wait))}",
                    retry_after=max(1, math.ceil(wait)),
                )
        if bulk:
            self._sent_at.append(now)
        self._chat_sent_at[chat_id].append(now)

    # --- helpers for method implementations -----------------------------------------------------

    def _message_json(self, message: SentMessage) -> JSONDict:
        user = self.users.get(message.chat_id)
        chat = (
            user.chat_json()
            if user
            else {"id": message.chat_id, "type": "private", "first_name": "?"}
        )
        data: JSONDict = {
            "message_id": message.message_id,
            "date": message.date,
            "chat": chat,
            "from": self.bot_user(),
        }
        if message.edits:
            data["edit_date"] = self.now()
        if message.document:
            stored = self.files[message.document]
            data["document"] = self._file_json(stored)
            if message.text:
                data["caption"] = message.text
        elif message.photo:
            stored = self.files[message.photo]
            data["photo"] = [{**self._file_json(stored), "width": 640, "height": 640}]
            if message.text:
                data["caption"] = message.text
        else:
            data["text"] = message.text
        if message.reply_markup:
            data["reply_markup"] = message.reply_markup
        return data

    def _file_json(self, stored: StoredFile) -> JSONDict:
        data: JSONDict = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
        }
        if stored.file_name:
            data["file_name"] = stored.file_name
        if stored.mime_type:
            data["mime_type"] = stored.mime_type
        return data

    def store_file(self, upload: Upload, folder: str) -> StoredFile:
        """Keep an uploaded file and give it Telegram-like ids and a download path."""
        n = next(self._ids)
        digest = hashlib.sha256(upload.content).hexdigest()[:16]
        suffix = ""
        if upload.file_name and "." in upload.file_name:
            suffix = "." + upload.file_name.rsplit(".", 1)[-1]
        stored = StoredFile(
            file_id=f"BQAC-{n}-{digest}",
            file_unique_id=f"AgAD{digest[:8]}",
            file_path=f"{folder}/file_{n}{suffix}",
            content=upload.content,
            file_name=upload.file_name,
            # Telegram reports the bare type; parameters such as charset are dropped.
            mime_type=(upload.mime_type or "").split(";")[0].strip() or None,
        )
        self.files[stored.file_id] = stored
        return stored

    def _find(self, params: JSONDict, verb: str = "edit") -> SentMessage:
        chat_id = _chat_id(params)
        message_id = int(params["message_id"])
        for message in self.chats[chat_id]:
            if message.message_id == message_id and not message.deleted:
                return message
        raise ApiError(400, f"Bad Request: message to {verb} not found")

    def _reachable(self, chat_id: int) -> None:
        user = self.users.get(chat_id)
        if user is not None and user.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")

    def _append(self, message: SentMessage) -> JSONDict:
        self.chats[message.chat_id].append(message)
        self.events[message.chat_id].append(ChatEvent("sent", message))
        return self._message_json(message)

    def _file_param(self, name: str, params: JSONDict, uploads: dict[str, Upload]) -> StoredFile:
        """A file the bot sends: a fresh upload, an ``attach://`` part or an existing file id."""
        value = params.get(name)
        if isinstance(value, str) and value.startswith("attach://"):
            upload = uploads.get(value.removeprefix("attach://"))
        else:
            upload = uploads.get(name)
        if upload is not None:
            return self.store_file(upload, "documents" if name == "document" else "photos")
        if isinstance(value, str) and value in self.files:
            return self.files[value]
        raise ApiError(400, f"Bad Request: wrong file identifier/HTTP URL specified ({name})")

    # --- methods --------------------------------------------------------------------------------

    async def _m_getme(self, params: JSONDict, uploads: dict[str, Upload]) -> JSONDict:
        return self.bot_user()

    async def _m_logout(self, params: JSONDict, uploads: dict[str, Upload]) -> bool:
        return True

    async def _m_close(self, params: JSONDict, uploads: dict[str, Upload]) -> bool:
        return True

    async def _m_getupdates(self, params: JSONDict, uploads: dict[str, Upload]) -> list[JSONDict]:
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        if "offset" in params:
            self.confirm(int(params["offset"]))
        if params.get("allowed_updates") not in (None, ""):
            self.allowed_updates = frozenset(_decode(params["allowed_updates"])) or (
                DEFAULT_UPDATE_TYPES
            )
        self.drop_filtered(self.allowed_updates)
        limit = max(1, min(100, int(params.get("limit", 100))))
        timeout = float(params.get("timeout", 0))
        # Long polls wait in real time, whatever clock the rate limits are measured with.
        deadline = time.monotonic() + timeout
        # Updates the bot did not ask for are dropped without ending the long poll.
        closings = self.closings
        while not self.updates and (left := deadline - time.monotonic()) > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left), self.changed:
                    await self.changed.wait_for(
                        lambda: bool(self.updates) or self.closings != closings
                    )
            if self.closings != closings:
                break
            self.drop_filtered(self.allowed_updates)
        return list(self.updates)[:limit]

    async def _m_setwebhook(self, params: JSONDict, uploads: dict[str, Upload]) -> bool:
        url = str(params.get("url", ""))
        if not url:
            self.webhook = None
            return True
        if not url.startswith(("http://127.0.0.1", "http://localhost", "https://")):
            raise ApiError(400, "Bad Request: bad webhook: HTTPS url must be provided for webhook")
        allowed = params.get("allowed_updates")
        self.webhook = WebhookConfig(
            url=url,
            secret_token=params.get("secret_token") or None,
            allowed_updates=_decode(allowed) if allowed not in (None, "") else None,
        )
        if self.webhook.allowed_updates:
            self.allowed_updates = frozenset(self.webhook.allowed_updates)
        if _truthy(params.get("drop_pending_updates")):
            self.updates.clear()
        return True

    async def _m_deletewebhook(self, params: JSONDict, uploads: dict[str, Upload]) -> bool:
        self.webhook = None
        if _truthy(params.get("drop_pending_updates")):
            self.updates.clear()
        return True

    async def _m_getwebhookinfo(self, params: JSONDict, uploads: dict[str, Upload]) -> JSONDict:
        hook = self.webhook
        info: JSONDict = {
            "url": hook.url if hook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self.updates),
        }
        if hook is not None:
            info["max_connections"] = 1
            if hook.allowed_updates:
                info["allowed_updates"] = hook.allowed_updates
            if hook.last_error_date is not None:
                info["last_error_date"] = hook.last_error_date
                info["last_error_message"] = hook.last_error_message
        return info

    async def _m_sendmessage(self, params: JSONDict, uploads: dict[str, Upload]) -> JSONDict:
        chat_id = _chat_id(params)
        self._reachable(chat_id)
        text, parse_mode = _checked_text(params, "message is too long")
        message = SentMessage(
            chat_id=chat_id,
            message_id=self.next_message_id(chat_id),
            text=text,
            reply_markup=_markup(params.get("reply_markup")),
            parse_mode=parse_mode,
            date=self.now(),
        )
        return self._append(message)

    async def _m_senddocument(self, params: JSONDict, uploads: dict[str, Upload]) -> JSONDict:
        return self._send_file("document", params, uploads)

    async def _m_sendphoto(self, params: JSONDict, uploads: dict[str, Upload]) -> JSONDict:
        return self._send_file("photo", params, uploads)

    def _send_file(self, kind: str, params: JSONDict, uploads: dict[str, Upload]) -> JSONDict:
        chat_id = _chat_id(params)
        self._reachable(chat_id)
        caption = str(params.get("caption", ""))
        parse_mode = params.get("parse_mode") or None
        if len(_visible_text(caption, parse_mode)) > MAX_CAPTION:
            raise ApiError(400, "Bad Request: message caption is too long")
        stored = self._file_param(kind, params, uploads)
        message = SentMessage(
            chat_id=chat_id,
            message_id=self.next_message_id(chat_id),
            text=caption,
            reply_markup=_markup(params.get("reply_markup")),
            parse_mode=parse_mode,
            date=self.now(),
            document=stored.file_id if kind == "document" else None,
            photo=stored.file_id if kind == "photo" else None,
        )
        return self._append(message)

    async def _m_sendmediagroup(
        self, params: JSONDict, uploads: dict[str, Upload]
    ) -> list[JSONDict]:
        chat_id = _chat_id(params)
        self._reachable(chat_id)
        media = _decode(params.get("media", "[]"))
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise ApiError(400, "Bad Request: wrong number of messages in the media group")
        sent = []
        for entry in media:
            kind = entry.get("type")
            if kind not in ("photo", "document"):
                raise ApiError(400, f"Bad Request: media type {kind!r} is not emulated")
            fields = {
                kind: entry.get("media"),
                "chat_id": chat_id,
                "caption": entry.get("caption", ""),
            }
            sent.append(self._send_file(kind, fields, uploads))
        return sent

    async def _m_editmessagetext(self, params: JSONDict, uploads: dict[str, Upload]) -> JSONDict:
        message = self._find(params)
        text, parse_mode = _checked_text(params, "MESSAGE_TOO_LONG")
        markup = _markup(params.get("reply_markup"))
        same = (text, parse_mode, markup) == (
            message.text,
            message.parse_mode,
            message.reply_markup,
        )
        if same:
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and "
                "reply markup are exactly the same as a current content and reply markup "
                "of the message",
            )
        message.text, message.reply_markup, message.parse_mode = text, markup, parse_mode
        message.edits += 1
        self.events[message.chat_id].append(ChatEvent("edited", message, text))
        return self._message_json(message)

    async def _m_editmessagereplymarkup(
        self, params: JSONDict, uploads: dict[str, Upload]
    ) -> JSONDict:
        message = self._find(params)
        markup = _markup(params.get("reply_markup"))
        if markup == message.reply_markup:
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and "
                "reply markup are exactly the same as a current content and reply markup "
                "of the message",
            )
        message.reply_markup = markup
        message.edits += 1
        self.events[message.chat_id].append(ChatEvent("edited", message, message.text))
        return self._message_json(message)

    async def _m_deletemessage(self, params: JSONDict, uploads: dict[str, Upload]) -> bool:
        message = self._find(params, "delete")
        message.deleted = True
        self.events[message.chat_id].append(ChatEvent("deleted", message))
        return True

    async def _m_answercallbackquery(self, params: JSONDict, uploads: dict[str, Upload]) -> bool:
        query_id = str(params["callback_query_id"])
        chat_id = self._queries.pop(query_id, None)
        if chat_id is None:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        text = str(params.get("text", ""))
        self.events[chat_id].append(
            ChatEvent("answer", text=text, data={"show_alert": _truthy(params.get("show_alert"))})
        )
        return True

    async def _m_sendchataction(self, params: JSONDict, uploads: dict[str, Upload]) -> bool:
        chat_id = _chat_id(params)
        self._reachable(chat_id)
        self.events[chat_id].append(ChatEvent("action", text=str(params.get("action", ""))))
        return True

    async def _m_getfile(self, params: JSONDict, uploads: dict[str, Upload]) -> JSONDict:
        stored = self.files.get(str(params.get("file_id", "")))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        return {**self._file_json(stored), "file_path": stored.file_path}

    def file_by_path(self, file_path: str) -> StoredFile | None:
        """The file behind a download path, as the file URL serves it."""
        return next((f for f in self.files.values() if f.file_path == file_path), None)

    async def _m_setmycommands(self, params: JSONDict, uploads: dict[str, Upload]) -> bool:
        commands = _decode(params.get("commands", "[]"))
        for command in commands:
            if not 1 <= len(command.get("command", "")) <= 32:
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        self.commands[_command_key(params)] = list(commands)
        return True

    async def _m_deletemycommands(self, params: JSONDict, uploads: dict[str, Upload]) -> bool:
        self.commands.pop(_command_key(params), None)
        return True

    async def _m_getmycommands(
        self, params: JSONDict, uploads: dict[str, Upload]
    ) -> list[JSONDict]:
        return self.commands.get(_command_key(params), [])

    # --- what simulated users do ----------------------------------------------------------------

    def user_message(self, user: SimUser, text: str) -> JSONDict:
        """The ``Message`` a user sends: commands get their ``bot_command`` entity."""
        message: JSONDict = {
            "message_id": self.next_message_id(user.user_id),
            "date": self.now(),
            "chat": user.chat_json(),
            "from": user.json(),
            "text": text,
        }
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        self.events[user.user_id].append(ChatEvent("user", text=text))
        return message

    def user_document(self, user: SimUser, upload: Upload, caption: str = "") -> JSONDict:
        """The ``Message`` carrying a document a user uploads."""
        stored = self.store_file(upload, "documents")
        message: JSONDict = {
            "message_id": self.next_message_id(user.user_id),
            "date": self.now(),
            "chat": user.chat_json(),
            "from": user.json(),
            "document": self._file_json(stored),
        }
        if caption:
            message["caption"] = caption
        self.events[user.user_id].append(
            ChatEvent("user", text=f"[{upload.file_name or 'document'}] {caption}".strip())
        )
        return message

    def callback_query(self, user: SimUser, message: SentMessage, data: str) -> JSONDict:
        """The ``CallbackQuery`` for a tap on a button of ``message``."""
        query_id = str(next(self._ids) * 7919 + user.user_id)
        self._queries[query_id] = user.user_id
        return {
            "id": query_id,
            "from": user.json(),
            "chat_instance": str(-((user.user_id * 31 + self.bot_id) % 10**18)),
            "data": data,
            "message": self._message_json(message),
        }

    def chat_member_update(self, user: SimUser, old: str, new: str) -> JSONDict:
        """The ``ChatMemberUpdated`` Telegram sends when a user blocks or unblocks the bot."""
        bot = self.bot_user()
        return {
            "chat": user.chat_json(),
            "from": user.json(),
            "date": self.now(),
            "old_chat_member": _member(old, bot),
            "new_chat_member": _member(new, bot),
        }


def fault_body(status: int, retry_after: int = 1) -> JSONDict:
    """What an injected error answers: the status and its phrase; 429 says when to retry."""
    if status == 429:
        return ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after).body()
    if status == 403:
        return ApiError(403, "Forbidden: bot was blocked by the user").body()
    return {"ok": False, "error_code": status, "description": HTTPStatus(status).phrase}


def _member(status: str, bot: JSONDict) -> JSONDict:
    """A ``ChatMember`` of the bot; a banned one carries ``until_date`` (0: for ever)."""
    data: JSONDict = {"status": status, "user": bot}
    if status == "kicked":
        data["until_date"] = 0
    return data


def _decode(value: Any) -> Any:
    """Objects arrive JSON-encoded over HTTP and as such from PTB's request data."""
    if isinstance(value, str):
        return json.loads(value)
    return value


def _truthy(value: Any) -> bool:
    return value in (True, "true", "True", "1", 1)


def _markup(value: object) -> JSONDict | None:
    if value in (None, ""):
        return None
    data = _decode(value)
    if not isinstance(data, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    for row in data.get("inline_keyboard", []):
        for button in row:
            callback = button.get("callback_data")
            if callback is not None and not 1 <= len(str(callback).encode()) <= MAX_CALLBACK_DATA:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            if not button.get("text"):
                raise ApiError(
                    400, "Bad Request: text buttons are unallowed in the inline keyboard"
                )
    return data


def _command_key(params: JSONDict) -> tuple[str, str]:
    scope = params.get("scope")
    if scope in (None, ""):
        key = "default"
    else:
        data = _decode(scope)
        key = ":".join(str(data[k]) for k in sorted(data)) if isinstance(data, dict) else str(data)
    return key, str(params.get("language_code") or "")


# Telegram's side of the HTML subset, written apart from the bot's own check
# (bot/services/text.py) on purpose: a fake that shared the bot's checker would accept
# whatever the bot wrongly accepts.
_HTML_TAGS = frozenset(
    [
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "a",
        "code",
        "pre",
        "span",
        "tg-spoiler",
        "tg-emoji",
        "blockquote",
    ]
)


class _EntityParser(HTMLParser):
    """Telegram's HTML subset: unknown or unclosed tags are refused, text is unescaped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _HTML_TAGS:
            raise ApiError(
                400, f'Bad Request: can\'t parse entities: Unsupported start tag "{tag}"'
            )
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            raise ApiError(400, f'Bad Request: can\'t parse entities: Unexpected end tag "{tag}"')
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _chat_id(params: JSONDict) -> int:
    """The target chat, refused in Telegram's words when missing or not a known kind of id."""
    value = params.get("chat_id")
    if value in (None, ""):
        raise ApiError(400, "Bad Request: chat_id is empty")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApiError(400, "Bad Request: chat not found") from None


def _checked_text(params: JSONDict, too_long: str) -> tuple[str, str | None]:
    """A message's text and parse mode, refused as Telegram refuses them."""
    text = str(params.get("text", ""))
    parse_mode = params.get("parse_mode") or None
    visible = _visible_text(text, parse_mode)
    if not visible.strip():
        raise ApiError(400, "Bad Request: message text is empty")
    if len(visible) > MAX_TEXT:
        raise ApiError(400, f"Bad Request: {too_long}")
    return text, parse_mode


def _visible_text(text: str, parse_mode: str | None) -> str:
    """The text the user sees: HTML is checked as Telegram checks it, then stripped."""
    if (parse_mode or "").upper() != "HTML":
        return text
    parser = _EntityParser()
    parser.feed(text)
    parser.close()
    if parser.open:
        raise ApiError(
            400,
            "Bad Request: can't parse entities: Can't find end tag corresponding to start tag "
            f'"{parser.open[-1]}"',
        )
    return "".join(parser.parts)
