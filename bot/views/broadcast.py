"""What a coordinator sees of a broadcast: audiences, preview, confirmation, progress, list."""

from __future__ import annotations

from babel.numbers import format_decimal

from bot import callbacks
from bot.content import Content
from bot.i18n import Translator, escape
from bot.outgoing import Button, OutgoingMessage
from bot.services.broadcasts import Audience, Broadcast, Progress, Standing
from bot.views.common import BUTTON_TEXT_MAX, stage_label, stage_title

BAR = 10


def _n(t: Translator, value: int) -> str:
    return format_decimal(value, locale=t.locale)


def audience_name(t: Translator, content: Content, key: str) -> str:
    """An audience as people call it: "Everyone", "Cohort Tanger", "Not yet answered: …"."""
    kind, _, ref = key.partition(":")
    if kind == "all":
        return t.gettext("Everyone")
    if kind == "staff":
        return t.gettext("Course team")
    if kind == "cohort":
        cohort = content.programme.cohort(ref)
        return t.gettext("Cohort %(name)s", name=cohort.name.get(t.locale) if cohort else ref)
    if kind == "pending":
        return t.gettext("Not yet answered: %(title)s", title=_stage_ref_label(t, content, ref))
    return key


def _stage_ref_label(t: Translator, content: Content, ref: str) -> str:
    """A stage named by ``<instrument>:<stage>`` as its buttons name it: its short label
    ("Vos besoins", "Test avant la formation"), which tells two instruments' stages apart
    where their titles may not ("Avant la formation" is both)."""
    instrument_kind, _, stage_id = ref.partition(":")
    instrument = content.instrument(instrument_kind)
    stage = instrument.stage(stage_id) if instrument else None
    if instrument is None or stage is None:
        return ref or "?"
    return (
        stage_label(stage, t.locale, BUTTON_TEXT_MAX)
        if stage.short
        else stage_title(t, instrument, stage)
    )


def audience_label(t: Translator, content: Content, audience: Audience) -> str:
    """The button for an audience, with its live count."""
    n = _n(t, audience.count)
    if audience.kind == "all":
        return t.gettext("Everyone (%(n)s)", n=n)
    if audience.kind == "staff":
        return t.gettext("Course team (%(n)s)", n=n)
    if audience.kind == "cohort":
        cohort = content.programme.cohort(audience.ref or "")
        name = cohort.name.get(t.locale) if cohort else audience.ref or "?"
        return t.gettext("Cohort %(name)s (%(n)s)", name=name, n=n)
    title = _stage_ref_label(t, content, audience.ref or "")
    return t.gettext("Not yet answered: %(title)s (%(n)s)", title=title, n=n)


def choose_audience(t: Translator, content: Content, found: list[Audience]) -> OutgoingMessage:
    """Whom to write to: one button per audience someone is in, and Cancel."""
    rows = [
        (Button(audience_label(t, content, a), callbacks.broadcast_audience(a.key)),)
        for a in found
        if a.count
    ]
    rows.append((Button(t.gettext("Cancel"), callbacks.BROADCAST_NO),))
    return OutgoingMessage(
        t.gettext("Who should receive the announcement? Unreachable people are left out."),
        buttons=tuple(rows),
    )


def ask_message(t: Translator) -> str:
    """Asks for the announcement itself."""
    return t.gettext(
        "Now send the announcement: a text (bold, italics and links are kept), or a "
        "photo or document with a caption. /cancel to stop."
    )


def not_a_message(t: Translator) -> str:
    """What a coordinator is told when they send something that cannot be broadcast."""
    return t.gettext("Send a text, a photo or a document.")


def preview_heading(t: Translator) -> str:
    """Above the preview."""
    return t.gettext("Preview, exactly as recipients will see it:")


def confirm(t: Translator, count: int) -> OutgoingMessage:
    """Send it to so many people? Confirm or Cancel."""
    return OutgoingMessage(
        t.ngettext(
            "Send it to %(count)s person?",
            "Send it to %(count)s people?",
            count,
            count=_n(t, count),
        ),
        buttons=(
            (
                Button(t.gettext("Confirm"), callbacks.BROADCAST_OK),
                Button(t.gettext("Cancel"), callbacks.BROADCAST_NO),
            ),
        ),
    )


def cancelled(t: Translator) -> str:
    """The draft is dropped."""
    return t.gettext("Cancelled: nothing was sent.")


