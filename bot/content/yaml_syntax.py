"""What a YAML syntax error means for the person who edited the file, and on which line.

ruamel.yaml reports where its parser gave up, in parser terms ("expected <block end>, but
found '<block mapping start>'"), and for an indentation mistake that is often the line after
the one to fix. ``diagnose`` reads the file's lines around that mark and names the likely
culprit; ``explain`` says what to check in the course team's language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from ruamel.yaml.error import MarkedYAMLError

from bot.i18n import FALLBACK_LOCALE, Translator, _

TAB = "tab"
QUOTE = "quote"
BRACKET = "bracket"
DUPLICATE = "duplicate"
INDENT = "indent"
NO_COLON = "no-colon"
UNDER_VALUE = "under-value"
OTHER = "other"

MESSAGES = {
    TAB: _(
        "a tab is used to indent this line; YAML accepts spaces only: replace the tab with spaces"
    ),
    QUOTE: _(
        "the quotation mark %(quote)s opened on this line is never closed: add the closing "
        "%(quote)s at the end of the text"
    ),
    BRACKET: _(
        "the bracket %(bracket)s opened on this line is not closed, or a comma is missing "
        "between its items"
    ),
    DUPLICATE: _(
        "the key %(key)s is written twice in the same block (see line %(other)d): keep one"
    ),
    INDENT: _(
        "this line is indented by %(found)d spaces, but the lines at its level above are "
        "indented by %(expected)d: check the spaces at the start of the line"
    ),
    NO_COLON: _(
        'this line looks like a key without its colon: write it as "key: value" (the error '
        "shows on the next line)"
    ),
    UNDER_VALUE: _(
        "this line is indented under line %(above)d, which already has a value: align it with "
        "line %(above)d, or put the value on its own lines"
    ),
    OTHER: _(
        "the YAML syntax is broken here (%(detail)s): check the indentation (spaces only) and "
        "the quotation marks of this line and of the line before"
    ),
}


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """The line to fix (1-based), the kind of mistake and what the message needs."""

    line: int
    kind: str
    params: dict[str, object] = field(default_factory=dict)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _significant(lines: list[str], before: int) -> list[int]:
    """0-based numbers of the non-blank, non-comment lines above ``before``, nearest first."""
    return [
        n
        for n in range(min(before, len(lines)) - 1, -1, -1)
        if lines[n].strip() and not lines[n].lstrip().startswith("#")
    ]


def _has_value(line: str) -> bool:
    """``key: value`` (a value on the same line), as opposed to ``key:`` opening a block."""
    body = line.strip().removeprefix("- ")
    key, colon, value = body.partition(": ")
    return bool(colon and key and value.strip() and not value.strip().startswith(("|", ">", "#")))


def diagnose(text: str, exc: MarkedYAMLError) -> Diagnosis:
    """Name the likely culprit line of a syntax error, and why."""
    lines = text.splitlines()
    problem = str(exc.problem or "")
    context = str(exc.context or "")
    mark = exc.problem_mark or exc.context_mark
    row = mark.line if mark else 0
    start = exc.context_mark.line if exc.context_mark else row
    if "'\\t'" in problem or "\t" in problem:
        culprit = next(
            (n for n, line in enumerate(lines) if "\t" in line[: _indent(line) + 1]), row
        )
        return Diagnosis(culprit + 1, TAB)
    if "quoted scalar" in context:
        quote = (
            lines[start][exc.context_mark.column]
            if exc.context_mark and start < len(lines)
            else '"'
        )
        return Diagnosis(start + 1, QUOTE, {"quote": quote if quote in "\"'" else '"'})
    if "flow sequence" in context or "flow mapping" in context:
        return Diagnosis(start + 1, BRACKET, {"bracket": "[" if "sequence" in context else "{"})
    if "duplicate key" in problem:
        key = problem.split('"')[1] if problem.count('"') >= 2 else "?"
        first = _first_key_line(lines, key, row)
        return Diagnosis(row + 1, DUPLICATE, {"key": key, "other": first})
    if "could not find expected ':'" in problem:
        return Diagnosis(start + 1, NO_COLON)
    if row >= len(lines):
        return Diagnosis(len(lines) or 1, OTHER, {"detail": problem})
    above = _significant(lines, row)
    # A quote left open runs on to the next line's quote; the parser stops after that.
    for n in [row, *above[:2]]:
        opened = _open_quote(lines[n])
        if opened:
            return Diagnosis(n + 1, QUOTE, {"quote": opened})
    if "mapping values are not allowed" in problem and above:
        previous = lines[above[0]]
        if _indent(lines[row]) > _indent(previous) and _has_value(previous):
            return Diagnosis(row + 1, UNDER_VALUE, {"above": above[0] + 1})
        if ":" not in previous.split("#")[0]:
            return Diagnosis(above[0] + 1, NO_COLON)
    if "expected <block end>" in problem or "mapping values are not allowed" in problem:
        found = _indent(lines[row])
        levels = {_indent(lines[n]) for n in above}
        if levels and found not in levels:
            # The level this line was meant for: the closest one above (the deeper on a tie).
            expected = min(levels, key=lambda level: (abs(level - found), -level))
            return Diagnosis(row + 1, INDENT, {"found": found, "expected": expected})
        if above and _indent(lines[above[0]]) not in {_indent(lines[n]) for n in above[1:]}:
            # This line is where everything else is; the odd one is the line above.
            culprit = above[0]
            siblings = [_indent(lines[n]) for n in above[1:]]
            near = min(siblings, key=lambda level: abs(level - _indent(lines[culprit])))
            return Diagnosis(
                culprit + 1, INDENT, {"found": _indent(lines[culprit]), "expected": near}
            )
    return Diagnosis(row + 1, OTHER, {"detail": problem or context})


def _open_quote(line: str) -> str | None:
    """The quotation mark a value opens and does not close on its line, if any."""
    body = line.strip().removeprefix("- ")
    _, colon, value = body.partition(": ")
    value = (value if colon else body).strip()
    if value[:1] in ("'", '"'):
        quote = value[0]
        rest = (
            value[1:].replace("\\\\", "").replace(f"\\{quote}", "")
            if quote == '"'
            else value[1:].replace("''", "")
        )
        if quote not in rest:
            return quote
    return None


def _first_key_line(lines: list[str], key: str, before: int) -> int:
    for n in range(min(before, len(lines))):
        if lines[n].strip().removeprefix("- ").startswith((f"{key}:", f'"{key}":')):
            return n + 1
    return 1


def explain(diagnosis: Diagnosis, locale: str = FALLBACK_LOCALE) -> str:
    """What to check, in ``locale`` (French by default, the course team's language)."""
    t = Translator(locale, ZoneInfo("UTC"))
    return t.gettext(MESSAGES[diagnosis.kind], **diagnosis.params)
