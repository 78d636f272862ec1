"""The report's PNG charts: sent by /report in the chat and embedded in the HTML page.

Charts are drawn with matplotlib's object API on the Agg canvas (no pyplot, so no global
figure registry and no GUI backend). A hidden figure arrives as ``None`` and is drawn as
"hidden", so no number the disclosure rules withheld can appear here.
"""

from __future__ import annotations

import functools
import io
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import arabic_reshaper
import matplotlib
from bidi import get_display
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter

from bot.content import Content
from bot.i18n import Translator
from bot.services.report import (
    Figures,
    ItemFigures,
    KatFigures,
    RateRow,
    StageFigures,
)
from bot.views.report.format import (
    band_label,
    cohorts_name,
    count_text,
    decimal_text,
    hidden_text,
    instrument_title,
    item_text,
    option_label,
    or_hidden,
    percent_text,
    stage_title,
)

FONTS = Path(__file__).resolve().parents[2] / "assets" / "fonts"
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
class Chart:
    """One rendered chart and where the HTML page shows it."""

    name: str
    section: str
    title: str
    png: bytes


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
    axes.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: _shape(percent_text(v, t))))
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
        _shape(hidden_text(t)),
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


def _rates_chart(figures: Figures, content: Content, t: Translator) -> Chart | None:
    """Response rate over the roster of every opened stage: all cohorts, then each row."""
    stages = [r for r in figures.rates if r.total is not None and not r.hidden]
    if not any(r.total is not None and r.total.responded for r in stages):
        return None
    title = t.gettext("Response rates")
    bars: list[tuple[str, RateRow, int]] = []
    for found in stages:
        assert found.total is not None
        label = (
            f"{instrument_title(content, found.instrument, t)}: "
            f"{stage_title(content, found.instrument, found.stage, t)}"
        )
        bars.append((label, found.total, 0))
        for g, row in enumerate(found.rows, 1):
            bars.append(("   " + cohorts_name(content, row.cohorts, t), row, g))
    figure = _figure(1.6 + 0.42 * len(bars))
    axes = figure.add_subplot()
    for y, (_, row, g) in enumerate(bars):
        colour = SERIES_COLOURS[0] if g == 0 else SERIES_COLOURS[1]
        axes.barh(y, row.rate, height=0.7, color=colour)
        _value(axes, row.rate + 0.01, y, percent_text(row.rate, t))
    _style(axes, t, 1.2)
    _rows(axes, [_wrap(b[0], 40, 2) for b in bars], t.gettext("Share of the roster who answered"))
    figure.suptitle(_shape(title), fontsize=TITLE_FONT)
    return Chart("rates.png", "rates", title, _png(figure))


def _stage_chart(stage: StageFigures, t: Translator, name: str) -> Chart | None:
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
                    percent_text(width, t),
                    ha="center",
                    va="center",
                    fontsize=FONT,
                    color="black",
                )
            left += width
        _value(axes, 1.02, y, or_hidden(found.mean, t, lambda v: decimal_text(v, t)))
    _style(axes, t, 1.16)
    _rows(
        axes,
        [_wrap(item_text(f.item, t)) for f in items],
        t.gettext("Share of respondents; the mean (1-5) is at the end of each bar"),
    )
    figure.suptitle(_wrap(title, 60, 2), fontsize=TITLE_FONT)
    handles = [
        Patch(facecolor=c, edgecolor="#999999", label=str(p))
        for p, c in zip(range(1, 6), SCALE_COLOURS, strict=True)
    ]
    _legend(figure, handles, 5, t.gettext("Rating: 1 (lowest) to 5 (highest)"))
    return Chart(name, stage.instrument.id, title, _png(figure))


