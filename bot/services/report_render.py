"""Render the evaluation report: PNG charts for Telegram and one self-contained HTML page.

Charts are drawn with matplotlib's object API on the Agg canvas (no pyplot, so no global
figure registry and no GUI backend). The renderer shows only what ``bot.services.report``
let through: a hidden figure arrives as ``None`` and is written as "hidden", in the tables
and the charts alike, so no number the disclosure rules withheld can appear here.
"""

from __future__ import annotations

import base64
import functools
import html
import io
import re
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import arabic_reshaper
import matplotlib
from babel.numbers import format_decimal, format_percent
from bidi import get_display
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter

from bot.content import Content
from bot.content.instruments import Item
from bot.i18n import Translator
from bot.services.report import (
    MEAN_DECIMALS,
    Band,
    Breakdown,
    Figures,
    ItemFigures,
    KatFigures,
    RateRow,
    StageFigures,
)

FONTS = Path(__file__).resolve().parent.parent / "assets" / "fonts"
# 8 inches at 135 dpi: 1080 px, the width a phone shows a photo at without scaling up.
WIDTH_IN = 8.0
DPI = 135
FONT = 14
TITLE_FONT = 18
MAX_HEIGHT_IN = 40.0
LABEL_WIDTH = 28
LABEL_LINES = 3
# Ratings 1 to 5, red to blue (readable by the colour-blind, light enough for the labels).
SCALE_COLOURS = ("#d7191c", "#fdae61", "#ffffbf", "#abd9e9", "#2c7bb6")
SERIES_COLOURS = ("#1b4f72", "#e67e22", "#27ae60", "#8e44ad", "#c0392b", "#7f8c8d")
BEFORE_COLOUR = "#9ecae1"
AFTER_COLOUR = "#08519c"
BAR_COLOUR = "#2c7bb6"
MUTED = "#555555"


@dataclass(frozen=True, slots=True)
class _Chart:
    """One rendered chart and where the HTML page shows it."""

    name: str
    section: str
    title: str
    png: bytes


# --- formatting -------------------------------------------------------------------------


def _hidden(t: Translator) -> str:
    """How a withheld figure reads."""
    return t.gettext("hidden")


def _count(n: float, t: Translator) -> str:
    """A whole number in the reader's locale."""
    return format_decimal(int(n), locale=t.locale)


def _percent(value: float, t: Translator) -> str:
    """A share as a rounded percentage in the reader's locale."""
    return format_percent(value, locale=t.locale)


def _decimal(value: float, t: Translator, digits: int = MEAN_DECIMALS) -> str:
    """A number with a fixed count of decimals in the reader's locale."""
    return format_decimal(value, format="#,##0." + "0" * digits, locale=t.locale)


def _or_hidden(value: float | None, t: Translator, fmt: Callable[[float], str]) -> str:
    """A figure as plain text, or "hidden"."""
    return _hidden(t) if value is None else fmt(value)


def _wrap(text: str, width: int = LABEL_WIDTH, lines: int = LABEL_LINES) -> str:
    """Wrap a label on a few lines, ending with an ellipsis when it is cut."""
    wrapped = textwrap.wrap(" ".join(text.split()), width) or [""]
    if len(wrapped) > lines:
        wrapped = wrapped[:lines]
        wrapped[-1] = textwrap.shorten(wrapped[-1] + " …", width, placeholder=" …")
        if not wrapped[-1].endswith("…"):
            wrapped[-1] += " …"
    return "\n".join(_shape(line) for line in wrapped)


ARABIC = re.compile("[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")


def _shape(text: str) -> str:
    """Arabic text as matplotlib must draw it: letters joined, in visual order (matplotlib
    has no text shaping of its own); other text unchanged."""
    if not ARABIC.search(text):
        return text
    return str(get_display(arabic_reshaper.reshape(text)))


@functools.cache
def _fonts() -> None:
    """Draw Arabic with the Noto font the package ships, Latin with matplotlib's own."""
    for name in ("NotoNaskhArabic-Regular.ttf", "NotoNaskhArabic-Bold.ttf"):
        font_manager.fontManager.addfont(str(FONTS / name))
    matplotlib.rcParams["font.family"] = ["DejaVu Sans", "Noto Naskh Arabic"]


def _instrument_title(content: Content, kind: str, t: Translator) -> str:
    """The questionnaire's title in the reader's language."""
    instrument = content.instrument(kind)
    return instrument.title.get(t.locale) if instrument is not None else kind


def _stage_title(content: Content, kind: str, stage: str, t: Translator) -> str:
    """The stage's title in the reader's language."""
    instrument = content.instrument(kind)
    found = instrument.stage(stage) if instrument is not None else None
    return found.title.get(t.locale) if found is not None else stage


def _cohorts_name(content: Content, cohorts: Sequence[str], t: Translator) -> str:
    """One cohort's name, several pooled ones joined with "+", or "All cohorts"."""
    if not cohorts:
        return t.gettext("All cohorts")
    names = []
    for cohort in cohorts:
        found = content.programme.cohort(cohort)
        names.append(found.name.get(t.locale) if found is not None else cohort)
    return " + ".join(names)


