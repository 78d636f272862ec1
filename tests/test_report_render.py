"""The report as a reader sees it: the HTML page and the charts, from a stored class."""

from __future__ import annotations

import asyncio
import re
import warnings
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest

from bot.content import Content, load_content
from bot.i18n import Translator, load_catalogs
from bot.services.report import Figures
from bot.views.report import render_charts, render_html
from bot.views.report.charts import Chart, _shape, draw_charts
from tests.conftest import CONTENT_DIR
from tests.test_disclosure import Person, make_people, report_of

PNG = b"\x89PNG\r\n\x1a\n"
VOID = {"meta", "img", "br", "hr", "link", "input", "source", "wbr", "col", "area", "base"}


@pytest.fixture(autouse=True, scope="module")
def _catalogs() -> None:
    load_catalogs()


class _Checker(HTMLParser):
    """Checks that every element is closed in order, and collects tags and links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.links.append(value)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack, f"</{tag}> closes nothing"
        assert self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()


def parse(page: str) -> _Checker:
    checker = _Checker()
    checker.feed(page)
    checker.close()
    assert checker.stack == []
    return checker


@pytest.fixture(scope="module")
def figures() -> Figures:
    content = load_content(CONTENT_DIR)
    # 40 people in Tanger and Marrakech, and 3 in Agadir: a cohort too small to show.
    people = make_people(content, seed=11, size=40, answer_rate=0.9)
    for person in people:
        person.cohort = "tanger" if person.cohort == "agadir" else person.cohort
    small = make_people(content, seed=12, size=3, answer_rate=1.0)
    for person in small:
        person.cohort = "agadir"
    people += small
    people.append(Person("agadir", "female", enrolled=False))
    return asyncio.run(report_of(content, people))


# Drawn once per module and read by several tests: drawing the charts is most of the time.
@pytest.fixture(scope="module")
def french_charts(figures: Figures, content: Content) -> list[Chart]:
    return draw_charts(figures, content, Translator("fr", content.programme.tz))


@pytest.fixture(scope="module")
def french_page(figures: Figures, content: Content, french_charts: list[Chart]) -> str:
    return render_html(figures, content, Translator("fr", content.programme.tz), french_charts)


@pytest.fixture(scope="module")
def arabic_charts(figures: Figures, content: Content) -> list[Chart]:
    # Before: every Arabic letter was a missing-glyph box (matplotlib's font has none), which
    # matplotlib only warns about: a warning fails the drawing here.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return draw_charts(figures, content, Translator("ar", content.programme.tz))


def test_charts_are_pngs(french_charts: list[Chart]) -> None:
    charts = [(chart.name, chart.png) for chart in french_charts]
    names = [name for name, _ in charts]
    assert names[0] == "rates.png"
    for stage in ("intro", "module-1", "residential", "workshop"):
        assert f"satisfaction-{stage}.png" in names  # one chart per activity
    assert "kat-scores.png" in names
    assert "kat-facility.png" in names
    for _name, data in charts:
        assert data.startswith(PNG)
        assert len(data) > 10_000


def test_charts_without_data_are_skipped(content: Content) -> None:
    empty = Figures(datetime(2027, 1, 1, tzinfo=UTC), 5, 0)
    t = Translator("fr", content.programme.tz)
    assert render_charts(empty, content, t) == []
    page = render_html(empty, content, t)
    parse(page)
    assert "data:image/png" not in page


def test_html_is_well_formed_and_self_contained(french_page: str) -> None:
    page = french_page
    checker = parse(page)
    assert page.startswith("<!DOCTYPE html>")
    assert all(not link.startswith(("http://", "https://", "//")) for link in checker.links)
    images = [a for tag, a in checker.tags if tag == "img"]
    assert all((a.get("src") or "").startswith("data:image/png;base64,") for a in images)
    assert '<html lang="fr" dir="ltr">' in page
    assert "@media print" in page


def test_the_small_cohort_is_pooled_never_shown_alone(french_page: str) -> None:
    page = french_page
    # Agadir's three people appear only together with another cohort.
    assert "Agadir + " in page or " + Agadir" in page
    assert not re.search(r"<th scope=\"row\">Agadir</th>", page)
    note = re.search(r'<p class="note">(.*?)</p>', page)
    assert note is not None
    assert "5" in note.group(1)


def test_each_activity_has_its_own_part(french_page: str) -> None:
    page = french_page
    for title in ("Module d'introduction (en ligne)", "Atelier final"):
        assert f"<h3>{title.replace(chr(39), '&#x27;')}</h3>" in page
    assert "Toutes les activités" in page or "All activities" in page


def test_arabic_is_right_to_left(
    figures: Figures, content: Content, arabic_charts: list[Chart]
) -> None:
    page = render_html(figures, content, Translator("ar", content.programme.tz), arabic_charts)
    parse(page)
    assert '<html lang="ar" dir="rtl">' in page
    assert "طنجة" in page


def test_arabic_charts_have_every_glyph_joined(arabic_charts: list[Chart]) -> None:
    assert arabic_charts
    # Letters are drawn in their joined (presentation) forms, in visual order.
    assert _shape("نسبة") != "نسبة"
    assert all("\ufe70" <= ch <= "\ufeff" for ch in _shape("نسبة"))
