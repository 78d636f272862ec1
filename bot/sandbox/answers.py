"""The KAT's answer key in the sandbox: a course team checks it without playing every test.

Only the terminal sandbox uses this, on what it prints: the real bot never marks an answer.
"""

from __future__ import annotations

from bot.callbacks import parse_tap
from bot.content.instruments import Instrument, Item
from bot.i18n import LOCALES, escape
from bot.sandbox.emulator import SentMessage

# The action of a quiz tap in the questionnaire's callback data (q:<attempt>:<rev>:a:<option>).
ANSWER_ACTION = "a"


def shown_item(message: SentMessage, kat: Instrument) -> Item | None:
    """The quiz question on this screen: its text is printed in bold, in one of the languages."""
    for item in kat.items:
        if item.type != "quiz":
            continue
        if any(f"<b>{escape(item.text.get(loc))}</b>" in message.text for loc in LOCALES):
            return item
    return None


def right_answer_buttons(message: SentMessage, kat: Instrument) -> set[str]:
    """The callback data of the buttons that give the right answer on a KAT screen."""
    item = shown_item(message, kat)
    if item is None or item.answer is None:
        return set()
    right = set()
    for button in (b for row in message.buttons for b in row):
        data = str(button.get("callback_data", ""))
        tap = parse_tap(data)
        if tap is not None and tap.action == ANSWER_ACTION and tap.arg == item.answer:
            right.add(data)
    return right


def answer_key(kat: Instrument, locale: str) -> str:
    """Every quiz question with its options, the right one marked, and its explanation."""
    lines: list[str] = []
    number = 0
    for item in kat.items:
        if item.type != "quiz":
            continue
        number += 1
        lines.append(f"  {number}. [{item.id}] {item.text.get(locale)}")
        for option in item.options or []:
            mark = "✔" if option.id == item.answer else " "
            lines.append(f"     {mark} {option.id}: {option.text.get(locale)}")
        if item.explanation is not None:
            lines.append(f"       {item.explanation.get(locale)}")
        lines.append("")
    return "\n".join(lines) if lines else "  (the KAT has no quiz question)\n"
