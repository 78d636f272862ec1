"""Languages: negotiation, catalog completeness, plural forms, dates, right-to-left lines."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import DOMAIN, LOCALES, LOCALES_DIR, RLM, Translator, negotiate_locale, rtl_lines

ROOT = Path(__file__).resolve().parent.parent
CASABLANCA = ZoneInfo("Africa/Casablanca")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("fr", "fr"),
        ("fr-MA", "fr"),
        ("en-US", "en"),
        ("en", "en"),
        ("ar", "ar"),
        ("ar-MA", "ar"),
        ("de", "fr"),
        ("zh-hans", "fr"),
        ("", "fr"),
        (None, "fr"),
        ("not a language", "fr"),
    ],
)
def test_negotiation_falls_back_to_french(code: str | None, expected: str) -> None:
    assert negotiate_locale(code, "fr") == expected


def test_negotiation_honours_the_configured_default() -> None:
    assert negotiate_locale("de", default="ar") == "ar"
    assert negotiate_locale("en-GB", default="ar") == "en"


# Extracted and read once per process: several tests read the same source and catalogs.
@functools.cache
def _source_messages() -> frozenset[str]:
    found: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT / "bot"), method_map=[("**.py", "python")]
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return frozenset(found)


@functools.cache
def _catalog(locale: str) -> Catalog:
    with (LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as handle:
        return read_po(handle, locale=locale)


def test_source_has_messages() -> None:
    assert len(_source_messages()) > 20


@pytest.mark.parametrize("locale", LOCALES)
def test_every_source_message_is_translated(locale: str) -> None:
    catalog = _catalog(locale)
    missing = []
    for msgid in sorted(_source_messages()):
        entry = catalog.get(msgid)
        if entry is None or entry.fuzzy:
            missing.append(msgid)
            continue
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if not all(strings):
            missing.append(msgid)
    assert not missing, f"{locale}: {len(missing)} untranslated (run make update-catalogs): " + (
        "; ".join(m[:40] for m in missing[:5])
    )


@pytest.mark.parametrize("locale", LOCALES)
def test_translations_keep_the_placeholders(locale: str) -> None:
    for entry in _catalog(locale):
        if not entry.id or not entry.string:
            continue
        ids = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        expected = set(PLACEHOLDER.findall(str(ids[-1]))) - {"n"}
        for text in strings:
            assert set(PLACEHOLDER.findall(str(text))) - {"n"} == expected, (locale, entry.id, text)


def test_arabic_has_six_plural_forms() -> None:
    assert _catalog("ar").num_plurals == 6


@pytest.mark.parametrize("locale", LOCALES)
def test_compiled_catalog_loads(locale: str) -> None:
    t = Translator(locale, CASABLANCA)
    text = t.gettext("This button is no longer valid.")
    assert text
    if locale == "fr":
        assert text == "Ce bouton n'est plus valide."


def test_arabic_plural_uses_the_right_form() -> None:
    t = Translator("ar", CASABLANCA)
    forms = {
        n: t.ngettext("Your next session:", "Your next %(n)d sessions:", n) for n in (1, 2, 3, 11)
    }
    assert len(set(forms.values())) >= 3


def test_dates_are_written_in_the_programme_zone_and_language() -> None:
    instant = datetime(2027, 1, 13, 9, 0, tzinfo=UTC)  # 10:00 in Casablanca (UTC+1)
    assert Translator("fr", CASABLANCA).moment(instant) == "mercredi 13 janvier 2027 à 10:00"
    assert Translator("en", CASABLANCA).moment(instant) == "Wednesday, January 13, 2027 at 10:00"
    arabic = Translator("ar", CASABLANCA).moment(instant)
    assert "يناير" in arabic


def test_rtl_marks_only_lines_starting_with_digits_or_latin() -> None:
    text = "مرحبا\n10:00 الجلسة\n<b>Zoom</b> رابط\n\nالعربية"
    lines = rtl_lines(text).split("\n")
    assert lines[0] == "مرحبا"
    assert lines[1] == RLM + "10:00 الجلسة"
    assert lines[2] == RLM + "<b>Zoom</b> رابط"
    assert lines[3] == ""
    assert lines[4] == "العربية"
    assert rtl_lines(rtl_lines(text)) == rtl_lines(text)


def test_bidi_only_applies_to_arabic() -> None:
    assert Translator("fr", CASABLANCA).bidi("10:00 Zoom") == "10:00 Zoom"
    assert Translator("ar", CASABLANCA).bidi("10:00 Zoom") == RLM + "10:00 Zoom"


def test_arabic_dates_use_the_moroccan_month_names() -> None:
    t = Translator("ar", CASABLANCA)
    # 3 November 2027, during the six-month follow-up: نونبر in Morocco, not نوفمبر.
    november = t.moment(datetime(2027, 11, 3, 9, 0, tzinfo=UTC))
    assert "نونبر" in november
    assert "نوفمبر" not in november
    assert "شتنبر" in t.date(datetime(2027, 9, 1, 9, 0, tzinfo=UTC))
    assert "غشت" in t.moment(datetime(2027, 8, 2, 9, 0, tzinfo=UTC))


def test_no_arabic_plural_has_six_identical_forms() -> None:
    for entry in _catalog("ar"):
        if entry.pluralizable and entry.string and any(entry.string):
            assert len(set(entry.string)) > 1, entry.id


def test_an_arabic_count_agrees_with_its_noun_in_each_of_the_six_forms() -> None:
    t = Translator("ar", CASABLANCA)

    def answers(n: int) -> str:
        return t.ngettext(
            "%(n)d answer; participants appear as codes.",
            "%(n)d answers; participants appear as codes.",
            n,
        ).split("؛")[0]

    # zero, one, two, few (3-10), many (11-99), other (100-102…)
    assert [answers(n) for n in (0, 1, 2, 10, 11, 100)] == [
        "لا توجد أي إجابة",
        "إجابة واحدة",
        "إجابتان",
        "10 إجابات",
        "11 إجابةً",
        "100 إجابة",
    ]


def test_french_broadcast_progress_agrees_with_each_count() -> None:
    from bot.services.broadcasts import Progress
    from bot.views.broadcast import progress_text

    t = Translator("fr", CASABLANCA)
    one = progress_text(t, Progress(total=10, sent=3, failed=1, cancelled=0), rate=1.0)
    assert "3 / 10 envoyés · 1 échec · ~1 min restante" in one
    many = progress_text(t, Progress(total=500, sent=0, failed=2, cancelled=0), rate=1.0)
    assert "0 / 500 envoyé · 2 échecs · ~8 min restantes" in many
    done = progress_text(t, Progress(total=2, sent=2, failed=0, cancelled=0), rate=1.0)
    assert "2 envoyés sur 2 · 0 échec" in done


def _arabic_texts(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "ar" and isinstance(value, str):
                yield value
            else:
                yield from _arabic_texts(value)
    elif isinstance(node, list):
        for value in node:
            yield from _arabic_texts(value)


# Words that end like the singular "you/your" suffix (-ka) but are not one.
NOT_ADDRESS = {"ذلك", "تلك", "كذلك", "هناك", "مشارك", "أنابيك", "البنك", "المشترك", "مشترك"}


def test_the_content_addresses_the_reader_in_the_polite_plural_like_the_interface() -> None:
    from ruamel.yaml import YAML

    singular = []
    for path in sorted((ROOT / "conversations").glob("*.yaml")):
        for text in _arabic_texts(YAML(typ="safe").load(path.read_text(encoding="utf-8"))):
            singular += [
                (path.name, word)
                for word in re.findall(r"\w+", text)
                if word.endswith("ك") and word not in NOT_ADDRESS
            ]
    assert singular == []
