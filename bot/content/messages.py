"""What ``relais check`` says about content, in the course team's language.

A check keeps its message as a catalog id with parameters (``bot.i18n.Said``); the loader's
``Problem`` shows it in English (``str``), and ``relais check`` in the configured
language (French by default). Pydantic's own errors are said again by their type.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.i18n import Said, _, said


class ContentValueError(ValueError):
    """A model's own check, raised with a message that can be said in French."""

    def __init__(self, message: Said) -> None:
        super().__init__(str(message))
        self.said = message


def _choices(expected: object) -> str:
    # Pydantic writes "'a', 'b' or 'c'" in English: keep the values, not its words.
    values = re.findall(r"'([^']*)'", str(expected))
    return ", ".join(values) if values else str(expected)


def pydantic_said(error: Mapping[str, Any]) -> Said | None:
    """The common pydantic errors said again (others stay in English)."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    found = ctx.get("error")
    if kind == "value_error" and isinstance(found, ContentValueError):
        return found.said
    if kind == "missing":
        return said(_("field required"))
    if kind == "extra_forbidden":
        return said(_("unknown field (check its spelling and its indentation)"))
    if kind == "literal_error":
        return said(
            _("%(value)r is not allowed here; expected %(expected)s"),
            value=error.get("input"),
            expected=_choices(ctx.get("expected", "")),
        )
    if kind == "string_pattern_mismatch":
        return said(
            _("%(value)r is not a valid id: lower-case letters, digits and dashes only"),
            value=error.get("input"),
        )
    if kind == "string_too_long":
        return said(_("too long: at most %(max)s characters"), max=ctx.get("max_length", ""))
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return said(_("a whole number is expected"))
    if kind in ("string_type",):
        return said(_("a text is expected"))
    if kind in ("too_short",):
        return said(_("at least %(min)s expected"), min=ctx.get("min_length", 1))
    return None
