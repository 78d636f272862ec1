"""The plain shapes of a message: buttons in rows, and a text with its keyboard."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Button:
    """An inline button: its label and its callback data (at most 64 bytes, see bot.callbacks).

    The outbox stores its buttons in the same shape (text, data).
    """

    text: str
    data: str


@dataclass(frozen=True, slots=True)
class Screen:
    """A message: its text (Telegram HTML) and its buttons, row by row."""

    text: str
    buttons: list[list[Button]] = field(default_factory=list)
