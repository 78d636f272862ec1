"""An in-process Telegram Bot API that PTB talks to through its ``BaseRequest`` interface.

It answers the methods Relais uses with responses shaped like Telegram's and keeps
each chat as the user would see it (edits applied), so handler tests and the demo
can read a conversation back. Nothing leaves the process.
"""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram._utils.types import ODVInput
from telegram.request import BaseRequest, RequestData

BOT_ID = 7_000_000_001
BOT_USERNAME = "relais_demo_bot"
BOT_TOKEN = "7000000001:OFFLINE-sandbox-token-not-a-secret"
JSONDict = dict[str, Any]


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
class Call:
    """One Bot API call as PTB made it."""

    method: str
    params: JSONDict


@dataclass
class OfflineBotAPI:
    """State of the fake Telegram server shared by every request object made from it."""

    bot_id: int = BOT_ID
    username: str = BOT_USERNAME
    calls: list[Call] = field(default_factory=list)
    chats: dict[int, list[SentMessage]] = field(default_factory=lambda: defaultdict(list))
    commands: dict[tuple[str, str], list[JSONDict]] = field(default_factory=dict)
    blocked_by: set[int] = field(default_factory=set)
    reject_token: bool = False
    _message_ids: dict[int, itertools.count[int]] = field(
        default_factory=lambda: defaultdict(lambda: itertools.count(1))
    )
    _clock: itertools.count[int] = field(default_factory=lambda: itertools.count(1_800_000_000))

    def request(self) -> OfflineRequest:
        """A PTB request object bound to this server."""
        return OfflineRequest(self)

    def next_message_id(self, chat_id: int) -> int:
        """Message ids count per chat, as Telegram's do in private chats."""
        return next(self._message_ids[chat_id])

    def now(self) -> int:
        """A monotonically increasing Unix time for message dates."""
        return next(self._clock)

    def calls_to(self, method: str) -> list[Call]:
        """Every call of one method, in order."""
        return [c for c in self.calls if c.method == method]

    def visible(self, chat_id: int) -> list[SentMessage]:
        """The bot's messages still shown in a chat."""
        return [m for m in self.chats[chat_id] if not m.deleted]

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
        }

    # --- method implementations -------------------------------------------------------------

    def handle(self, method: str, params: JSONDict) -> tuple[int, JSONDict]:
        """Answer one call the way Telegram would."""
        self.calls.append(Call(method, params))
        if self.reject_token:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        handler = getattr(self, f"_m_{method.lower()}", None)
        if handler is None:
            return 404, {"ok": False, "error_code": 404, "description": f"Not Found: {method}"}
        try:
            result = handler(params)
        except _ApiError as exc:
            return exc.status, {"ok": False, "error_code": exc.status, "description": exc.text}
        return 200, {"ok": True, "result": result}

    def _message_json(self, message: SentMessage) -> JSONDict:
        data: JSONDict = {
            "message_id": message.message_id,
            "date": self.now(),
            "chat": {"id": message.chat_id, "type": "private", "first_name": "User"},
            "from": self.bot_user(),
            "text": message.text,
        }
        if message.reply_markup:
            data["reply_markup"] = message.reply_markup
        return data

    def _find(self, params: JSONDict) -> SentMessage:
        chat_id = int(params["chat_id"])
        message_id = int(params["message_id"])
        for message in self.chats[chat_id]:
            if message.message_id == message_id and not message.deleted:
                return message
        raise _ApiError(400, "Bad Request: message to edit not found")

    def _m_getme(self, params: JSONDict) -> JSONDict:
        return self.bot_user()

    def _m_sendmessage(self, params: JSONDict) -> JSONDict:
        chat_id = int(params["chat_id"])
        if chat_id in self.blocked_by:
            raise _ApiError(403, "Forbidden: bot was blocked by the user")
        text = str(params.get("text", ""))
        if not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            raise _ApiError(400, "Bad Request: message is too long")
        markup = _markup(params.get("reply_markup"))
        message = SentMessage(
            chat_id=chat_id,
            message_id=self.next_message_id(chat_id),
            text=text,
            reply_markup=markup,
            parse_mode=params.get("parse_mode"),
        )
        self.chats[chat_id].append(message)
        return self._message_json(message)

    def _m_senddocument(self, params: JSONDict) -> JSONDict:
        chat_id = int(params["chat_id"])
        message = SentMessage(
            chat_id=chat_id,
            message_id=self.next_message_id(chat_id),
            text=str(params.get("caption", "")),
            document=str(params.get("document", "")),
        )
        self.chats[chat_id].append(message)
        return self._message_json(message)

    def _m_editmessagetext(self, params: JSONDict) -> JSONDict:
        message = self._find(params)
        text = str(params.get("text", ""))
        markup = _markup(params.get("reply_markup"))
        if text == message.text and markup == message.reply_markup:
            raise _ApiError(400, "Bad Request: message is not modified")
        message.text, message.reply_markup = text, markup
        message.parse_mode = params.get("parse_mode")
        message.edits += 1
        return self._message_json(message)

    def _m_editmessagereplymarkup(self, params: JSONDict) -> JSONDict:
        message = self._find(params)
        markup = _markup(params.get("reply_markup"))
        if markup == message.reply_markup:
            raise _ApiError(400, "Bad Request: message is not modified")
        message.reply_markup = markup
        message.edits += 1
        return self._message_json(message)

    def _m_deletemessage(self, params: JSONDict) -> bool:
        self._find(params).deleted = True
        return True

    def _m_answercallbackquery(self, params: JSONDict) -> bool:
        return True

    def _m_sendchataction(self, params: JSONDict) -> bool:
        return True

    def _m_setmycommands(self, params: JSONDict) -> bool:
        key = (_scope_key(params.get("scope")), str(params.get("language_code", "")))
        commands = params.get("commands", [])
        self.commands[key] = json.loads(commands) if isinstance(commands, str) else list(commands)
        return True

    def _m_deletemycommands(self, params: JSONDict) -> bool:
        key = (_scope_key(params.get("scope")), str(params.get("language_code", "")))
        self.commands.pop(key, None)
        return True

    def _m_getmycommands(self, params: JSONDict) -> list[JSONDict]:
        key = (_scope_key(params.get("scope")), str(params.get("language_code", "")))
        return self.commands.get(key, [])

    def _m_deletewebhook(self, params: JSONDict) -> bool:
        return True

    def _m_getupdates(self, params: JSONDict) -> list[JSONDict]:
        return []


class _ApiError(Exception):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status, self.text = status, text


def _markup(value: object) -> JSONDict | None:
    if value is None:
        return None
    if isinstance(value, str):
        decoded: JSONDict = json.loads(value)
        return decoded
    if isinstance(value, dict):
        return value
    raise TypeError(f"unexpected reply_markup {value!r}")


def _scope_key(scope: object) -> str:
    if scope is None:
        return "default"
    data = json.loads(scope) if isinstance(scope, str) else scope
    if isinstance(data, dict):
        return ":".join(str(data[k]) for k in sorted(data))
    return str(data)


class OfflineRequest(BaseRequest):
    """PTB request object that answers from an ``OfflineBotAPI`` instead of the network."""

    def __init__(self, api: OfflineBotAPI) -> None:
        self.api = api

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        status, body = self.api.handle(api_method, params)
        return status, json.dumps(body).encode()
