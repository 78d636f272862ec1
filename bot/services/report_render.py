"""Render the evaluation report: PNG charts for Telegram and one self-contained HTML page.

Charts are drawn with matplotlib's object API on the Agg canvas (no pyplot, so no global
figure registry and no GUI backend). Every suppressed cell (fewer than ``k``
respondents) shows as "< k", in the tables and in the charts alike: no bar is drawn
for it and its number never appears.
"""

from __future__ import annotations

import base64
import html
import io
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from babel.numbers import format_decimal, format_percent
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter

from bot.content import Content
from bot.content.instruments import Instrument, Item
from bot.i18n import Translator
from bot.services.report import Breakdown, Cell, Figures, ItemFigures, KatFigures

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


def _small(k: int) -> str:
    """How a suppressed figure reads."""
    return f"< {k}"


def _count(n: float, t: Translator) -> str:
    """A whole number in the reader's locale."""
    return format_decimal(int(n), locale=t.locale)


def _percent(value: float, t: Translator) -> str:
    """A share as a rounded percentage in the reader's locale."""
    return format_percent(value, locale=t.locale)


def _decimal(value: float, t: Translator, digits: int = 1) -> str:
    """A number with a fixed count of decimals in the reader's locale."""
    return format_decimal(value, format="#,##0." + "0" * digits, locale=t.locale)


def _text(cell: Cell, k: int, fmt: Callable[[float], str]) -> str:
    """A cell as plain text: "< k" when suppressed, a dash when there is no value."""
    if cell.suppressed:
        return _small(k)
    if cell.value is None:
        return "—"
    return fmt(cell.value)


def _respondents(n: int, k: int, t: Translator) -> str:
    """A count of respondents, "< k" below the threshold."""
    return _small(k) if n < k else _count(n, t)


def _wrap(text: str, width: int = LABEL_WIDTH, lines: int = LABEL_LINES) -> str:
    """Wrap a label on a few lines, ending with an ellipsis when it is cut."""
    wrapped = textwrap.wrap(" ".join(text.split()), width) or [""]
    if len(wrapped) > lines:
        wrapped = wrapped[:lines]
        wrapped[-1] = textwrap.shorten(wrapped[-1] + " …", width, placeholder=" …")
        if not wrapped[-1].endswith("…"):
            wrapped[-1] += " …"
    return "\n".join(wrapped)


def _instrument_title(content: Content, kind: str, t: Translator) -> str:
    """The questionnaire's title in the reader's language."""
    instrument = content.instrument(kind)
    return instrument.title.get(t.locale) if instrument is not None else kind


def _stage_title(content: Content, kind: str, stage: str, t: Translator) -> str:
    """The stage's title in the reader's language."""
    instrument = content.instrument(kind)
    found = instrument.stage(stage) if instrument is not None else None
    return found.title.get(t.locale) if found is not None else stage


def _cohort_name(content: Content, cohort: str | None, t: Translator) -> str:
    """A cohort's name, or "All cohorts" for the overall figure."""
    if cohort is None:
        return t.gettext("All cohorts")
    found = content.programme.cohort(cohort)
    return found.name.get(t.locale) if found is not None else cohort


def _gender_name(gender: str, t: Translator) -> str:
    """A gender as the roster records it, in words."""
    names = {
        "female": t.gettext("Women"),
        "male": t.gettext("Men"),
        "other": t.gettext("Other"),
        "unknown": t.gettext("Not stated"),
    }
    return names.get(gender, gender)


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


def _reason_name(reason: str, t: Translator) -> str:
    """Why a success certificate is missing, in words."""
    names = {
        "attendance": t.gettext("Attendance"),
        "quiz": t.gettext("Final quiz"),
        "plan": t.gettext("Action plan"),
    }
    return names.get(reason, reason)


def _share(cell: Cell, total: int) -> Cell:
    """A count cell turned into a share of ``total``, suppressed like the count."""
    if cell.suppressed or cell.value is None or total <= 0:
        return Cell(cell.n, None, cell.suppressed)
    return Cell(cell.n, cell.value / total, False)


# --- charts -----------------------------------------------------------------------------


def _figure(height: float) -> Figure:
    """A phone-width figure on an Agg canvas."""
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
    axes.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: _percent(v, t)))
    _frame(axes)


