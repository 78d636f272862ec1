"""What coordinators see when they follow responses: /stats, /pending and its nudge button."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from babel.numbers import format_percent

from bot import callbacks
from bot.content import Content
from bot.content.instruments import Instrument, Stage
from bot.i18n import Translator, escape
from bot.outgoing import Button, OutgoingMessage
from bot.services.stats import StageStats
from bot.storage.repo import Participant


def nothing_open(t: Translator) -> str:
    """/stats before any questionnaire opens."""
    return t.gettext("No questionnaire has opened yet.")


def stats(t: Translator, content: Content, found: Sequence[StageStats]) -> str:
    """Per stage and cohort: roster, enrolled, started, sent and the response rate."""
    lines = [t.gettext("<b>Responses</b> (on the roster · enrolled · started · sent · rate)")]
    current = None
    for row in found:
        instrument = content.instrument(row.instrument)
        stage = instrument.stage(row.stage) if instrument else None
        if instrument is None or stage is None:
            continue
        heading = _title(t, instrument, stage)
        if heading != current:
            lines += ["", f"<b>{escape(heading)}</b>"]
            current = heading
        cohort = content.programme.cohort(row.cohort)
        name = escape(cohort.name.get(t.locale) if cohort else row.cohort)
        if not row.opened:
            lines.append(t.gettext("%(cohort)s: not open yet", cohort=name))
            continue
        lines.append(
            t.gettext(
                "%(cohort)s: %(roster)d · %(enrolled)d · %(started)d · %(submitted)d · %(rate)s",
                cohort=name,
                roster=row.roster,
                enrolled=row.enrolled,
                started=row.started,
                submitted=row.submitted,
                rate=format_percent(row.rate, locale=t.locale),
            )
        )
    return "\n".join(lines)


def pending_usage(t: Translator, content: Content) -> str:
    """/pending without a known questionnaire."""
    kinds = ", ".join(sorted(content.instruments))
    return t.gettext("Usage: /pending INSTRUMENT [STAGE] (%(kinds)s)", kinds=kinds)


@dataclass(frozen=True, slots=True)
class PendingStage:
    """One stage of /pending: not open, nobody enrolled, or who has not answered."""

    stage: Stage
    opened: bool
    enrolled: bool
    people: Sequence[Participant] = ()
    unenrolled: int = 0


def pending(
    t: Translator, instrument: Instrument, stages: Sequence[PendingStage]
) -> OutgoingMessage:
    """Who has not answered each stage (names: for coordinators only), with a nudge button."""
    lines: list[str] = []
    buttons: list[tuple[Button, ...]] = []
    for item in stages:
        title = _title(t, instrument, item.stage)
        if not item.opened:
            lines += ["", f"<b>{escape(title)}</b>", t.gettext("Not open yet.")]
            continue
        if not item.enrolled:
            lines += ["", f"<b>{escape(title)}</b>", t.gettext("Nobody has enrolled yet.")]
            continue
        lines += ["", f"<b>{escape(title)}</b> ({len(item.people)})"]
        if not item.people:
            lines.append(t.gettext("Everyone enrolled has answered."))
        lines += [f"{p.code} · {escape(p.full_name)} · {p.cohort}" for p in item.people]
        if item.unenrolled:
            lines.append(
                t.ngettext(
                    "%(n)d person on the roster has not enrolled yet.",
                    "%(n)d people on the roster have not enrolled yet.",
                    item.unenrolled,
                )
            )
        if item.people:
            label = t.gettext("Nudge them now: %(stage)s", stage=item.stage.title.get(t.locale))
            buttons.append((Button(label, callbacks.nudge(instrument.id, item.stage.id)),))
    header = t.gettext("Not answered yet:")
    return OutgoingMessage(header + "\n" + "\n".join(lines), buttons=tuple(buttons))


def nudges_queued(t: Translator, queued: int) -> str:
    """The answer to the nudge button."""
    return t.ngettext("%(n)d nudge queued.", "%(n)d nudges queued.", queued)


def _title(t: Translator, instrument: Instrument, stage: Stage) -> str:
    return f"{instrument.title.get(t.locale)} · {stage.title.get(t.locale)}"
