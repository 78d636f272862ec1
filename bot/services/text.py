"""Text typed by people, made safe to store: no control characters, only ``\\n`` line breaks.

A control character (NUL, ESC, a form feed…) or a lone surrogate pasted into a message
is invisible in the chat but breaks the files made later (CSV, XLSX, the report), so it
is removed at input. Newlines and tabs are kept; every line break becomes ``\\n``.
"""

from __future__ import annotations

import re
import unicodedata

# \r\n and lone \r, and the Unicode line and paragraph separators, all mean "new line".
_LINE_BREAKS = re.compile("\r\n|[\r\u2028\u2029\x85]")
_KEPT = {"\n", "\t"}


def clean_text(text: str) -> str:
    """``text`` without control characters or lone surrogates; newlines and tabs kept."""
    text = _LINE_BREAKS.sub("\n", text)
    return "".join(c for c in text if c in _KEPT or unicodedata.category(c) not in ("Cc", "Cs"))