def _frame(axes: Axes) -> None:
    """Large tick labels, light grid, no top or right frame."""
    axes.tick_params(axis="both", labelsize=FONT)
    axes.grid(axis="x", color="#dddddd", linewidth=0.8)
    axes.set_axisbelow(True)
    axes.spines["top"].set_visible(False)
    axes.spines["right"].set_visible(False)


def _suppressed(axes: Axes, x: float, y: float, k: int, colour: str = MUTED) -> None:
    """Write "< k" where a suppressed bar would be."""
    axes.text(
        x, y, _small(k), va="center", ha="left", fontsize=FONT, color=colour, fontstyle="italic"
    )


def _rows(axes: Axes, labels: Sequence[str], xlabel: str) -> None:
    """Label the bars' rows from the top, show every row and set the axis title."""
    axes.set_yticks(range(len(labels)), list(labels))
    axes.set_ylim(len(labels) - 0.5, -0.5)
    axes.set_xlabel(_wrap(xlabel, 45, 3), fontsize=FONT)


def _value(axes: Axes, x: float, y: float, text: str) -> None:
    """Write a bar's value just after its end."""
    axes.text(x, y, text, va="center", ha="left", fontsize=FONT)


def _legend(figure: Figure, handles: Sequence[Patch], ncols: int, title: str | None = None) -> None:
    """A legend above the plot, outside the axes."""
    legend = figure.legend(
        handles=list(handles),
        loc="outside lower center",
        ncols=ncols,
        fontsize=FONT,
        frameon=False,
        title=title,
    )
    if title is not None:
        legend.get_title().set_fontsize(FONT)


def _hatched(k: int) -> Patch:
    """The legend entry of a suppressed part."""
    return Patch(facecolor="white", edgecolor="#999999", hatch="//", label=_small(k))


def _rates_chart(figures: Figures, content: Content, t: Translator) -> _Chart | None:
    """Response rate of every opened stage, overall and per cohort."""
    if not any(r.submitted.n > 0 for r in figures.rates):
        return None
    k = figures.k
    stages = list(dict.fromkeys((r.instrument, r.stage) for r in figures.rates))
    groups = list(dict.fromkeys(r.cohort for r in figures.rates))
    rates = {(r.instrument, r.stage, r.cohort): r for r in figures.rates}
    title = t.gettext("Response rates")
    figure = _figure(1.6 + len(stages) * (0.45 * len(groups) + 0.4))
    axes = figure.add_subplot()
    step = 0.8 / len(groups)
    for g, group in enumerate(groups):
        colour = SERIES_COLOURS[g % len(SERIES_COLOURS)]
        for s, (kind, stage) in enumerate(stages):
            rate = rates.get((kind, stage, group))
            if rate is None:
                continue
            y = s + (g - (len(groups) - 1) / 2) * step
            cell = rate.submitted
            if cell.suppressed or cell.value is None:
                _suppressed(axes, 0.01, y, k, colour)
                continue
            axes.barh(y, cell.value, height=step * 0.9, color=colour)
            _value(axes, cell.value + 0.01, y, _percent(cell.value, t))
    labels = [
        _wrap(f"{_instrument_title(content, kind, t)}: {_stage_title(content, kind, stage, t)}")
        for kind, stage in stages
    ]
    _style(axes, t, 1.2)
    _rows(axes, labels, t.gettext("Share of participants who answered"))
    figure.suptitle(title, fontsize=TITLE_FONT)
    handles = [
        Patch(color=SERIES_COLOURS[g % len(SERIES_COLOURS)], label=_cohort_name(content, c, t))
        for g, c in enumerate(groups)
    ]
    _legend(figure, handles, min(len(handles), 3))
    return _Chart("rates.png", "rates", title, _png(figure))


