"""How the report writes its figures and names, shared by its charts and its HTML page.

A hidden figure arrives as ``None`` and is written as "hidden": no number the disclosure
rules of ``bot.services.report`` withheld can appear in what is drawn or written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from babel.numbers import format_decimal, format_percent

from bot.content import Content
from bot.content.instruments import NAME_FIELD, Item
from bot.i18n import Translator
from bot.services.report import (
    MEAN_DECIMALS,
    Band,
    Breakdown,
)


def hidden_text(t: Translator) -> str:
    """How a withheld figure reads."""
    return t.gettext("hidden")


def count_text(n: float, t: Translator) -> str:
    """A whole number in the reader's locale."""
    return format_decimal(int(n), locale=t.locale)


def percent_text(value: float, t: Translator) -> str:
    """A share as a rounded percentage in the reader's locale."""
    return format_percent(value, locale=t.locale)


def decimal_text(value: float, t: Translator, digits: int = MEAN_DECIMALS) -> str:
    """A number with a fixed count of decimals in the reader's locale."""
    return format_decimal(value, format="#,##0." + "0" * digits, locale=t.locale)


def or_hidden(value: float | None, t: Translator, fmt: Callable[[float], str]) -> str:
    """A figure as plain text, or "hidden"."""
    return hidden_text(t) if value is None else fmt(value)


def instrument_title(content: Content, kind: str, t: Translator) -> str:
    """The questionnaire's title in the reader's language."""
    instrument = content.instrument(kind)
    return instrument.title.get(t.locale) if instrument is not None else kind


def stage_title(content: Content, kind: str, stage: str, t: Translator) -> str:
    """The stage's title in the reader's language."""
    instrument = content.instrument(kind)
    found = instrument.stage(stage) if instrument is not None else None
    return found.title.get(t.locale) if found is not None else stage


def cohorts_name(content: Content, cohorts: Sequence[str], t: Translator) -> str:
    """One cohort's name, several pooled ones joined with "+", or "All cohorts"."""
    if not cohorts:
        return t.gettext("All cohorts")
    names = []
    for cohort in cohorts:
        found = content.programme.cohort(cohort)
        names.append(found.name.get(t.locale) if found is not None else cohort)
    return " + ".join(names)


def gender_name(gender: str, t: Translator) -> str:
    """A gender as the roster records it, in words."""
    names = {
        "female": t.gettext("Women"),
        "male": t.gettext("Men"),
        "other": t.gettext("Other"),
        "unknown": t.gettext("Not stated"),
    }
    return names.get(gender, gender)


def group_name(
    content: Content, breakdown: Breakdown, members: Sequence[str], t: Translator
) -> str:
    """A breakdown row's name: cohorts or genders, pooled ones joined with "+"."""
    if breakdown.dimension == "cohort":
        return cohorts_name(content, members, t)
    return " + ".join(gender_name(g, t) for g in members)


def item_text(item: Item, t: Translator) -> str:
    """An item's wording in the report: a line manager's question about "{name}" names the
    person supervised in general, since the report is about everyone."""
    text = item.text.get(t.locale)
    if NAME_FIELD not in text:
        return text
    who = t.gettext("the person supervised")
    if text.startswith(NAME_FIELD):
        who = who[:1].upper() + who[1:]
    return text.replace(NAME_FIELD, who)


def option_label(item: Item, key: str, t: Translator) -> str:
    """The words of one answer: an option's text, or a scale point with its end labels."""
    if item.type == "scale":
        if item.labels is not None and key == "1":
            return f"1 – {item.labels.low.get(t.locale)}"
        if item.labels is not None and key == "5":
            return f"5 – {item.labels.high.get(t.locale)}"
        return key
    option = item.option(key)
    return option.text.get(t.locale) if option is not None else key


def band_label(item: Item, band: Band, t: Translator) -> str:
    """A band of answers: one answer's words, a range of ratings, or pooled options."""
    if len(band.categories) == 1:
        return option_label(item, band.categories[0], t)
    if item.type == "scale":
        return t.gettext("%(low)s to %(high)s", low=band.categories[0], high=band.categories[-1])
    return t.gettext("Other answers (%(n)d options)", n=len(band.categories))


def reason_name(reason: str, t: Translator) -> str:
    """Why a success certificate is missing, in words."""
    names = {
        "attendance": t.gettext("Attendance"),
        "quiz": t.gettext("Final quiz"),
        "plan": t.gettext("Action plan"),
    }
    return names.get(reason, reason)