def _gender_name(gender: str, t: Translator) -> str:
    """A gender as the roster records it, in words."""
    names = {
        "female": t.gettext("Women"),
        "male": t.gettext("Men"),
        "other": t.gettext("Other"),
        "unknown": t.gettext("Not stated"),
    }
    return names.get(gender, gender)


def _group_name(
    content: Content, breakdown: Breakdown, members: Sequence[str], t: Translator
) -> str:
    """A breakdown row's name: cohorts or genders, pooled ones joined with "+"."""
    if breakdown.dimension == "cohort":
        return _cohorts_name(content, members, t)
    return " + ".join(_gender_name(g, t) for g in members)


def _option_label(item: Item, key: str, t: Translator) -> str:
    """The words of one answer: an option's text, or a scale point with its end labels."""
    if item.type == "scale":
        if item.labels is not None and key == "1":
            return f"1 – {item.labels.low.get(t.locale)}"
        if item.labels is not None and key == "5":
            return f"5 – {item.labels.high.get(t.locale)}"
        return key
    option = item.option(key)
    return option.text.get(t.locale) if option is not None else key


def _band_label(item: Item, band: Band, t: Translator) -> str:
    """A band of answers: one answer's words, a range of ratings, or pooled options."""
    if len(band.categories) == 1:
        return _option_label(item, band.categories[0], t)
    if item.type == "scale":
        return t.gettext("%(low)s to %(high)s", low=band.categories[0], high=band.categories[-1])
    return t.gettext("Other answers (%(n)d options)", n=len(band.categories))


def _reason_name(reason: str, t: Translator) -> str:
    """Why a success certificate is missing, in words."""
    names = {
        "attendance": t.gettext("Attendance"),
        "quiz": t.gettext("Final quiz"),
        "plan": t.gettext("Action plan"),
    }
    return names.get(reason, reason)


# --- charts -----------------------------------------------------------------------------


def _figure(height: float) -> Figure:
    """A phone-width figure on an Agg canvas."""
    _fonts()
    figure = Figure(
        figsize=(WIDTH_IN, min(max(height, 4.0), MAX_HEIGHT_IN)), dpi=DPI, layout="constrained"
    )
    FigureCanvasAgg(figure)
    figure.set_facecolor("white")
    return figure


def _png(figure: Figure) -> bytes:
    """The figure as PNG bytes; the figure is cleared to free its memory."""
    buffer = io.BytesIO()
    try:
        figure.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    finally:
        figure.clear()
    return buffer.getvalue()


def _style(axes: Axes, t: Translator, limit: float = 1.0) -> None:
    """Shared look of horizontal bar charts of shares: percent axis, large fonts, no frame."""
    axes.set_xlim(0, limit)
    ticks = [0.0, 0.25, 0.5, 0.75, 1.0]
    axes.xaxis.set_major_locator(FixedLocator(ticks))
    axes.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: _shape(_percent(v, t))))
    _frame(axes)


def _frame(axes: Axes) -> None:
    """Large tick labels, light grid, no top or right frame."""
    axes.tick_params(axis="both", labelsize=FONT)
    axes.grid(axis="x", color="#dddddd", linewidth=0.8)
    axes.set_axisbelow(True)
    axes.spines["top"].set_visible(False)
    axes.spines["right"].set_visible(False)


def _suppressed(axes: Axes, x: float, y: float, t: Translator, colour: str = MUTED) -> None:
    """Write "hidden" where a withheld bar would be."""
    axes.text(
        x,
        y,
        _shape(_hidden(t)),
        va="center",
        ha="left",
        fontsize=FONT,
        color=colour,
        fontstyle="italic",
    )


def _rows(axes: Axes, labels: Sequence[str], xlabel: str) -> None:
    """Label the bars' rows from the top, show every row and set the axis title."""
    axes.set_yticks(range(len(labels)), list(labels))
    axes.set_ylim(len(labels) - 0.5, -0.5)
    axes.set_xlabel(_wrap(xlabel, 45, 3), fontsize=FONT)


def _value(axes: Axes, x: float, y: float, text: str) -> None:
    """Write a bar's value just after its end."""
    axes.text(x, y, _shape(text), va="center", ha="left", fontsize=FONT)


def _legend(figure: Figure, handles: Sequence[Patch], ncols: int, title: str | None = None) -> None:
    """A legend above the plot, outside the axes."""
    for handle in handles:
        handle.set_label(_shape(str(handle.get_label())))
    legend = figure.legend(
        handles=list(handles),
        loc="outside lower center",
        ncols=ncols,
        fontsize=FONT,
        frameon=False,
        title=None if title is None else _shape(title),
    )
    if title is not None:
        legend.get_title().set_fontsize(FONT)