def _satisfaction_chart(figures: Figures, t: Translator) -> _Chart | None:
    """Stacked 1-5 distribution of every rated satisfaction item, with its mean."""
    items = [f for f in figures.satisfaction if f.item.type == "scale"]
    if not any(f.respondents > 0 for f in items):
        return None
    k = figures.k
    title = t.gettext("Satisfaction: ratings per item")
    figure = _figure(2.2 + 0.85 * len(items))
    axes = figure.add_subplot()
    for y, found in enumerate(items):
        if found.mean.suppressed or found.respondents < k:
            _suppressed(axes, 0.01, y, k)
            continue
        left = 0.0
        for point, colour in zip(range(1, 6), SCALE_COLOURS, strict=True):
            cell = found.distribution.get(str(point))
            if cell is None or cell.suppressed or not cell.value:
                continue
            width = cell.value / found.respondents
            axes.barh(y, width, left=left, height=0.7, color=colour, edgecolor="white")
            if width >= 0.08:
                axes.text(
                    left + width / 2,
                    y,
                    _percent(width, t),
                    ha="center",
                    va="center",
                    fontsize=FONT,
                    color="white" if point in (1, 5) else "black",
                )
            left += width
        rest = 1.0 - left
        if rest > 1e-9:
            # The suppressed points together, empty: their counts are not shown.
            axes.barh(y, rest, left=left, height=0.7, fill=False, hatch="//", edgecolor="#999999")
            if rest >= 0.1:
                axes.text(
                    left + rest / 2,
                    y,
                    _small(k),
                    ha="center",
                    va="center",
                    fontsize=FONT,
                    color=MUTED,
                    fontstyle="italic",
                )
        mean = _text(found.mean, k, lambda v: _decimal(v, t))
        _value(axes, 1.02, y, mean)
    _style(axes, t, 1.16)
    _rows(
        axes,
        [_wrap(f.item.text.get(t.locale)) for f in items],
        t.gettext("Share of respondents; the mean (1-5) is at the end of each bar"),
    )
    figure.suptitle(title, fontsize=TITLE_FONT)
    handles = [
        Patch(facecolor=c, edgecolor="#999999", label=str(p))
        for p, c in zip(range(1, 6), SCALE_COLOURS, strict=True)
    ]
    _legend(
        figure,
        [*handles, _hatched(k)],
        6,
        t.gettext("Rating: 1 (lowest) to 5 (highest)"),
    )
    return _Chart("satisfaction.png", "satisfaction", title, _png(figure))


def _item_chart(found: ItemFigures, k: int, section: str, t: Translator) -> _Chart | None:
    """Share of respondents who gave each answer to one scale or choice item."""
    if found.respondents <= 0:
        return None
    keys = list(found.distribution)
    title = found.item.text.get(t.locale)
    figure = _figure(2.4 + 0.7 * len(keys))
    axes = figure.add_subplot()
    for y, key in enumerate(keys):
        cell = _share(found.distribution[key], found.respondents)
        if found.respondents < k or cell.suppressed or cell.value is None:
            _suppressed(axes, 0.01, y, k)
            continue
        axes.barh(y, cell.value, height=0.7, color=BAR_COLOUR)
        _value(axes, cell.value + 0.01, y, _percent(cell.value, t))
    _style(axes, t, 1.2)
    label = t.gettext(
        "Share of respondents (%(n)s respondents)", n=_respondents(found.respondents, k, t)
    )
    if found.item.type == "multi":
        label += " · " + t.gettext("Several answers possible")
    _rows(axes, [_wrap(_option_label(found.item, key, t)) for key in keys], label)
    figure.suptitle(_wrap(title, 60, 3), fontsize=TITLE_FONT)
    return _Chart(f"{section}-{found.item.id}.png", section, title, _png(figure))


def _kat_score_chart(kat: KatFigures, k: int, t: Translator) -> _Chart | None:
    """Mean KAT score before and after the training."""
    if kat.pre_mean.n <= 0 or kat.maximum <= 0:
        return None
    title = t.gettext("Knowledge test: mean score before and after")
    figure = _figure(4.5)
    axes = figure.add_subplot()
    for y, (cell, colour) in enumerate(
        ((kat.pre_mean, BEFORE_COLOUR), (kat.post_mean, AFTER_COLOUR))
    ):
        if cell.suppressed or cell.value is None:
            _suppressed(axes, kat.maximum * 0.01, y, k)
            continue
        axes.barh(y, cell.value, height=0.6, color=colour)
        _value(
            axes,
            cell.value + kat.maximum * 0.01,
            y,
            f"{_decimal(cell.value, t)} / {_count(kat.maximum, t)}",
        )
    axes.set_xlim(0, kat.maximum * 1.3)
    _frame(axes)
    _rows(
        axes,
        [t.gettext("Before"), t.gettext("After")],
        t.gettext(
            "Mean score out of %(max)s (%(n)s participants who took both tests)",
            max=_count(kat.maximum, t),
            n=_respondents(kat.pre_mean.n, k, t),
        ),
    )
    figure.suptitle(_wrap(title, 60, 2), fontsize=TITLE_FONT)
    return _Chart("kat-scores.png", "kat", title, _png(figure))


