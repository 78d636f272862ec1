"""The report's charts and HTML page, from hand-made figures with suppressed cells."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest

from bot.content import Content, load_content
from bot.content.instruments import Item
from bot.i18n import Translator, load_catalogs
from bot.services.report import (
    Breakdown,
    Cell,
    CertificateFigures,
    Figures,
    ItemFigures,
    KatFigures,
    Rate,
)
from bot.services.report_render import render_charts, render_html
from tests.conftest import CONTENT_DIR

K = 5
PNG = b"\x89PNG\r\n\x1a\n"
VOID = {"meta", "img", "br", "hr", "link", "input", "source", "wbr", "col", "area", "base"}


@pytest.fixture(autouse=True, scope="module")
def _catalogs() -> None:
    load_catalogs()


def cell(n: int, value: float | None) -> Cell:
    return Cell.of(n, value, K)


def item(content: Content, kind: str, item_id: str) -> Item:
    instrument = content.instrument(kind)
    assert instrument is not None
    found = instrument.item(item_id)
    assert found is not None
    return found


def scale(found: Item, counts: list[int]) -> ItemFigures:
    n = sum(counts)
    mean = sum(p * c for p, c in zip(range(1, 6), counts, strict=True)) / n if n else None
    satisfied = (counts[3] + counts[4]) / n if n else None
    return ItemFigures(
        found,
        n,
        cell(n, mean),
        cell(n, satisfied),
        {str(p): cell(c, float(c)) for p, c in zip(range(1, 6), counts, strict=True)},
    )


def choice(found: Item, counts: dict[str, int], respondents: int) -> ItemFigures:
    return ItemFigures(
        found,
        respondents,
        cell(respondents, None),
        cell(respondents, None),
        {o.id: cell(counts.get(o.id, 0), float(counts.get(o.id, 0))) for o in found.options or []},
    )


def make_figures(content: Content) -> Figures:
    kat = content.instrument("kat")
    assert kat is not None
    facility = {
        q.id: (cell(12, 0.25 + i * 0.05), cell(12 if i else 3, 0.5 + i * 0.04))
        for i, q in enumerate(kat.items)
    }
    return Figures(
        generated_at=datetime(2027, 3, 1, 9, 0, tzinfo=UTC),
        k=K,
        participants=40,
        rates=[
            Rate("kat", "pre", None, 40, cell(30, 0.75)),
            Rate("kat", "pre", "tanger", 14, cell(11, 11 / 14)),
            Rate("kat", "pre", "agadir", 13, cell(3, 3 / 13)),
            Rate("kat", "post", None, 40, cell(20, 0.5)),
            Rate("satisfaction", "intro", None, 40, cell(25, 0.625)),
        ],
        satisfaction=[
            scale(item(content, "satisfaction", "info"), [1, 2, 5, 8, 6]),
            scale(item(content, "satisfaction", "objectives"), [0, 0, 6, 9, 7]),
            # Three respondents only: every figure of this item is suppressed.
            scale(item(content, "satisfaction", "content"), [0, 0, 1, 1, 1]),
        ],
        satisfaction_by_cohort=[
            Breakdown("tanger", cell(12, 4.1)),
            Breakdown("agadir", cell(3, 3.0)),
        ],
        satisfaction_by_gender=[
            Breakdown("female", cell(13, 4.2)),
            Breakdown("male", cell(9, 3.8)),
        ],
        kat=KatFigures(
            maximum=kat.max_score,
            pre_mean=cell(12, 4.5),
            post_mean=cell(12, 7.25),
            improved=cell(12, 0.83),
            normalised_gain=cell(12, 0.5),
            facility=facility,
            by_cohort=[Breakdown("tanger", cell(9, 0.55)), Breakdown("agadir", cell(3, 0.2))],
            by_gender=[Breakdown("female", cell(7, 0.6)), Breakdown("unknown", cell(2, 0.1))],
        ),
        followup=[
            scale(item(content, "followup", "usefulness"), [0, 1, 3, 6, 8]),
            choice(
                item(content, "followup", "frequency"),
                {"never": 1, "rarely": 2, "monthly": 5, "weekly": 6, "daily": 4},
                18,
            ),
            choice(
                item(content, "followup", "topics"),
                {"intro": 9, "module-1": 12, "module-2": 2, "module-3": 7},
                18,
            ),
        ],
        open_answers={
            "most-useful": [f"Réponse <b>{i}</b> & co" for i in range(6)],
            "example": [],
        },
        open_suppressed={"most-useful": False, "example": True, "changes": False},
        certificates=CertificateFigures(
            participants=40,
            participation=cell(22, 22.0),
            success=cell(15, 15.0),
            missing={"attendance": cell(12, 12.0), "quiz": cell(9, 9.0), "plan": cell(4, 4.0)},
        ),
    )


class Checker(HTMLParser):
    """Collects the structure problems and every src and href of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.links: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self.links += [v or "" for k, v in attrs if k in ("src", "href")]
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"unexpected </{tag}> with {self.stack[-3:]}")
            return
        self.stack.pop()


