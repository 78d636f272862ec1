"""Simulated Telegram users that talk to a Relais application through the offline API.

Tests read like a chat transcript: ``await amina.send("/me")``, check the reply,
``await amina.press("العربية")``, check the edited message and the database.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from telegram import Update

from bot.sandbox.offline import OfflineBotAPI, SentMessage

_update_ids = itertools.count(1)
_query_ids = itertools.count(1)


@dataclass
class Turn:
    """What the bot did in the chat in answer to one update."""

    sent: list[SentMessage]
    edited: list[SentMessage]
    answers: list[dict[str, Any]]

    @property
    def text(self) -> str:
        """Every new message's text, joined by blank lines."""
        return "\n\n".join(m.text for m in self.sent)

    @property
    def last(self) -> SentMessage:
        """The last message sent, or edited if none was sent."""
        if self.sent:
            return self.sent[-1]
        if self.edited:
            return self.edited[-1]
        raise AssertionError("the bot sent nothing")


class SimulatedUser:
    """A Telegram user in a private chat with the bot."""

    def __init__(
        self,
        app: Any,
        api: OfflineBotAPI,
        user_id: int,
        first_name: str = "Amina",
        last_name: str | None = None,
        language_code: str | None = "fr",
    ) -> None:
        self.app, self.api = app, api
        self.user_id = user_id
        self.first_name, self.last_name = first_name, last_name
        self.language_code = language_code
        self._message_ids = itertools.count(1_000)

    @property
    def chat(self) -> list[SentMessage]:
        """The bot's messages as this user sees them now."""
        return self.api.visible(self.user_id)

    def _user_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.user_id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.language_code:
            data["language_code"] = self.language_code
        return data

    def _chat_json(self) -> dict[str, Any]:
        return {"id": self.user_id, "type": "private", "first_name": self.first_name}

    async def _process(self, payload: dict[str, Any]) -> Turn:
        before = {(m.message_id, m.edits) for m in self.api.chats[self.user_id]}
        count = len(self.api.chats[self.user_id])
        answers_before = len(self.api.calls_to("answerCallbackQuery"))
        update = Update.de_json({"update_id": next(_update_ids), **payload}, self.app.bot)
        await self.app.process_update(update)
        messages = self.api.chats[self.user_id]
        sent = messages[count:]
        edited = [
            m for m in messages[:count] if (m.message_id, m.edits) not in before and not m.deleted
        ]
        answers = [c.params for c in self.api.calls_to("answerCallbackQuery")[answers_before:]]
        return Turn(sent, edited, answers)

    async def send(self, text: str) -> Turn:
        """Type a message (a command if it starts with '/') and return the bot's answer."""
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": self.api.now(),
            "chat": self._chat_json(),
            "from": self._user_json(),
            "text": text,
        }
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return await self._process({"message": message})

    async def press(self, label: str, message: SentMessage | None = None) -> Turn:
        """Tap the inline button with this label on ``message`` (default: the latest keyboard)."""
        target = message or next((m for m in reversed(self.chat) if m.buttons), None)
        if target is None:
            raise AssertionError("no message with buttons in the chat")
        for button in (b for row in target.buttons for b in row):
            if button["text"] == label:
                return await self.press_data(button["callback_data"], target)
        raise AssertionError(f"no button {label!r}; buttons are {target.button_texts}")

    async def press_data(self, data: str, message: SentMessage | None = None) -> Turn:
        """Send a callback with arbitrary data, as a modified client could."""
        target = message or (self.chat[-1] if self.chat else None)
        bot_message: dict[str, Any] = {
            "message_id": target.message_id if target else 1,
            "date": self.api.now(),
            "chat": self._chat_json(),
            "from": self.api.bot_user(),
            "text": target.text if target else "",
        }
        if target and target.reply_markup:
            bot_message["reply_markup"] = target.reply_markup
        query = {
            "id": str(next(_query_ids)),
            "from": self._user_json(),
            "chat_instance": f"ci-{self.user_id}",
            "data": data,
            "message": bot_message,
        }
        return await self._process({"callback_query": query})