def _rates_chart(figures: Figures, content: Content, t: Translator) -> _Chart | None:
    """Response rate over the roster of every opened stage: all cohorts, then each row."""
    stages = [r for r in figures.rates if r.total is not None and not r.hidden]
    if not any(r.total is not None and r.total.responded for r in stages):
        return None
    title = t.gettext("Response rates")
    bars: list[tuple[str, RateRow, int]] = []
    for found in stages:
        assert found.total is not None
        label = (
            f"{_instrument_title(content, found.instrument, t)}: "
            f"{_stage_title(content, found.instrument, found.stage, t)}"
        )
        bars.append((label, found.total, 0))
        for g, row in enumerate(found.rows, 1):
            bars.append(("   " + _cohorts_name(content, row.cohorts, t), row, g))
    figure = _figure(1.6 + 0.42 * len(bars))
    axes = figure.add_subplot()
    for y, (_, row, g) in enumerate(bars):
        colour = SERIES_COLOURS[0] if g == 0 else SERIES_COLOURS[1]
        axes.barh(y, row.rate, height=0.7, color=colour)
        _value(axes, row.rate + 0.01, y, _percent(row.rate, t))
    _style(axes, t, 1.2)
    _rows(axes, [_wrap(b[0], 40, 2) for b in bars], t.gettext("Share of the roster who answered"))
    figure.suptitle(_shape(title), fontsize=TITLE_FONT)
    return _Chart("rates.png", "rates", title, _png(figure))


def _stage_chart(stage: StageFigures, t: Translator, name: str) -> _Chart | None:
    """Stacked bands of every rated item of one stage, with its mean."""
    items = [f for f in stage.items if f.item.type == "scale"]
    if not any(f.respondents for f in items):
        return None
    title = stage.stage.title.get(t.locale)
    figure = _figure(2.2 + 0.85 * len(items))
    axes = figure.add_subplot()
    for y, found in enumerate(items):
        if found.respondents is None or found.bands is None:
            _suppressed(axes, 0.01, y, t)
            continue
        left = 0.0
        for band in found.bands:
            if not band.n:
                continue
            width = band.n / found.respondents
            colour = SCALE_COLOURS[
                round(sum(int(c) for c in band.categories) / len(band.categories)) - 1
            ]
            axes.barh(y, width, left=left, height=0.7, color=colour, edgecolor="white")
            if width >= 0.08:
                axes.text(
                    left + width / 2,
                    y,
                    _percent(width, t),
                    ha="center",
                    va="center",
                    fontsize=FONT,
                    color="black",
                )
            left += width
        _value(axes, 1.02, y, _or_hidden(found.mean, t, lambda v: _decimal(v, t)))
    _style(axes, t, 1.16)
    _rows(
        axes,
        [_wrap(f.item.text.get(t.locale)) for f in items],
        t.gettext("Share of respondents; the mean (1-5) is at the end of each bar"),
    )
    figure.suptitle(_wrap(title, 60, 2), fontsize=TITLE_FONT)
    handles = [
        Patch(facecolor=c, edgecolor="#999999", label=str(p))
        for p, c in zip(range(1, 6), SCALE_COLOURS, strict=True)
    ]
    _legend(figure, handles, 5, t.gettext("Rating: 1 (lowest) to 5 (highest)"))
    return _Chart(name, stage.instrument.kind, title, _png(figure))


def _item_chart(found: ItemFigures, t: Translator, name: str) -> _Chart | None:
    """Share of respondents who gave each answer (or band of answers) to one item."""
    if found.respondents is None or (found.bands is None and found.ticked is None):
        return None
    n = found.respondents
    rows: list[tuple[str, float | None]]
    if found.bands is not None:
        rows = [(_band_label(found.item, b, t), b.n / n) for b in found.bands]
    else:
        assert found.ticked is not None
        rows = [
            (_option_label(found.item, o, t), None if c is None else c / n)
            for o, c in found.ticked.items()
        ]
    title = found.item.text.get(t.locale)
    figure = _figure(2.4 + 0.7 * len(rows))
    axes = figure.add_subplot()
    for y, (_, share) in enumerate(rows):
        if share is None:
            _suppressed(axes, 0.01, y, t)
            continue
        axes.barh(y, share, height=0.7, color=BAR_COLOUR)
        _value(axes, share + 0.01, y, _percent(share, t))
    _style(axes, t, 1.2)
    label = t.gettext("Share of respondents (%(n)s respondents)", n=_count(n, t))
    if found.item.type == "multi":
        label += " · " + t.gettext("Several answers possible")
    _rows(axes, [_wrap(r[0]) for r in rows], label)
    figure.suptitle(_wrap(title, 60, 3), fontsize=TITLE_FONT)
    return _Chart(name, "item", title, _png(figure))