def parse(page: str) -> Checker:
    checker = Checker()
    checker.feed(page)
    checker.close()
    assert checker.problems == []
    assert checker.stack == []
    return checker


def row_of(page: str, text: str) -> str:
    rows: list[str] = [r for r in re.findall(r"<tr>.*?</tr>", page, re.S) if text in r]
    assert len(rows) == 1, text
    return rows[0]


@pytest.fixture(scope="module")
def figures(content: Content) -> Figures:
    return make_figures(content)


@pytest.fixture(scope="module")
def french(figures: Figures, content: Content) -> str:
    return render_html(figures, content, Translator("fr", content.programme.tz))


def test_charts_are_pngs(figures: Figures, content: Content) -> None:
    charts = render_charts(figures, content, Translator("fr", content.programme.tz))
    names = [name for name, _ in charts]
    assert names == [
        "rates.png",
        "satisfaction.png",
        "kat-scores.png",
        "kat-facility.png",
        "followup-usefulness.png",
        "followup-frequency.png",
        "followup-topics.png",
    ]
    for _name, data in charts:
        assert data.startswith(PNG)
        assert len(data) > 10_000


def test_charts_without_data_are_skipped() -> None:
    content = load_content(CONTENT_DIR)
    empty = Figures(datetime(2027, 1, 1, tzinfo=UTC), K, 0)
    t = Translator("fr", content.programme.tz)
    assert render_charts(empty, content, t) == []
    page = render_html(empty, content, t)
    parse(page)
    assert "data:image/png" not in page


def test_html_is_well_formed_and_self_contained(french: str) -> None:
    checker = parse(french)
    assert french.startswith("<!DOCTYPE html>")
    assert all(not link.startswith(("http://", "https://", "//")) for link in checker.links)
    assert "http://" not in french
    assert "https://" not in french
    images = [a for tag, a in checker.tags if tag == "img"]
    assert len(images) == 7
    assert all((a.get("src") or "").startswith("data:image/png;base64,") for a in images)
    viewport = [a for tag, a in checker.tags if tag == "meta" and a.get("name") == "viewport"]
    assert viewport
    assert "width=device-width" in (viewport[0].get("content") or "")
    assert '<html lang="fr" dir="ltr">' in french
    assert "@media print" in french


def test_html_shows_suppressed_cells_as_less_than_k(french: str) -> None:
    # The note, with the threshold (whatever its translation).
    note = re.search(r'<p class="note">(.*?)</p>', french)
    assert note is not None
    assert "&lt; 5" in note.group(1)
    # The item answered by three people: "< 5" everywhere, never its count or mean.
    row = row_of(french, "Adéquation des contenus aux objectifs")
    assert row.count("&lt; 5") == 3
    assert ">3<" not in row
    assert "4,0" not in row
    # A visible item shows its figures in the French format.
    row = row_of(french, "Informations reçues avant l")
    assert ">22<" in row
    assert "&lt; 5" not in row
    # A small cohort's response rate and breakdowns.
    row = row_of(french, 'Agadir</td><td class="num">13<')
    assert row.count("&lt; 5") == 2
    # The open answers: escaped when shown, a note when suppressed.
    assert "Réponse &lt;b&gt;0&lt;/b&gt; &amp; co" in french
    assert "<b>0</b>" not in french
    assert re.search(r'<p class="small">[^<]*&lt; 5', french)


def test_html_sections(french: str) -> None:
    for anchor in ("rates", "level-1", "level-2", "level-3", "certificates"):
        assert f'<section id="{anchor}">' in french
    assert "Tanger" in french
    assert "Formation de mise à niveau" not in french  # an item not in the figures
    assert "Recrutement équitable" in french  # an option of the follow-up's topics


def test_arabic_is_right_to_left(figures: Figures, content: Content) -> None:
    t = Translator("ar", content.programme.tz)
    page = render_html(figures, content, t)
    parse(page)
    assert '<html lang="ar" dir="rtl">' in page
    assert "طنجة" in page