def expired(t: Translator) -> str:
    """What a coordinator is told when a draft announcement waited too long."""
    return t.gettext(
        "This announcement waited too long and was dropped: nothing was sent. Send /broadcast "
        "to start again."
    )


def stopped(t: Translator, count: int) -> str:
    """The answer to Stop."""
    return t.gettext("Stopped: %(n)s messages will not be sent.", n=count)


def progress_text(t: Translator, state: Progress, rate: float, cancelled: bool = False) -> str:
    """ "1 240 / 3 000 sent · 3 failed · ~1 min left" with a bar; the final report when done."""
    if state.done or cancelled:
        lines = [
            t.gettext("Broadcast stopped.") if cancelled else t.gettext("Broadcast finished."),
            " · ".join(
                [
                    t.ngettext(
                        "%(n)s sent of %(total)s",
                        "%(n)s sent of %(total)s",
                        state.sent,
                        n=_n(t, state.sent),
                        total=_n(t, state.total),
                    ),
                    failed_text(t, state.failed),
                ]
            ),
        ]
        if state.cancelled:
            lines.append(
                t.ngettext(
                    "%(n)s not sent (stopped)",
                    "%(n)s not sent (stopped)",
                    state.cancelled,
                    n=_n(t, state.cancelled),
                )
            )
        for reason, count in state.failures.items():
            lines.append(f"• {escape(_reason(t, reason))}: {_n(t, count)}")
        return "\n".join(lines)
    done = state.sent + state.failed
    filled = round(BAR * done / state.total) if state.total else BAR
    minutes = max(1, round(state.remaining / rate / 60))
    return "\n".join(
        [
            "▓" * filled + "░" * (BAR - filled),
            # Each count agrees with its own noun: "1 échec", "~1 min restante".
            " · ".join(
                [
                    t.ngettext(
                        "%(n)s / %(total)s sent",
                        "%(n)s / %(total)s sent",
                        state.sent,
                        n=_n(t, state.sent),
                        total=_n(t, state.total),
                    ),
                    failed_text(t, state.failed),
                    t.ngettext("~%(n)s min left", "~%(n)s min left", minutes, n=_n(t, minutes)),
                ]
            ),
        ]
    )


def failed_text(t: Translator, failed: int) -> str:
    """ "3 failed", with the noun agreeing with the count."""
    return t.ngettext("%(n)s failed", "%(n)s failed", failed, n=_n(t, failed))


def progress(t: Translator, found: Standing, rate: float) -> OutgoingMessage:
    """The progress message: the counts, and Stop while it runs (the chat and the CLI)."""
    text = t.bidi(progress_text(t, found.progress, rate, found.cancelled))
    if found.over:
        return OutgoingMessage(text)
    stop = Button(t.gettext("Stop"), callbacks.broadcast_stop(found.broadcast.id))
    return OutgoingMessage(text, buttons=((stop,),))


def _reason(t: Translator, reason: str) -> str:
    if reason.startswith("blocked"):
        return t.gettext("blocked the bot")
    if reason.startswith("network"):
        return t.gettext("network errors")
    return reason


def none_yet(t: Translator) -> str:
    """/broadcasts before the first one."""
    return t.gettext("No broadcast yet. Send /broadcast to start one.")


def recent(t: Translator, content: Content, found: list[Standing]) -> OutgoingMessage:
    """The latest broadcasts with their counts, and a Stop button for each still running."""
    lines = [t.gettext("<b>Recent broadcasts</b>")]
    buttons: list[tuple[Button, ...]] = []
    for item in found:
        broadcast: Broadcast = item.broadcast
        lines.append(
            t.gettext(
                "#%(id)d · %(when)s · %(audience)s · %(sent)d/%(total)d sent",
                id=broadcast.id,
                when=t.short_datetime(broadcast.created_at),
                audience=escape(audience_name(t, content, broadcast.audience)),
                sent=item.progress.sent,
                total=item.progress.total,
            )
            + " · "
            + failed_text(t, item.progress.failed)
        )
        if not item.over:
            buttons.append(
                (
                    Button(
                        t.gettext("Stop #%(id)d", id=broadcast.id),
                        callbacks.broadcast_stop(broadcast.id),
                    ),
                )
            )
    return OutgoingMessage("\n".join(lines), buttons=tuple(buttons))
