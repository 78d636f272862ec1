"""Simulated Telegram users: what a person does in a private chat with the bot.

Tests and the sandbox read like a chat transcript: ``await amina.send("/me")``,
check the reply, ``await amina.press("العربية")``, check the edited message and
the database. A ``Deliver`` function decides how an update reaches the bot: handed
straight to ``Application.process_update`` (offline tests) or queued in the
emulator for the bot's own polling loop or webhook (sandbox and end-to-end tests);
either way it returns once the bot has finished handling it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from telegram import Update

from bot.sandbox.emulator import BotAPIEmulator, ChatEvent, JSONDict, SentMessage, SimUser, Upload

Deliver = Callable[[str, JSONDict], Awaitable[None]]


class BotBlocked(Exception):
    """A user who blocked the bot cannot write to it, as in Telegram's apps."""


@dataclass
class Turn:
    """What the bot did in the chat in answer to one action of the user."""

    sent: list[SentMessage]
    edited: list[SentMessage]
    answers: list[JSONDict]
    deleted: list[SentMessage]

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

    @classmethod
    def from_events(cls, events: list[ChatEvent]) -> Turn:
        """Group a run of chat events into what was sent, edited, answered and deleted."""
        sent = [e.message for e in events if e.kind == "sent" and e.message]
        edited: list[SentMessage] = []
        for event in events:
            message = event.message
            if event.kind == "edited" and message and message not in sent and message not in edited:
                edited.append(message)
        deleted = [e.message for e in events if e.kind == "deleted" and e.message]
        answers = [{"text": e.text, **e.data} for e in events if e.kind == "answer"]
        return cls(
            sent=[m for m in sent if not m.deleted],
            edited=[m for m in edited if not m.deleted],
            answers=answers,
            deleted=deleted,
        )


def direct_delivery(app: Any, api: BotAPIEmulator) -> Deliver:
    """Hand updates straight to the application's update processor, without any update queue
    (offline tests): concurrent deliveries are ordered per user as in production."""
    counter = iter(range(1, 1 << 62))

    async def deliver(kind: str, payload: JSONDict) -> None:
        update = Update.de_json({"update_id": next(counter), kind: payload}, app.bot)
        await app.update_processor.process_update(update, app.process_update(update))

    return deliver


class SimulatedUser:
    """A Telegram account in a private chat with the bot."""

    def __init__(
        self,
        api: BotAPIEmulator,
        deliver: Deliver,
        user_id: int,
        first_name: str = "Amina",
        *,
        last_name: str | None = None,
        language_code: str | None = "fr",
    ) -> None:
        self.api, self.deliver = api, deliver
        self.account: SimUser = api.users.get(user_id) or api.add_user(
            user_id, first_name, last_name=last_name, language_code=language_code
        )

    @property
    def user_id(self) -> int:
        return self.account.user_id

    @property
    def chat(self) -> list[SentMessage]:
        """The bot's messages as this user sees them now."""
        return self.api.visible(self.user_id)

    @property
    def events(self) -> list[ChatEvent]:
        """Everything that happened in this chat, the user's own messages included."""
        return self.api.events[self.user_id]

    def _check_unblocked(self) -> None:
        if self.account.blocked:
            raise BotBlocked(f"{self.account.first_name} blocked the bot; unblock it first")

    async def _turn(self, kind: str, payload: JSONDict, mark: int) -> Turn:
        await self.deliver(kind, payload)
        bot_events = [e for e in self.events[mark:] if e.kind != "user"]
        return Turn.from_events(bot_events)

    async def send(self, text: str) -> Turn:
        """Type a message (a command if it starts with '/') and return the bot's answer."""
        self._check_unblocked()
        mark = len(self.events)
        return await self._turn("message", self.api.user_message(self.account, text), mark)

    async def send_document(self, content: bytes, file_name: str, caption: str = "") -> Turn:
        """Upload a document, as from the paperclip menu."""
        self._check_unblocked()
        mark = len(self.events)
        upload = Upload(content, file_name, "application/octet-stream")
        return await self._turn(
            "message", self.api.user_document(self.account, upload, caption), mark
        )

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
        self._check_unblocked()
        target = message or (self.chat[-1] if self.chat else None)
        if target is None:
            target = SentMessage(self.user_id, 1, "…", date=self.api.now())
        mark = len(self.events)
        query = self.api.callback_query(self.account, target, data)
        return await self._turn("callback_query", query, mark)

    async def block(self) -> Turn:
        """Block the bot: its messages now fail with 403, and it is told so."""
        self.account.blocked = True
        mark = len(self.events)
        update = self.api.chat_member_update(self.account, "member", "kicked")
        return await self._turn("my_chat_member", update, mark)

    async def unblock(self) -> Turn:
        """Unblock the bot (Telegram then sends nothing until the user writes)."""
        self.account.blocked = False
        mark = len(self.events)
        update = self.api.chat_member_update(self.account, "kicked", "member")
        return await self._turn("my_chat_member", update, mark)
