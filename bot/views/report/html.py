"""The evaluation report as one self-contained HTML page (inline CSS, charts embedded)."""

from __future__ import annotations

import base64
import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from bot.content import Content
from bot.i18n import Translator
from bot.services.report import (
    MEAN_DECIMALS,
    Breakdown,
    Figures,
    ItemFigures,
    Section,
    StageFigures,
)
from bot.views.report.charts import Chart, draw_charts
from bot.views.report.format import (
    band_label,
    cohorts_name,
    count_text,
    decimal_text,
    group_name,
    hidden_text,
    instrument_title,
    item_text,
    option_label,
    or_hidden,
    percent_text,
    reason_name,
    stage_title,
)

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

    def __init__(
        self,
        figures: Figures,
        content: Content,
        t: Translator,
        charts: Sequence[Chart] | None = None,
    ) -> None:
        """Draw the charts once (or take those already drawn); the sections embed them."""
        self.figures = figures
        self.content = content
        self.t = t
        self.k = figures.k
        drawn = draw_charts(figures, content, t) if charts is None else charts
        self.charts = {c.name: c for c in drawn}
        self.out: list[str] = []

    # Cells, already escaped.

    def hidden(self) -> str:
        """A withheld figure, with its meaning on hover."""
        hint = self.t.gettext(
            "Fewer than %(k)d people, or it would let one compute such a figure", k=self.k
        )
        return f'<span class="small" title="{_e(hint)}">{_e(hidden_text(self.t))}</span>'

    def value(self, value: float | None, fmt: Callable[[float], str]) -> str:
        """A figure, or "hidden"."""
        return self.hidden() if value is None else _e(fmt(value))

    def count(self, n: int | None) -> str:
        """A count of people."""
        return self.value(n, lambda v: count_text(v, self.t))

    def percent(self, value: float | None) -> str:
        """A share as a percentage."""
        return self.value(value, lambda v: percent_text(v, self.t))

    def mean(self, value: float | None, digits: int = MEAN_DECIMALS) -> str:
        """A mean with a fixed count of decimals."""
        return self.value(value, lambda v: decimal_text(v, self.t, digits))

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
        sections: list[tuple[str, str, Callable[[], None]]] = [
            ("rates", t.gettext("Response rates"), self.rates)
        ]
        for found in self.figures.sections:
            instrument = found.instrument
            name = instrument.title.get(t.locale)
            if instrument.level is not None:
                name = t.gettext("Level %(level)d: %(title)s", level=instrument.level, title=name)
            sections.append((f"i-{instrument.id}", name, partial(self.instrument, found)))
        sections.append(("certificates", t.gettext("Certificates"), self.certificates))
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
            t.gettext("Participants enrolled: %(n)s", n=count_text(self.figures.participants, t)),
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
                f"{instrument_title(self.content, found.instrument, t)}: "
                f"{stage_title(self.content, found.instrument, found.stage, t)}"
            )
            if found.total is None:
                self.para(t.gettext("Not open yet."), "meta")
                continue
            rows = []
            for row in [found.total, *found.rows]:
                hidden = found.hidden
                rows.append(
                    [
                        _e(cohorts_name(self.content, row.cohorts, t)),
                        _e(count_text(row.roster, t)),
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
                            [cohorts_name(self.content, [c], t) for c in found.not_open]
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
                _e(item_text(f.item, t)),
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
                    _e(group_name(self.content, breakdown, row.members, t)),
                    self.count(row.n),
                    *(self.mean(row.values.get(key), digits) for key, _, digits in measures),
                ]
                for row in breakdown.rows
            ]
            self.table(columns, rows)

    def distribution(self, found: ItemFigures, chart: str) -> None:
        """One item's answers: people and shares per answer or band, then its chart."""
        t = self.t
        self.heading(item_text(found.item, t), 4)
        if found.respondents is None:
            self.para(t.gettext("Respondents: %(n)s", n=hidden_text(t)), "meta")
            return
        facts = [t.gettext("Respondents: %(n)s", n=count_text(found.respondents, t))]
        if found.item.type == "scale":
            facts.append(
                t.gettext(
                    "Mean (1-5): %(mean)s",
                    mean=or_hidden(found.mean, t, lambda v: decimal_text(v, t)),
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
                [_e(band_label(found.item, b, t)), self.count(b.n), self.percent(b.n / n)]
                for b in found.bands
            ]
        elif found.ticked is not None:
            rows = [
                [
                    _e(option_label(found.item, o, t)),
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
            self.heading(item_text(found.item, t), 4)
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
                "Respondents: %(n)s", n=or_hidden(stage.respondents, t, lambda v: count_text(v, t))
            ),
            "meta",
        )
        if stage.respondents is None:
            return
        if stage.supervisors is not None and stage.supervisees is not None:
            self.para(
                t.gettext(
                    "Questionnaires from %(supervisors)s line managers about %(people)s"
                    " participants",
                    supervisors=count_text(stage.supervisors, t),
                    people=count_text(stage.supervisees, t),
                ),
                "meta",
            )
        base = f"{stage.instrument.id}-{stage.stage.id}"
        self.items(stage)
        self.chart(f"{base}.png")
        if stage.mean is not None and stage.supervisors is not None:
            self.para(
                t.gettext(
                    "Mean rating over all items (each questionnaire's mean, then the mean of"
                    " questionnaires): %(mean)s",
                    mean=decimal_text(stage.mean, t),
                ),
                "meta",
            )
        elif stage.mean is not None:
            self.para(
                t.gettext(
                    "Mean rating over all items (each person's mean, then the mean of"
                    " people): %(mean)s",
                    mean=decimal_text(stage.mean, t),
                ),
                "meta",
            )
        self.breakdowns(stage.breakdowns, [("mean", t.gettext("Mean (1-5)"), MEAN_DECIMALS)])
        for f in stage.items:
            self.distribution(f, f"{base}-{f.item.id}.png")
        self.open_answers(stage)

    def instrument(self, section: Section) -> None:
        """One instrument's section: its purpose, then a quiz's scores or a survey's stages."""
        purpose = section.instrument.purpose
        if purpose is not None:
            self.para(purpose.get(self.t.locale), "meta")
        if section.instrument.audience == "supervisors":
            note = self.t.gettext(
                "Answered by the participants' line managers, one questionnaire for each"
                " person they supervise; the latest one sent counts. A figure is shown only"
                " when it stands on at least %(k)d line managers and at least %(k)d of the"
                " people they answered about. These answers are never put beside a"
                " participant's own answers, scores or code.",
                k=self.k,
            )
            self.add(f'<p class="note">{_e(note)}</p>')
        if section.instrument.scored:
            self.quiz(section)
        else:
            self.survey(section)

    def survey(self, section: Section) -> None:
        """A survey: one part per stage (activity), then all stages together."""
        t = self.t
        stages = section.stages
        if not stages:
            self.no_data()
            return
        for stage in stages:
            self.stage(stage)
        summary = section.summary
        if summary is None or not summary.rows:
            return
        self.heading(t.gettext("All activities"))
        self.para(
            t.gettext(
                "People who answered at least one of these activities: %(n)s",
                n=or_hidden(summary.people, t, lambda v: count_text(v, t)),
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
                _e(item_text(row.item, t)),
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

    def quiz(self, section: Section) -> None:
        """A quiz: scores before and after, gains, correct answers per question."""
        t = self.t
        kat = section.quiz
        base = section.instrument.id
        if kat is None:
            self.no_data()
            return

        def score(v: float) -> str:
            """A mean score out of the maximum."""
            return f"{decimal_text(v, t)} / {count_text(kat.maximum, t)}"

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
                    question=item_text(c.item, t),
                    was=option_label(c.item, c.was, t),
                    key=option_label(c.item, c.key, t),
                    reason=c.reason.get(t.locale),
                    n=or_hidden(c.answers, t, lambda v: count_text(v, t)),
                ),
                "note",
            )
        self.chart(f"{base}-scores.png")
        if kat.facility:
            self.heading(t.gettext("Correct answers per question"))
            columns = [
                _Column(t.gettext("Question")),
                _Column(t.gettext("Before"), True),
                _Column(t.gettext("After"), True),
            ]
            rows = [
                [
                    _e(f"{i}. {item_text(f.item, t)}"),
                    self.percent(f.before),
                    self.percent(f.after),
                ]
                for i, f in enumerate(kat.facility, 1)
            ]
            self.table(columns, rows)
            self.chart(f"{base}-facility.png")
        self.breakdowns(
            kat.breakdowns,
            [
                ("pre", t.gettext("Mean score before"), MEAN_DECIMALS),
                ("post", t.gettext("Mean score after"), MEAN_DECIMALS),
            ],
        )

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
        self.para(t.gettext("Participants enrolled: %(n)s", n=count_text(total, t)), "meta")
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
                [_e(reason_name(reason, t)), self.count(n), self.percent(share(n))]
                for reason, n in found.missing.items()
            ]
            self.table(columns, rows)


def render_html(
    figures: Figures, content: Content, t: Translator, charts: Sequence[Chart] | None = None
) -> str:
    """The whole report as one self-contained HTML page (inline CSS, charts embedded);
    ``charts`` are those ``draw_charts`` drew for the same figures and language, when the
    caller also writes them as files (drawing is most of a report's time)."""
    return _Page(figures, content, t, charts).render()
