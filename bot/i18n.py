"""Translations (gettext catalogs through Babel), locale negotiation and date formatting."""

from __future__ import annotations

import gettext
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Literal, get_args
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime, format_time
from babel.lists import format_list
from babel.support import Translations

# The one list of the languages Relais speaks, French first (the programme's language):
# settings, content models, command-line choices and catalogs all read it from here.
LocaleCode = Literal["fr", "en", "ar"]
LOCALES: tuple[str, ...] = get_args(LocaleCode)
# The catalog every other falls back to; the operator's default is RELAIS_DEFAULT_LOCALE.
FALLBACK_LOCALE: LocaleCode = "fr"
DOMAIN = "relais"
LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
RLM = "\u200f"
# The locale dates are written in: Moroccan Arabic names the months as Morocco does
# (نونبر، شتنبر، غشت), not as the Mashriq does (نوفمبر، سبتمبر، أغسطس).
DATE_LOCALES = {"ar": "ar_MA"}


class CatalogError(Exception):
    """A catalog is missing or was not compiled."""


def escape(text: str) -> str:
    """Text made safe for Telegram's HTML parse mode (quotes need no escaping there)."""
    return html.escape(text, quote=False)


def _(message: str) -> str:
    """Mark a string for extraction; it is translated later with the reader's locale."""
    return message


@dataclass(frozen=True, slots=True)
class Said:
    """A message kept as a catalog id and its parameters, to say in the reader's language;
    ``str`` gives it in English (logs, the command line's default, tests)."""

    msgid: str
    params: Mapping[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.msgid % dict(self.params) if self.params else self.msgid

    def in_locale(self, locale: str = FALLBACK_LOCALE) -> str:
        """The message in ``locale``."""
        return Translator(locale, ZoneInfo("UTC")).gettext(self.msgid, **self.params)


def said(msgid: str, **params: object) -> Said:
    """A message to say in the reader's language (``msgid`` marked with ``_``)."""
    return Said(msgid, params)


def negotiate_locale(language_code: str | None, default: str) -> str:
    """Pick fr, en or ar from Telegram's ``language_code`` (e.g. ``fr-MA``), else ``default``.

    ``default`` is the operator's ``RELAIS_DEFAULT_LOCALE``: required, so no caller forgets it.
    """
    if language_code:
        try:
            language = Locale.parse(language_code.replace("-", "_")).language
        except (ValueError, UnknownLocaleError):
            language = language_code.split("-")[0].split("_")[0].lower()
        if language in LOCALES:
            return language
    return default if default in LOCALES else FALLBACK_LOCALE


@cache
def _load(locale: str, directory: Path) -> gettext.NullTranslations:
    mo = directory / locale / "LC_MESSAGES" / f"{DOMAIN}.mo"
    if not mo.is_file():
        raise CatalogError(
            f"catalog {mo.relative_to(directory.parent)} is missing: run 'make catalogs'"
        )
    with mo.open("rb") as handle:
        translations = Translations(handle, domain=DOMAIN)
    if locale != FALLBACK_LOCALE:
        # A string not yet translated shows in French, the programme's language.
        translations.add_fallback(_load(FALLBACK_LOCALE, directory))
    return translations


def load_catalogs(directory: Path = LOCALES_DIR) -> None:
    """Load every catalog now, so a missing one stops start-up instead of a reply."""
    for locale in LOCALES:
        _load(locale, directory)


@dataclass(frozen=True)
class Translator:
    """Everything a handler needs to speak one locale."""

    locale: str
    tz: ZoneInfo
    directory: Path = LOCALES_DIR

    @property
    def date_locale(self) -> str:
        """The Babel locale for dates and times (ar_MA for Arabic)."""
        return DATE_LOCALES.get(self.locale, self.locale)

    @property
    def _catalog(self) -> gettext.NullTranslations:
        return _load(self.locale, self.directory)

    def gettext(self, message: str, **params: object) -> str:
        """Translate and fill ``%(name)s`` placeholders."""
        text = self._catalog.gettext(message)
        return text % params if params else text

    def ngettext(self, singular: str, plural: str, n: int, /, **params: object) -> str:
        """Translate with the locale's plural rules (Arabic has six forms); ``n=`` in
        ``params`` writes the count another way (e.g. "1 240")."""
        text = self._catalog.ngettext(singular, plural, n)
        return text % {"n": n, **params}

    def moment(self, value: datetime) -> str:
        """A date and time in the programme's zone, e.g. 'mercredi 13 janvier 2027 à 10:00'."""
        local = value.astimezone(self.tz)
        return self.gettext(
            "%(date)s at %(time)s",
            date=format_date(local, format="full", locale=self.date_locale),
            time=format_time(local, format="HH:mm", locale=self.date_locale),
        )

    def date(self, value: datetime) -> str:
        """A date in the programme's zone, in full."""
        return format_date(value.astimezone(self.tz), format="full", locale=self.date_locale)

    def time(self, value: datetime) -> str:
        """A time of day in the programme's zone."""
        return format_time(value.astimezone(self.tz), format="HH:mm", locale=self.date_locale)

    def short_datetime(self, value: datetime) -> str:
        """A compact date and time for lists."""
        return format_datetime(
            value.astimezone(self.tz), format="medium", tzinfo=self.tz, locale=self.date_locale
        )

    def list(self, items: Sequence[str]) -> str:
        """Items joined as the language writes a list ("a, b et c"; Arabic uses its comma)."""
        return format_list(list(items), locale=self.locale) if items else ""

    def bidi(self, text: str) -> str:
        """Make Arabic text display right to left where a line starts with a digit or Latin."""
        return rtl_lines(text) if self.locale == "ar" else text


def _first_visible(line: str) -> str:
    # Skip HTML tags and spaces: Telegram renders "<b>10:00</b>" starting with "1".
    inside = False
    for char in line:
        if char == "<":
            inside = True
        elif char == ">" and inside:
            inside = False
        elif not inside and not char.isspace():
            return char
    return ""


def rtl_lines(text: str) -> str:
    """Prefix U+200F to each line whose first visible character is a digit or Latin text."""
    out = []
    for line in text.split("\n"):
        first = _first_visible(line)
        if first and first != RLM and (first.isdigit() or first.isascii() or _is_latin(first)):
            line = RLM + line
        out.append(line)
    return "\n".join(out)


def _is_latin(char: str) -> bool:
    return char.isalpha() and "\u0000" <= char <= "\u024f"