def _kat_facility_chart(
    kat: KatFigures, instrument: Instrument | None, k: int, t: Translator
) -> _Chart | None:
    """Share of correct answers per question, before and after, as paired bars."""
    if not any(b.n > 0 or a.n > 0 for b, a in kat.facility.values()):
        return None
    ids = list(kat.facility)
    title = t.gettext("Knowledge test: correct answers per question")
    figure = _figure(2.2 + 1.0 * len(ids))
    axes = figure.add_subplot()
    for y, question in enumerate(ids):
        for offset, cell, colour in (
            (-0.2, kat.facility[question][0], BEFORE_COLOUR),
            (0.2, kat.facility[question][1], AFTER_COLOUR),
        ):
            if cell.suppressed or cell.value is None:
                _suppressed(axes, 0.01, y + offset, k)
                continue
            axes.barh(y + offset, cell.value, height=0.38, color=colour)
            _value(axes, cell.value + 0.01, y + offset, _percent(cell.value, t))
    _style(axes, t, 1.2)
    _rows(
        axes,
        [_question_label(instrument, q, i, t) for i, q in enumerate(ids, 1)],
        t.gettext("Share of correct answers"),
    )
    figure.suptitle(_wrap(title, 60, 2), fontsize=TITLE_FONT)
    handles = [
        Patch(color=BEFORE_COLOUR, label=t.gettext("Before")),
        Patch(color=AFTER_COLOUR, label=t.gettext("After")),
    ]
    _legend(figure, handles, 2)
    return _Chart("kat-facility.png", "kat", title, _png(figure))


def _question_label(instrument: Instrument | None, question: str, index: int, t: Translator) -> str:
    """A numbered, shortened question for a chart's axis."""
    item = instrument.item(question) if instrument is not None else None
    text = item.text.get(t.locale) if item is not None else question
    return _wrap(f"{index}. {text}")


