"""The plain shapes of a message: buttons in rows, and a text with its keyboard."""

from __future__ import annotations

from dataclasses import dataclass, field

# One button type for screens sent now and messages the outbox sends later.
from bot.outgoing import Button

__all__ = ["Button", "Screen"]


@dataclass(frozen=True, slots=True)
class Screen:
    """A message: its text (Telegram HTML) and its buttons, row by row."""

    text: str
    buttons: list[list[Button]] = field(default_factory=list)
