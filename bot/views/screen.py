"""A screen as plain data: a text and rows of buttons; handlers turn it into Telegram markup."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Button:
    """One inline button: its label and the callback data it sends back."""

    text: str
    data: str


@dataclass(frozen=True, slots=True)
class Screen:
    """A message: HTML text and, optionally, rows of buttons."""

    text: str
    rows: tuple[tuple[Button, ...], ...] = field(default=())