def _kat_score_chart(kat: KatFigures, t: Translator) -> _Chart | None:
    """Mean KAT score before and after the training."""
    if kat.people is None or kat.pre_mean is None or kat.post_mean is None:
        return None
    title = t.gettext("Knowledge test: mean score before and after")
    figure = _figure(4.5)
    axes = figure.add_subplot()
    for y, (value, colour) in enumerate(
        ((kat.pre_mean, BEFORE_COLOUR), (kat.post_mean, AFTER_COLOUR))
    ):
        axes.barh(y, value, height=0.6, color=colour)
        _value(
            axes,
            value + kat.maximum * 0.01,
            y,
            f"{_decimal(value, t)} / {_count(kat.maximum, t)}",
        )
    axes.set_xlim(0, kat.maximum * 1.3)
    _frame(axes)
    _rows(
        axes,
        [t.gettext("Before"), t.gettext("After")],
        t.gettext(
            "Mean score out of %(max)s (%(n)s participants who took both tests)",
            max=_count(kat.maximum, t),
            n=_count(kat.people, t),
        ),
    )
    figure.suptitle(_wrap(title, 60, 2), fontsize=TITLE_FONT)
    return _Chart("kat-scores.png", "kat", title, _png(figure))


def _kat_facility_chart(kat: KatFigures, t: Translator) -> _Chart | None:
    """Share of correct answers per question, before and after, as paired bars."""
    if not kat.facility or kat.people is None:
        return None
    title = t.gettext("Knowledge test: correct answers per question")
    figure = _figure(2.2 + 1.0 * len(kat.facility))
    axes = figure.add_subplot()
    for y, found in enumerate(kat.facility):
        for offset, value, colour in (
            (-0.2, found.before, BEFORE_COLOUR),
            (0.2, found.after, AFTER_COLOUR),
        ):
            if value is None:
                _suppressed(axes, 0.01, y + offset, t)
                continue
            axes.barh(y + offset, value, height=0.38, color=colour)
            _value(axes, value + 0.01, y + offset, _percent(value, t))
    _style(axes, t, 1.2)
    _rows(
        axes,
        [_wrap(f"{i}. {f.item.text.get(t.locale)}") for i, f in enumerate(kat.facility, 1)],
        t.gettext("Share of correct answers"),
    )
    figure.suptitle(_wrap(title, 60, 2), fontsize=TITLE_FONT)
    handles = [
        Patch(color=BEFORE_COLOUR, label=t.gettext("Before")),
        Patch(color=AFTER_COLOUR, label=t.gettext("After")),
    ]
    _legend(figure, handles, 2)
    return _Chart("kat-facility.png", "kat", title, _png(figure))


def _stage_charts(stage: StageFigures, t: Translator) -> list[_Chart | None]:
    """The charts of one stage: its rated items together, then each choice item."""
    base = f"{stage.instrument.kind}-{stage.stage.id}"
    found = [_stage_chart(stage, t, f"{base}.png")]
    found += [
        _item_chart(f, t, f"{base}-{f.item.id}.png") for f in stage.items if f.item.type != "scale"
    ]
    return found


def _charts(figures: Figures, content: Content, t: Translator) -> list[_Chart]:
    """Every chart that has data, in the report's order."""
    found: list[_Chart | None] = [_rates_chart(figures, content, t)]
    for stage in figures.satisfaction:
        found += _stage_charts(stage, t)
    if figures.kat is not None:
        found.append(_kat_score_chart(figures.kat, t))
        found.append(_kat_facility_chart(figures.kat, t))
    for stage in figures.followup:
        found += _stage_charts(stage, t)
    return [c for c in found if c is not None]


def render_charts(figures: Figures, content: Content, t: Translator) -> list[tuple[str, bytes]]:
    """The report's charts as (file name, PNG bytes), skipping those without data."""
    return [(chart.name, chart.png) for chart in _charts(figures, content, t)]


# --- HTML -------------------------------------------------------------------------------

CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 60rem; padding: 1rem; color: #1a1a1a; background: #fff;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans Arabic",
  Tahoma, Arial, sans-serif; font-size: 1rem; line-height: 1.5; }
