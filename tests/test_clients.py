"""The files in the programs people open them with: LibreOffice Calc and Chromium.

``make test-clients`` installs both from the distribution's packages (with poppler's
PDF tools and fonts for Arabic) and runs these tests, marked ``clients``; ``make test``
leaves them out. The exports and the report are the demo's own (``relais demo``), so
what is checked is what a newcomer finds in ``demo-output/``.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from fontTools.ttLib import TTCollection, TTFont
from openpyxl import load_workbook

from bot.clock import FixedClock
from bot.content import Content
from bot.i18n import Translator, load_catalogs
from bot.services import export
from bot.storage import Database

pytestmark = pytest.mark.clients

RELAIS = Path(sys.executable).with_name("relais")
TOOLS = ("soffice", "chromium", "pdfinfo", "pdftotext", "pdffonts", "fc-match")
# LibreOffice's CSV filter options: separator, quote, UTF-8 (76), first line; for the
# output, "-1" as the twelfth token writes one file per sheet (LibreOffice 7.2 and later).
CSV_IN_SEMICOLON = "CSV:59,34,76,1"
CSV_OUT = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false"
CSV_OUT_ALL_SHEETS = CSV_OUT + ",-1"
LOCAL_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d$")


@pytest.fixture(scope="module", autouse=True)
def _tools() -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"missing {', '.join(missing)}: run `make test-clients`, which installs them")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``relais demo``'s output folder, produced once for this module."""
    out = tmp_path_factory.mktemp("clients") / "demo-output"
    done = subprocess.run(
        [str(RELAIS), "demo", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return out


def soffice(source: Path, out: Path, convert: str, infilter: str | None = None) -> list[Path]:
    """Convert with LibreOffice headless, in its own profile; the files it wrote."""
    out.mkdir(parents=True, exist_ok=True)
    profile = out / "profile"
    command = [
        "soffice",
        "--headless",
        "--norestore",
        f"-env:UserInstallation={profile.as_uri()}",
        "--convert-to",
        convert,
        "--outdir",
        str(out),
        str(source),
    ]
    if infilter is not None:
        command.insert(-1, f"--infilter={infilter}")
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    written = sorted(p for p in out.glob(f"{source.stem}*.csv"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert written, done.stdout + done.stderr
    return written


def read_csv(path: Path, delimiter: str = ",") -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle, delimiter=delimiter))


def as_text(value: Any) -> str:
    """A cell as LibreOffice writes it to CSV."""
    if value is None:
        return ""
    return str(value)


def trim(rows: list[list[str]]) -> list[list[str]]:
    """Rows without trailing empty cells and without empty trailing rows (both sides differ)."""
    out = []
    for row in rows:
        while row and row[-1] == "":
            row = row[:-1]
        out.append(row)
    while out and not out[-1]:
        out.pop()
    return out


def test_calc_opens_the_demo_workbook_with_every_sheet_value_and_accent(
    demo: Path, tmp_path: Path
) -> None:
    workbook = demo / "export.xlsx"
    written = soffice(workbook, tmp_path, CSV_OUT_ALL_SHEETS)
    book = load_workbook(workbook, read_only=True)
    by_sheet = {p.stem.removeprefix(f"{workbook.stem}-"): p for p in written}
    assert sorted(by_sheet) == sorted(book.sheetnames)
    accents = 0
    for name in book.sheetnames:
        expected = trim(
            [[as_text(v) for v in row] for row in book[name].iter_rows(values_only=True)]
        )
        seen = trim(read_csv(by_sheet[name]))
        assert seen[0] == expected[0], name  # the columns
        assert seen == expected, name
        accents += sum(1 for row in seen for cell in row if any(ord(c) > 127 for c in cell))
    assert accents > 0
    kat = read_csv(by_sheet["kat"])
    assert kat[0][:6] == ["participant", "cohort", "gender", "max_score", "pre_score", "post_score"]
    codebook = read_csv(by_sheet["codebook"])
    assert "answer" in codebook[0]
    assert any("é" in cell for row in codebook for cell in row)


def test_calc_opens_the_demo_csv_with_its_columns_accents_and_times(
    demo: Path, tmp_path: Path
) -> None:
    source = demo / "export.csv"
    (converted,) = soffice(source, tmp_path / "out", CSV_OUT, CSV_IN_SEMICOLON)
    expected = read_csv(source, ";")
    seen = read_csv(converted)
    assert seen[0] == list(export.LONG_COLUMNS)
    assert len(seen) == len(expected) > 1
    for ours, theirs in zip(expected, seen, strict=True):
        for mine, calc in zip(ours, theirs, strict=True):
            if LOCAL_TIME.match(mine):
                assert calc == mine + ":00"  # Calc read it as a date and time, to the minute
            else:
                assert calc == mine
    assert any("é" in cell or "à" in cell for row in seen for cell in row)


async def _hostile(db: Database, clock: FixedClock, content: Content, folder: Path) -> None:
    from tests.test_export import HOSTILE, _hostile_followups

    assert HOSTILE
    await _hostile_followups(db, clock, content)
    load_catalogs()
    t = Translator("fr", content.programme.tz)
    await export.write_csv(db, content, folder / "hostile.csv", export.Filters("followup"), t)
    await export.write_xlsx(db, content, folder / "hostile.xlsx", export.Filters("followup"), t)


async def test_calc_shows_typed_formulas_as_text_and_opens_control_characters(
    db: Database, clock: FixedClock, content: Content, tmp_path: Path
) -> None:
    await _hostile(db, clock, content, tmp_path)
    (from_csv,) = soffice(tmp_path / "hostile.csv", tmp_path / "csv", CSV_OUT, CSV_IN_SEMICOLON)
    values = {row[7] for row in read_csv(from_csv)[1:] if row[5] == "example"}
    assert "'=1+1" in values
    assert '\'=HYPERLINK("http://x","click")' in values
    assert "2" not in values
    assert "click" not in values

    sheets = soffice(tmp_path / "hostile.xlsx", tmp_path / "xlsx", CSV_OUT_ALL_SHEETS)
    answers = next(p for p in sheets if p.stem.endswith("-answers"))
    values = {row[7] for row in read_csv(answers)[1:] if row[5] == "example"}
    assert "=1+1" in values  # text, as typed: Calc did not compute it
    assert "2" not in values
    assert "click" not in values
    assert "Vertical\ufffdtab" in values


def test_calc_would_compute_a_raw_formula(tmp_path: Path) -> None:
    """The check above can fail: without the apostrophe, Calc computes what was typed."""
    raw = tmp_path / "raw.csv"
    raw.write_text("a;b\n=1+1;x\n", encoding="utf-8")
    (converted,) = soffice(raw, tmp_path / "out", CSV_OUT, CSV_IN_SEMICOLON)
    assert read_csv(converted)[1][0] == "2"


# --- The report, printed by Chromium --------------------------------------------------


def print_pdf(html: Path, out: Path) -> Path:
    pdf = out / f"{html.stem}.pdf"
    done = subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
            f"--user-data-dir={out / 'chromium'}",
            f"--print-to-pdf={pdf}",
            html.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "LANG": "C.UTF-8"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert pdf.exists(), done.stderr[-2000:]
    return pdf


def pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    found = re.search(r"^Pages:\s+(\d+)$", info.stdout, re.MULTILINE)
    assert found is not None, info.stdout
    return int(found.group(1))


def text_layer(pdf: Path) -> str:
    done = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, check=True
    )
    return done.stdout.decode("utf-8")


def word_keys(text: str) -> set[str]:
    """Each word as its sorted letters, without direction marks.

    pdftotext gives Arabic ligatures (lam-alef, lam-alef maqsura) back with their letters
    swapped ("الإجابة" as "اإلجابة"): a word is found when the same letters are there.
    """
    plain = "".join(c for c in text if unicodedata.category(c) != "Cf")
    return {"".join(sorted(word)) for word in re.findall(r"\w+", plain)}


def _font_files(pdf: Path) -> Iterator[Path]:
    """The files of the fonts the PDF embeds (subset prefixes dropped), as fontconfig finds them."""
    listing = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True)
    for line in listing.stdout.splitlines()[2:]:
        name = line.split()[0].split("+", 1)[-1]
        match = subprocess.run(
            ["fc-match", "-f", "%{file}", f":postscriptname={name}"],
            capture_output=True,
            text=True,
            check=True,
        )
        yield Path(match.stdout)