def _charts(figures: Figures, content: Content, t: Translator) -> list[_Chart]:
    """Every chart that has data, in the report's order."""
    k = figures.k
    found: list[_Chart | None] = [
        _rates_chart(figures, content, t),
        _satisfaction_chart(figures, t),
    ]
    found += [
        _item_chart(f, k, "satisfaction", t) for f in figures.satisfaction if f.item.type != "scale"
    ]
    if figures.kat is not None:
        found.append(_kat_score_chart(figures.kat, k, t))
        found.append(_kat_facility_chart(figures.kat, content.instrument("kat"), k, t))
    found += [_item_chart(f, k, "followup", t) for f in figures.followup]
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

    def small(self) -> str:
        """A suppressed figure, with its meaning on hover."""
        hint = self.t.gettext("Fewer than %(k)d respondents", k=self.k)
        return f'<span class="small" title="{_e(hint)}">{_e(_small(self.k))}</span>'

    def cell(self, cell: Cell, fmt: Callable[[float], str]) -> str:
        """A figure, or "< k" when suppressed."""
        return self.small() if cell.suppressed else _e(_text(cell, self.k, fmt))

    def count(self, cell: Cell) -> str:
        """A count of respondents behind a cell."""
        return self.small() if cell.suppressed else _e(_count(cell.n, self.t))

    def respondents(self, n: int) -> str:
        """A count of respondents, "< k" below the threshold."""
        return self.small() if n < self.k else _e(_count(n, self.t))

    def percent(self, cell: Cell) -> str:
        """A share as a percentage."""
        return self.cell(cell, lambda v: _percent(v, self.t))

    def mean(self, cell: Cell, digits: int = 1) -> str:
        """A mean with a fixed count of decimals."""
        return self.cell(cell, lambda v: _decimal(v, self.t, digits))

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

    def heading(self, text: str) -> None:
        """A sub-heading of plain text."""
        self.add(f"<h3>{_e(text)}</h3>")

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
            t.gettext("Participants: %(n)s", n=_count(self.figures.participants, t)),
            "meta",
        )
        note = t.gettext(
            'Aggregates only; any figure based on fewer than %(k)d respondents is shown as "< %(k)d".',  # noqa: E501
            k=self.k,
        )
        self.add(f'<p class="note">{_e(note)}</p>')
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
        """Response rate of every opened stage, overall and per cohort."""
        t = self.t
        if not self.figures.rates:
            self.no_data()
            return
        columns = [
            _Column(t.gettext("Questionnaire")),
            _Column(t.gettext("Stage")),
            _Column(t.gettext("Cohort")),
            _Column(t.gettext("Invited"), True),
            _Column(t.gettext("Responses"), True),
            _Column(t.gettext("Rate"), True),
        ]
        rows = [
            [
                _e(_instrument_title(self.content, r.instrument, t)),
                _e(_stage_title(self.content, r.instrument, r.stage, t)),
                _e(_cohort_name(self.content, r.cohort, t)),
                _e(_count(r.invited, t)),
                self.count(r.submitted),
                self.percent(r.submitted),
            ]
            for r in self.figures.rates
        ]
        self.table(columns, rows)
        self.chart("rates.png")

    def items(self, found: Sequence[ItemFigures]) -> None:
        """Table of items: respondents, mean (1-5) and share satisfied (4-5)."""
        t = self.t
        columns = [
            _Column(t.gettext("Item")),
            _Column(t.gettext("Respondents"), True),
            _Column(t.gettext("Mean (1-5)"), True),
            _Column(t.gettext("Satisfied (4-5)"), True),
        ]
        rows = []
        for f in found:
            small = f.respondents < self.k
            rows.append(
                [
                    _e(f.item.text.get(t.locale)),
                    self.respondents(f.respondents),
                    self.small() if small else self.mean(f.mean),
                    self.small() if small else self.percent(f.satisfied),
                ]
            )
        self.table(columns, rows)

    def breakdown(self, caption: str, found: Sequence[Breakdown], value: str, digits: int) -> None:
        """A figure by group (cohort or gender)."""
        if not found:
            return
        t = self.t
        self.heading(caption)
        columns = [
            _Column(t.gettext("Group")),
            _Column(t.gettext("Respondents"), True),
            _Column(value, True),
        ]
        rows = [
            [_e(self.group(b.group)), self.count(b.value), self.mean(b.value, digits)]
            for b in found
        ]
        self.table(columns, rows)

    def group(self, group: str) -> str:
        """A cohort's name or a gender, in words."""
        if group in self.content.programme.cohort_ids:
            return _cohort_name(self.content, group, self.t)
        return _gender_name(group, self.t)

    def open_answers(self, instrument: Instrument | None) -> None:
        """The answers to the free-text items, without identity, or why they are not shown."""
        if instrument is None:
            return
        t = self.t
        for item in instrument.items:
            if item.type != "text" or item.id not in self.figures.open_suppressed:
                continue
            self.heading(item.text.get(t.locale))
            answers = self.figures.open_answers.get(item.id, [])
            if self.figures.open_suppressed.get(item.id):
                self.para(t.gettext("< %(k)d answers: not shown.", k=self.k), "small")
            elif not answers:
                self.para(t.gettext("No answers."), "meta")
            else:
                listed = "".join(f"<li>{_e(a)}</li>" for a in answers)
                self.add(f'<ul class="answers">{listed}</ul>')

    def satisfaction(self) -> None:
        """Level 1: satisfaction items, breakdowns and open answers."""
        t = self.t
        found = self.figures.satisfaction
        if not found and not any(self.figures.open_answers.values()):
            self.no_data()
            return
        if found:
            self.items(found)
            self.chart("satisfaction.png")
            for f in found:
                if f.item.type != "scale":
                    self.distribution(f, "satisfaction")
        mean = t.gettext("Mean satisfaction (1-5)")
        self.breakdown(t.gettext("By cohort"), self.figures.satisfaction_by_cohort, mean, 1)
        self.breakdown(t.gettext("By gender"), self.figures.satisfaction_by_gender, mean, 1)
        self.open_answers(self.content.instrument("satisfaction"))

    def kat(self) -> None:
        """Level 2: scores before and after, gain, facility per question, breakdowns."""
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
            [_e(t.gettext("Participants who took both tests")), self.count(kat.pre_mean)],
            [_e(t.gettext("Mean score before")), self.cell(kat.pre_mean, score)],
            [_e(t.gettext("Mean score after")), self.cell(kat.post_mean, score)],
            [_e(t.gettext("Share who improved")), self.percent(kat.improved)],
            [_e(t.gettext("Mean normalised gain")), self.mean(kat.normalised_gain, 2)],
        ]
        self.table(columns, rows)
        self.para(
            t.gettext(
                "Normalised gain: the share of the possible progress achieved,"
                " (after − before) / (maximum − before)."
            ),
            "meta",
        )
        self.chart("kat-scores.png")
        if kat.facility:
            instrument = self.content.instrument("kat")
            self.heading(t.gettext("Correct answers per question"))
            columns = [
                _Column(t.gettext("Question")),
                _Column(t.gettext("Before"), True),
                _Column(t.gettext("After"), True),
            ]
            rows = []
            for index, (question, (before, after)) in enumerate(kat.facility.items(), 1):
                item = instrument.item(question) if instrument is not None else None
                text = item.text.get(t.locale) if item is not None else question
                rows.append([_e(f"{index}. {text}"), self.percent(before), self.percent(after)])
            self.table(columns, rows)
            self.chart("kat-facility.png")
        gain = t.gettext("Mean normalised gain")
        self.breakdown(t.gettext("By cohort"), kat.by_cohort, gain, 2)
        self.breakdown(t.gettext("By gender"), kat.by_gender, gain, 2)

    def distribution(self, found: ItemFigures, section: str) -> None:
        """One item's answers: counts and shares of respondents, then its chart."""
        t = self.t
        self.heading(found.item.text.get(t.locale))
        facts = [t.gettext("Respondents: %(n)s", n=_respondents(found.respondents, self.k, t))]
        if found.item.type == "scale":
            facts.append(
                t.gettext("Mean (1-5): %(mean)s", mean=_text(found.mean, self.k, _mean(t)))
            )
        if found.item.type == "multi":
            facts.append(t.gettext("Several answers possible"))
        self.para(" · ".join(facts), "meta")
        columns = [
            _Column(t.gettext("Answer")),
            _Column(t.gettext("Responses"), True),
            _Column(t.gettext("Share of respondents"), True),
        ]
        small = found.respondents < self.k
        rows = [
            [
                _e(_option_label(found.item, key, t)),
                self.small() if small else self.count(cell),
                self.small() if small else self.percent(_share(cell, found.respondents)),
            ]
            for key, cell in found.distribution.items()
        ]
        self.table(columns, rows)
        self.chart(f"{section}-{found.item.id}.png")

    def followup(self) -> None:
        """Level 3: distribution of every choice and scale item, then the open answers."""
        instrument = self.content.instrument("followup")
        texts = [i.id for i in instrument.items if i.type == "text"] if instrument else []
        if not self.figures.followup and not any(i in self.figures.open_suppressed for i in texts):
            self.no_data()
            return
        for found in self.figures.followup:
            self.distribution(found, "followup")
        self.open_answers(instrument)

    def certificates(self) -> None:
        """Certificates obtained, and what is most often missing for the success certificate."""
        t = self.t
        found = self.figures.certificates
        if found is None:
            self.no_data()
            return
        columns = [
            _Column(t.gettext("Certificate")),
            _Column(t.gettext("Participants"), True),
            _Column(t.gettext("Share"), True),
        ]
        total = found.participants
        rows = [
            [
                _e(name),
                self.cell(cell, lambda v: _count(v, t)),
                self.percent(_share(cell, total)),
            ]
            for name, cell in (
                (t.gettext("Participation certificate"), found.participation),
                (t.gettext("Success certificate"), found.success),
            )
        ]
        self.para(t.gettext("Participants: %(n)s", n=_count(total, t)), "meta")
        self.table(columns, rows)
        if found.missing:
            self.heading(t.gettext("Most often missing for the success certificate"))
            columns = [
                _Column(t.gettext("Missing")),
                _Column(t.gettext("Participants"), True),
                _Column(t.gettext("Share"), True),
            ]
            rows = [
                [
                    _e(_reason_name(reason, t)),
                    self.cell(cell, lambda v: _count(v, t)),
                    self.percent(_share(cell, total)),
                ]
                for reason, cell in found.missing.items()
            ]
            self.table(columns, rows)


def _mean(t: Translator) -> Callable[[float], str]:
    """Format a mean with one decimal."""
    return lambda v: _decimal(v, t)


def render_html(figures: Figures, content: Content, t: Translator) -> str:
    """The whole report as one self-contained HTML page (inline CSS, charts embedded)."""
    return _Page(figures, content, t).render()