h1 { font-size: 1.6rem; line-height: 1.25; margin: 0 0 .25rem; }
h2 { font-size: 1.3rem; margin: 2rem 0 .5rem; padding-bottom: .25rem;
  border-bottom: 2px solid #2c7bb6; }
h3 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
p { margin: .5rem 0; }
nav ul { padding-inline-start: 1.25rem; margin: .5rem 0; }
a { color: #1b4f72; }
.meta { color: #555; }
.note { border-inline-start: 4px solid #2c7bb6; background: #f3f7fb; padding: .5rem .75rem;
  margin: 1rem 0; }
.table-wrap { overflow-x: auto; -webkit-overflow-scrolling: touch; margin: .5rem 0 1rem; }
table { border-collapse: collapse; min-width: 100%; font-size: .95rem; }
caption { text-align: start; font-weight: 600; padding: .25rem 0; }
th, td { border: 1px solid #ccc; padding: .35rem .55rem; text-align: start; vertical-align: top; }
thead th { background: #eef2f5; }
td.num, th.num { text-align: end; white-space: nowrap; font-variant-numeric: tabular-nums; }
.small { color: #666; font-style: italic; }
figure { margin: 1rem 0; }
img { display: block; max-width: 100%; height: auto; margin: 0 auto; }
figcaption { text-align: center; color: #555; font-size: .9rem; }
ul.answers li { margin: .35rem 0; white-space: pre-wrap; overflow-wrap: anywhere; }
"""

# The printed report (and its PDF): A4, one section per page, no table, chart or note cut
# in two when it fits on a page, headers repeated when a long table does not, nothing to
# click. Kept apart from CSS so that the screen styles can change without touching it.
PRINT_CSS = """
@page { size: A4; margin: 1.5cm; }
@media print {
  html, body { background: #fff; }
  body { max-width: none; padding: 0; font-size: 11pt; line-height: 1.35;
    -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  nav, button, input, select, textarea, [role="button"], .no-print { display: none !important; }
  section { break-before: page; page-break-before: always; }
  .table-wrap { overflow: visible; }
  table { width: 100%; min-width: 0; }
  table, figure, .note { break-inside: avoid; page-break-inside: avoid; }
  thead { display: table-header-group; }
  tr, td, th, img, caption { break-inside: avoid; page-break-inside: avoid; }
  caption, h2, h3 { break-after: avoid; page-break-after: avoid; }
  thead th, .note { background: none; }
  img { max-width: 100%; max-height: 22cm; }
  a { color: inherit; text-decoration: none; }
}
"""


def _e(text: str) -> str:
    """Escape text for HTML, quotes included."""
    return html.escape(text, quote=True)


@dataclass(frozen=True, slots=True)
class _Column:
    """A table column: its header and whether it holds numbers."""

    header: str
    numeric: bool = False


class _Page:
    """Builds the HTML page of one report."""

    def __init__(self, figures: Figures, content: Content, t: Translator) -> None:
        """Draw the charts once; the sections embed them."""
        self.figures = figures
        self.content = content
        self.t = t
        self.k = figures.k
        self.charts = {c.name: c for c in _charts(figures, content, t)}
        self.out: list[str] = []

    # Cells, already escaped.

    def hidden(self) -> str:
        """A withheld figure, with its meaning on hover."""
        hint = self.t.gettext(
            "Fewer than %(k)d people, or it would let one compute such a figure", k=self.k
        )
        return f'<span class="small" title="{_e(hint)}">{_e(_hidden(self.t))}</span>'

    def value(self, value: float | None, fmt: Callable[[float], str]) -> str:
        """A figure, or "hidden"."""
        return self.hidden() if value is None else _e(fmt(value))

    def count(self, n: int | None) -> str:
        """A count of people."""
        return self.value(n, lambda v: _count(v, self.t))

    def percent(self, value: float | None) -> str:
        """A share as a percentage."""
        return self.value(value, lambda v: _percent(v, self.t))

    def mean(self, value: float | None, digits: int = MEAN_DECIMALS) -> str:
        """A mean with a fixed count of decimals."""
        return self.value(value, lambda v: _decimal(v, self.t, digits))

    # Blocks.

    def add(self, fragment: str) -> None:
        """Append raw, already escaped HTML."""
        self.out.append(fragment)

    def para(self, text: str, css: str | None = None) -> None:
        """A paragraph of plain text."""
        attr = f' class="{css}"' if css else ""
        self.add(f"<p{attr}>{_e(text)}</p>")

    def table(self, columns: Sequence[_Column], rows: Sequence[Sequence[str]]) -> None:
        """A table that scrolls sideways on a narrow screen; cells are escaped HTML."""
        numeric = ' class="num"'
        head = "".join(
            f'<th scope="col"{numeric if c.numeric else ""}>{_e(c.header)}</th>' for c in columns
        )
        body = []
        for row in rows:
            cells = []
            for index, (column, value) in enumerate(zip(columns, row, strict=True)):
                tag = "th" if index == 0 else "td"
                scope = ' scope="row"' if index == 0 else ""
                css = numeric if column.numeric else ""
                cells.append(f"<{tag}{scope}{css}>{value}</{tag}>")
            body.append(f"<tr>{''.join(cells)}</tr>")
        self.add(
            f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>"
        )

    def chart(self, name: str) -> None:
        """Embed a chart as a base64 PNG, when it was drawn."""
        chart = self.charts.get(name)
        if chart is None:
            return
        data = base64.b64encode(chart.png).decode("ascii")
        self.add(
            f'<figure><img src="data:image/png;base64,{data}" alt="{_e(chart.title)}">'
            f"<figcaption>{_e(chart.title)}</figcaption></figure>"
        )

    def heading(self, text: str, level: int = 3) -> None:
        """A sub-heading of plain text."""
        self.add(f"<h{level}>{_e(text)}</h{level}>")

    def no_data(self) -> None:
        """Say a section has nothing to show yet."""
        self.para(self.t.gettext("No data yet."), "meta")

    def section(self, anchor: str, title: str) -> None:
        """Open a section (a new printed page)."""
        self.add(f'<section id="{anchor}"><h2>{_e(title)}</h2>')

    def end(self) -> None:
        """Close the section."""
        self.add("</section>")

    # Sections.

    def render(self) -> str:
        """The whole document."""
        t = self.t
        title = self.content.programme.title.get(t.locale)
        heading = t.gettext("Evaluation report")
        rtl = ' dir="rtl"' if t.locale == "ar" else ' dir="ltr"'
        sections = [
            ("rates", t.gettext("Response rates"), self.rates),
            ("level-1", t.gettext("Level 1: satisfaction"), self.satisfaction),
            ("level-2", t.gettext("Level 2: knowledge test"), self.kat),
            ("level-3", t.gettext("Level 3: follow-up"), self.followup),
            ("certificates", t.gettext("Certificates"), self.certificates),
        ]
        self.add("<!DOCTYPE html>")
        self.add(f'<html lang="{_e(t.locale)}"{rtl}>')
        self.add('<head><meta charset="utf-8">')
        self.add('<meta name="viewport" content="width=device-width, initial-scale=1">')
        self.add(f"<title>{_e(heading)} — {_e(title)}</title>")
        self.add(f"<style>{CSS}{PRINT_CSS}</style></head><body>")
        self.add(f"<header><h1>{_e(title)}</h1>")
        self.para(heading, "meta")
        self.para(
            t.gettext("Generated on %(date)s", date=t.moment(self.figures.generated_at)), "meta"
        )
        self.para(
            t.gettext("Participants enrolled: %(n)s", n=_count(self.figures.participants, t)),
            "meta",
        )
        note = t.gettext(
            "Aggregates only. Every figure stands on at least %(k)d people, each counted once."
            ' A figure marked "hidden" stands on fewer, or would let one compute such a figure'
            " from the others. Small groups are shown together (for example two cohorts),"
            " and answers given by few people are pooled with their neighbours (for example"
            ' ratings "1 to 2").',
            k=self.k,
        )
        self.add(f'<p class="note">{_e(note)}</p>')
        if not self.figures.with_open_answers:
            self.para(t.gettext("This version leaves out the typed answers."), "note")
        contents = t.gettext("Contents")
        self.add(f'<nav aria-label="{_e(contents)}"><ul>')
        for anchor, name, _ in sections:
            self.add(f'<li><a href="#{anchor}">{_e(name)}</a></li>')
        self.add("</ul></nav></header><main>")
        for anchor, name, build in sections:
            self.section(anchor, name)
            build()
            self.end()
        self.add("</main></body></html>")
        return "\n".join(self.out) + "\n"

    def rates(self) -> None:
        """Response to every stage over the roster, once it has opened."""
        t = self.t
        if not self.figures.rates:
            self.no_data()
            return
        columns = [
            _Column(t.gettext("Cohort")),
            _Column(t.gettext("On the roster"), True),
            _Column(t.gettext("Enrolled"), True),
            _Column(t.gettext("Responded"), True),
            _Column(t.gettext("Rate (of the roster)"), True),
        ]
        for found in self.figures.rates:
            self.heading(
                f"{_instrument_title(self.content, found.instrument, t)}: "
                f"{_stage_title(self.content, found.instrument, found.stage, t)}"
            )
            if found.total is None:
                self.para(t.gettext("Not open yet."), "meta")
                continue
            rows = []
            for row in [found.total, *found.rows]:
                hidden = found.hidden
                rows.append(
                    [
                        _e(_cohorts_name(self.content, row.cohorts, t)),
                        _e(_count(row.roster, t)),
                        self.hidden() if hidden else self.count(row.enrolled),
                        self.hidden() if hidden else self.count(row.responded),
                        self.hidden() if hidden else self.percent(row.rate),
                    ]
                )
            self.table(columns, rows)
            if found.not_open:
                self.para(
                    t.gettext(
                        "Not open yet for: %(cohorts)s",
                        cohorts=t.list(
                            [_cohorts_name(self.content, [c], t) for c in found.not_open]
                        ),
                    ),
                    "meta",
                )
        self.chart("rates.png")

    def items(self, stage: StageFigures) -> None:
        """Table of rated items: respondents, mean (1-5) and share satisfied (4-5)."""
        t = self.t
        rated = [f for f in stage.items if f.item.type == "scale"]
        if not rated:
            return
        columns = [
            _Column(t.gettext("Item")),
            _Column(t.gettext("Respondents"), True),
            _Column(t.gettext("Mean (1-5)"), True),
            _Column(t.gettext("Satisfied (4-5)"), True),
        ]
        rows = [
            [
                _e(f.item.text.get(t.locale)),
                self.count(f.respondents),
                self.mean(f.mean),
                self.percent(f.satisfied),
            ]
            for f in rated
        ]
        self.table(columns, rows)

    def breakdowns(
        self, found: Sequence[Breakdown], measures: Sequence[tuple[str, str, int]]
    ) -> None:
        """Figures by cohort and by gender; pooled groups are named together."""
        t = self.t
        captions = {"cohort": t.gettext("By cohort"), "gender": t.gettext("By gender")}
        for breakdown in found:
            self.heading(captions.get(breakdown.dimension, breakdown.dimension), 4)
            columns = [
                _Column(t.gettext("Group")),
                _Column(t.gettext("People"), True),
                *(_Column(header, True) for _, header, _ in measures),
            ]
            rows = [
                [
                    _e(_group_name(self.content, breakdown, row.members, t)),
                    self.count(row.n),
                    *(self.mean(row.values.get(key), digits) for key, _, digits in measures),
                ]
                for row in breakdown.rows
            ]
            self.table(columns, rows)

    def distribution(self, found: ItemFigures, chart: str) -> None:
        """One item's answers: people and shares per answer or band, then its chart."""
        t = self.t
        self.heading(found.item.text.get(t.locale), 4)
        if found.respondents is None:
            self.para(t.gettext("Respondents: %(n)s", n=_hidden(t)), "meta")
            return
        facts = [t.gettext("Respondents: %(n)s", n=_count(found.respondents, t))]
        if found.item.type == "scale":
            facts.append(
                t.gettext(
                    "Mean (1-5): %(mean)s", mean=_or_hidden(found.mean, t, lambda v: _decimal(v, t))
                )
            )
        if found.item.type == "multi":
            facts.append(t.gettext("Several answers possible"))
        self.para(" · ".join(facts), "meta")
        columns = [
            _Column(t.gettext("Answer")),
            _Column(t.gettext("People"), True),
            _Column(t.gettext("Share of respondents"), True),
        ]
        n = found.respondents
        if found.bands is not None:
            rows = [
                [_e(_band_label(found.item, b, t)), self.count(b.n), self.percent(b.n / n)]
                for b in found.bands
            ]
        elif found.ticked is not None:
            rows = [
                [
                    _e(_option_label(found.item, o, t)),
                    self.count(c),
                    self.percent(None if c is None else c / n),
                ]
                for o, c in found.ticked.items()
            ]
        else:
            self.para(t.gettext("Answers given by too few people to be shown apart."), "small")
            return
        self.table(columns, rows)
        self.chart(chart)

    def open_answers(self, stage: StageFigures) -> None:
        """The answers to the typed items, without identity, or why they are not shown."""
        t = self.t
        for found in stage.open_answers:
            self.heading(found.item.text.get(t.locale), 4)
            if found.withheld:
                self.para(t.gettext("Typed answers are left out of this version."), "meta")
            elif found.answers is None:
                self.para(
                    t.gettext("Fewer than %(k)d people answered: not shown.", k=self.k), "small"
                )
            else:
                listed = "".join(f"<li>{_e(a)}</li>" for a in found.answers)
                self.add(f'<ul class="answers">{listed}</ul>')

    def stage(self, stage: StageFigures) -> None:
        """One activity (or follow-up stage): its items, breakdowns and typed answers."""
        t = self.t
        self.heading(stage.stage.title.get(t.locale))
        self.para(
            t.gettext(
                "Respondents: %(n)s", n=_or_hidden(stage.respondents, t, lambda v: _count(v, t))
            ),
            "meta",
        )
        if stage.respondents is None:
            return
        base = f"{stage.instrument.kind}-{stage.stage.id}"
        self.items(stage)
        self.chart(f"{base}.png")
        if stage.mean is not None:
            self.para(
                t.gettext(
                    "Mean rating over all items (each person's mean, then the mean of"
                    " people): %(mean)s",
                    mean=_decimal(stage.mean, t),
                ),
                "meta",
            )
        self.breakdowns(stage.breakdowns, [("mean", t.gettext("Mean (1-5)"), MEAN_DECIMALS)])
        for f in stage.items:
            self.distribution(f, f"{base}-{f.item.id}.png")
        self.open_answers(stage)

    def satisfaction(self) -> None:
        """Level 1: one part per activity, then all activities together."""
        t = self.t
        stages = self.figures.satisfaction
        if not stages:
            self.no_data()
            return
        for stage in stages:
            self.stage(stage)
        summary = self.figures.summary
        if summary is None or not summary.rows:
            return
        self.heading(t.gettext("All activities"))
        self.para(
            t.gettext(
                "People who answered at least one of these activities: %(n)s",
                n=_or_hidden(summary.people, t, lambda v: _count(v, t)),
            ),
            "meta",
        )
        columns = [
            _Column(t.gettext("Item")),
            *(_Column(s.title.get(t.locale), True) for s in summary.stages),
            _Column(t.gettext("All activities"), True),
        ]
        rows = [
            [
                _e(row.item.text.get(t.locale)),
                *(self.mean(row.by_stage.get(s.id)) for s in summary.stages),
                self.mean(row.mean),
            ]
            for row in summary.rows
        ]
        self.table(columns, rows)
        self.para(
            t.gettext(
                "Mean ratings (1-5). The last column pools every rating given in the"
                " activities whose mean is shown."
            ),
            "meta",
        )

    def kat(self) -> None:
        """Level 2: scores before and after, gains, correct answers per question."""
        t = self.t
        kat = self.figures.kat
        if kat is None:
            self.no_data()
            return

        def score(v: float) -> str:
            """A mean score out of the maximum."""
            return f"{_decimal(v, t)} / {_count(kat.maximum, t)}"

        columns = [_Column(t.gettext("Figure")), _Column(t.gettext("Value"), True)]
        rows = [
            [_e(t.gettext("People who took both tests")), self.count(kat.people)],
            [_e(t.gettext("Mean score before")), self.value(kat.pre_mean, score)],
            [_e(t.gettext("Mean score after")), self.value(kat.post_mean, score)],
            [_e(t.gettext("Class-average normalised gain ⟨g⟩")), self.mean(kat.class_gain, 2)],
            [_e(t.gettext("Share who improved")), self.percent(kat.improved)],
            [_e(t.gettext("Mean normalised change c")), self.mean(kat.change, 2)],
        ]
        self.table(columns, rows)
        for line in (
            t.gettext(
                "Class-average normalised gain ⟨g⟩ (Hake): the class's gain as a share of what"
                " it had left to learn, (mean after − mean before) / (maximum − mean before)."
            ),
            t.gettext("Share who improved: the people whose score after is higher than before."),
            t.gettext(
                "Normalised change c (Marx and Cummings), per person then averaged: a gain as a"
                " share of what was left to learn, a loss as a share of what was known; people"
                " with the same score of 0 or of the maximum twice are left out."
            ),
        ):
            self.para(line, "meta")
        for c in kat.corrections:
            self.para(
                t.gettext(
                    "Right answer corrected for “%(question)s”: it is “%(key)s”, not “%(was)s”"
                    " (%(reason)s); every score uses the corrected key. Answers re-scored: %(n)s.",
                    question=c.item.text.get(t.locale),
                    was=_option_label(c.item, c.was, t),
                    key=_option_label(c.item, c.key, t),
                    reason=c.reason.get(t.locale),
                    n=_or_hidden(c.answers, t, lambda v: _count(v, t)),
                ),
                "note",
            )
        self.chart("kat-scores.png")
        if kat.facility:
            self.heading(t.gettext("Correct answers per question"))
            columns = [
                _Column(t.gettext("Question")),
                _Column(t.gettext("Before"), True),
                _Column(t.gettext("After"), True),
            ]
            rows = [
                [
                    _e(f"{i}. {f.item.text.get(t.locale)}"),
                    self.percent(f.before),
                    self.percent(f.after),
                ]
                for i, f in enumerate(kat.facility, 1)
            ]
            self.table(columns, rows)
            self.chart("kat-facility.png")
        self.breakdowns(
            kat.breakdowns,
            [
                ("pre", t.gettext("Mean score before"), MEAN_DECIMALS),
                ("post", t.gettext("Mean score after"), MEAN_DECIMALS),
            ],
        )

    def followup(self) -> None:
        """Level 3: each follow-up stage."""
        if not self.figures.followup:
            self.no_data()
            return
        for stage in self.figures.followup:
            self.stage(stage)

    def certificates(self) -> None:
        """Certificates obtained, and what is most often missing for the success certificate."""
        t = self.t
        found = self.figures.certificates
        if found is None:
            self.no_data()
            return
        columns = [
            _Column(t.gettext("Certificate")),
            _Column(t.gettext("People"), True),
            _Column(t.gettext("Share"), True),
        ]
        total = found.participants

        def share(n: int | None) -> float | None:
            return None if n is None or not total else n / total

        rows = [
            [_e(name), self.count(n), self.percent(share(n))]
            for name, n in (
                (t.gettext("Participation certificate"), found.participation),
                (t.gettext("Success certificate"), found.success),
            )
        ]
        self.para(t.gettext("Participants enrolled: %(n)s", n=_count(total, t)), "meta")
        self.table(columns, rows)
        if found.issued:
            self.heading(t.gettext("Certificates issued (approved, not revoked)"))
            self.table(
                columns,
                [
                    [
                        _e(name),
                        self.count(found.issued.get(level)),
                        self.percent(share(found.issued.get(level))),
                    ]
                    for level, name in (
                        ("participation", t.gettext("Participation certificate")),
                        ("success", t.gettext("Success certificate")),
                    )
                ],
            )
        if found.missing:
            self.heading(t.gettext("Most often missing for the success certificate"))
            columns = [
                _Column(t.gettext("Missing")),
                _Column(t.gettext("People"), True),
                _Column(t.gettext("Share"), True),
            ]
            rows = [
                [_e(_reason_name(reason, t)), self.count(n), self.percent(share(n))]
                for reason, n in found.missing.items()
            ]
            self.table(columns, rows)


def render_html(figures: Figures, content: Content, t: Translator) -> str:
    """The whole report as one self-contained HTML page (inline CSS, charts embedded)."""
    return _Page(figures, content, t).render()
