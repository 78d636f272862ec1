"""What the bot sends through the outbox: one typed message, one serialisation.

An ``OutgoingMessage`` is written by the planner, the nudges, the broadcasts and the
scores card, stored by ``bot.storage.outbox`` and sent by ``bot.sender``. Its content
(text, buttons, a photo or a document) is stored as JSON; its delivery guard is not
content but a rule about the recipient, so it is stored in columns of its own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Button:
    """An inline button: its label and its callback data (see ``bot.callbacks``)."""

    text: str
    data: str


@dataclass(frozen=True, slots=True)
class Guard:
    """Do not send once the recipient's latest attempt at this stage is submitted.

    A supervisor answers once per person they supervise: their guard holds once their
    latest attempt about each supervisee of ``cohorts`` is submitted.
    """

    instrument: str
    stage: str
    cohorts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A text, or a photo or document with ``text`` as its caption, with buttons."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    photo: str | None = None  # a Telegram file id
    document: str | None = None  # a Telegram file id
    unless_submitted: Guard | None = None

    def dumps(self) -> str:
        """The content as stored (the guard goes in its own columns)."""
        body: dict[str, Any] = {"text": self.text}
        if self.buttons:
            body["buttons"] = [
                [{"text": b.text, "data": b.data} for b in row] for row in self.buttons
            ]
        if self.photo is not None:
            body["photo"] = self.photo
        if self.document is not None:
            body["document"] = self.document
        return json.dumps(body, ensure_ascii=False)

    @classmethod
    def loads(cls, body: str, unless_submitted: Guard | None = None) -> OutgoingMessage:
        """The message stored by ``dumps``, with the guard read from its columns."""
        data = json.loads(body)
        return cls(
            text=str(data.get("text") or ""),
            buttons=tuple(
                tuple(Button(str(b["text"]), str(b["data"])) for b in row)
                for row in data.get("buttons") or ()
            ),
            photo=data.get("photo"),
            document=data.get("document"),
            unless_submitted=unless_submitted,
        )
