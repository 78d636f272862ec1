"""Text typed by people, made safe to store: no control characters, only ``\\n`` line breaks.

A control character (NUL, ESC, a form feed…) or a lone surrogate pasted into a message
is invisible in the chat but breaks the files made later (CSV, XLSX, the report), so it
is removed at input. Newlines and tabs are kept; every line break becomes ``\\n``.
"""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser

# \r\n and lone \r, and the Unicode line and paragraph separators, all mean "new line".
_LINE_BREAKS = re.compile("\r\n|[\r\u2028\u2029\x85]")
_KEPT = {"\n", "\t"}


def clean_text(text: str) -> str:
    """``text`` without control characters or lone surrogates; newlines and tabs kept."""
    text = _LINE_BREAKS.sub("\n", text)
    return "".join(c for c in text if c in _KEPT or unicodedata.category(c) not in ("Cc", "Cs"))


# Telegram's limit for a message, counted after its HTML is parsed (in UTF-16 units).
MESSAGE_MAX = 4096
_TAGS = frozenset(
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


class _Entities(HTMLParser):
    """Telegram's HTML subset, checked as Telegram checks it; collects the visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.visible: list[str] = []
        self.open: list[str] = []
        self.problem: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _TAGS:
            self.problem = self.problem or f"unsupported tag <{tag}>"
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.problem = self.problem or f"unexpected </{tag}>"
            return
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.visible.append(data)


def visible_text(html: str) -> tuple[str, str | None]:
    """What Telegram shows of an HTML message, and why it would refuse it (None: it would not)."""
    parser = _Entities()
    parser.feed(html)
    parser.close()
    if parser.open and parser.problem is None:
        parser.problem = f"<{parser.open[-1]}> is never closed"
    return "".join(parser.visible), parser.problem


def telegram_length(text: str) -> int:
    """A text's length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def message_problem(html: str) -> str | None:
    """Why Telegram would refuse this HTML message, in one line; None when it would send it."""
    visible, problem = visible_text(html)
    if problem:
        return f"Telegram would refuse this HTML: {problem} (use &lt; for a literal <)"
    if not visible.strip():
        return "the message is empty"
    length = telegram_length(visible)
    if length > MESSAGE_MAX:
        return f"{length} characters, Telegram's limit is {MESSAGE_MAX}"
    return None