def _item_chart(found: ItemFigures, t: Translator, name: str) -> Chart | None:
    """Share of respondents who gave each answer (or band of answers) to one item."""
    if found.respondents is None or (found.bands is None and found.ticked is None):
        return None
    n = found.respondents
    rows: list[tuple[str, float | None]]
    if found.bands is not None:
        rows = [(band_label(found.item, b, t), b.n / n) for b in found.bands]
    else:
        assert found.ticked is not None
        rows = [
            (option_label(found.item, o, t), None if c is None else c / n)
            for o, c in found.ticked.items()
        ]
    title = item_text(found.item, t)
    figure = _figure(2.4 + 0.7 * len(rows))
    axes = figure.add_subplot()
    for y, (_, share) in enumerate(rows):
        if share is None:
            _suppressed(axes, 0.01, y, t)
            continue
        axes.barh(y, share, height=0.7, color=BAR_COLOUR)
        _value(axes, share + 0.01, y, percent_text(share, t))
    _style(axes, t, 1.2)
    label = t.gettext("Share of respondents (%(n)s respondents)", n=count_text(n, t))
    if found.item.type == "multi":
        label += " · " + t.gettext("Several answers possible")
    _rows(axes, [_wrap(r[0]) for r in rows], label)
    figure.suptitle(_wrap(title, 60, 3), fontsize=TITLE_FONT)
    return Chart(name, "item", title, _png(figure))


def _kat_score_chart(kat: KatFigures, instrument: str, t: Translator) -> Chart | None:
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
            f"{decimal_text(value, t)} / {count_text(kat.maximum, t)}",
        )
    axes.set_xlim(0, kat.maximum * 1.3)
    _frame(axes)
    _rows(
        axes,
        [t.gettext("Before"), t.gettext("After")],
        t.gettext(
            "Mean score out of %(max)s (%(n)s participants who took both tests)",
            max=count_text(kat.maximum, t),
            n=count_text(kat.people, t),
        ),
    )
    figure.suptitle(_wrap(title, 60, 2), fontsize=TITLE_FONT)
    return Chart(f"{instrument}-scores.png", instrument, title, _png(figure))


def _kat_facility_chart(kat: KatFigures, instrument: str, t: Translator) -> Chart | None:
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
            _value(axes, value + 0.01, y + offset, percent_text(value, t))
    _style(axes, t, 1.2)
    _rows(
        axes,
        [_wrap(f"{i}. {item_text(f.item, t)}") for i, f in enumerate(kat.facility, 1)],
        t.gettext("Share of correct answers"),
    )
    figure.suptitle(_wrap(title, 60, 2), fontsize=TITLE_FONT)
    handles = [
        Patch(color=BEFORE_COLOUR, label=t.gettext("Before")),
        Patch(color=AFTER_COLOUR, label=t.gettext("After")),
    ]
    _legend(figure, handles, 2)
    return Chart(f"{instrument}-facility.png", instrument, title, _png(figure))


def _stage_charts(stage: StageFigures, t: Translator) -> list[Chart | None]:
    """The charts of one stage: its rated items together, then each choice item."""
    base = f"{stage.instrument.id}-{stage.stage.id}"
    found = [_stage_chart(stage, t, f"{base}.png")]
    found += [
        _item_chart(f, t, f"{base}-{f.item.id}.png") for f in stage.items if f.item.type != "scale"
    ]
    return found


def draw_charts(figures: Figures, content: Content, t: Translator) -> list[Chart]:
    """Every chart that has data, in the report's order."""
    found: list[Chart | None] = [_rates_chart(figures, content, t)]
    for section in figures.sections:
        for stage in section.stages:
            found += _stage_charts(stage, t)
        if section.quiz is not None:
            found.append(_kat_score_chart(section.quiz, section.instrument.id, t))
            found.append(_kat_facility_chart(section.quiz, section.instrument.id, t))
    return [c for c in found if c is not None]


def render_charts(figures: Figures, content: Content, t: Translator) -> list[tuple[str, bytes]]:
    """The report's charts as (file name, PNG bytes), skipping those without data."""
    return [(chart.name, chart.png) for chart in draw_charts(figures, content, t)]