def _covered(files: Iterator[Path]) -> set[int]:
    points: set[int] = set()
    for file in files:
        fonts = TTCollection(str(file)).fonts if file.suffix == ".ttc" else [TTFont(str(file))]
        for font in fonts:
            points |= set(font.getBestCmap())
    return points


class _VisibleText(HTMLParser):
    """The text a browser draws: everything but the head, styles and scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("head", "style", "script"):
            self.hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("head", "style", "script"):
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def visible_text(html: Path) -> str:
    parser = _VisibleText()
    parser.feed(html.read_text(encoding="utf-8"))
    return "".join(parser.parts)


def missing_glyphs(pdf: Path, html: Path) -> set[str]:
    """Characters of the page, or of the PDF's text layer, that no embedded font has.

    Chromium draws such a character as an empty box (tofu) from whichever font it tried,
    and may leave it out of the text layer: so the page's own text is checked too.
    """
    covered = _covered(_font_files(pdf))
    return {
        c
        for c in visible_text(html) + text_layer(pdf)
        if not c.isspace() and unicodedata.category(c) not in ("Cc", "Cf") and ord(c) not in covered
    }


@pytest.mark.parametrize(("locale", "html"), [("fr", "report.html"), ("ar", "report-ar.html")])
def test_chromium_prints_the_demo_report_with_every_glyph(
    demo: Path, content: Content, tmp_path: Path, locale: str, html: str
) -> None:
    load_catalogs()
    t = Translator(locale, content.programme.tz)
    kat = content.instrument("kat")
    assert kat is not None
    kat_title = kat.title.get(locale)
    pdf = print_pdf(demo / html, tmp_path)
    # A title page, then one page at least per section (the print stylesheet breaks them).
    assert pages(pdf) >= 6
    text = text_layer(pdf)
    found = word_keys(text)
    for words in (
        t.gettext("Evaluation report"),
        t.gettext("Response rates"),
        t.gettext("Level %(level)d: %(title)s", level=2, title=kat_title),
        t.gettext("Certificates"),
    ):
        assert word_keys(words) <= found, words
    assert "\ufffd" not in text
    assert missing_glyphs(pdf, demo / html) == set()
    if locale == "ar":
        assert any("\u0600" <= c <= "\u06ff" for c in text)


def test_the_glyph_check_sees_a_box(tmp_path: Path) -> None:
    """The check above can fail: a character no installed font has is reported."""
    page = tmp_path / "tofu.html"
    page.write_text(
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body><p>abc \ue000 def</p>'
        "</body></html>",
        encoding="utf-8",
    )
    assert missing_glyphs(print_pdf(page, tmp_path), page) == {"\ue000"}
