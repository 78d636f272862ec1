"""/broadcast: audience with live counts, the message, a preview, confirm, progress, report."""

from __future__ import annotations

import logging
import warnings
from datetime import timedelta
from typing import Any

from babel.numbers import format_decimal
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.handlers.common import (
    Caller,
    Context,
    answer_query,
    caller,
    reply,
    runtime,
    staff_caller,
)
from bot.i18n import Translator, escape
from bot.runtime import Runtime
from bot.sender import send_payload
from bot.services import broadcasts
from bot.services.access import COORDINATION
from bot.services.broadcasts import Audience, Broadcast, Progress
from bot.services.text import clean_text

log = logging.getLogger(__name__)

AUDIENCE, MESSAGE, CONFIRM = range(3)
DRAFT = "broadcast_draft"
PROGRESS_SECONDS = 3.0
# A draft nobody touched for this long is dropped: a revoked or absent coordinator's
# half-composed announcement must not be sent later by a stray tap.
IDLE = timedelta(minutes=30)
BAR = 10


def audience_label(t: Translator, rt: Runtime, audience: Audience) -> str:
    """The button for an audience, with its live count."""
    n = format_decimal(audience.count, locale=t.locale)
    if audience.kind == "all":
        return t.gettext("Everyone (%(n)s)", n=n)
    if audience.kind == "staff":
        return t.gettext("Course team (%(n)s)", n=n)
    if audience.kind == "cohort":
        cohort = rt.content.programme.cohort(audience.ref or "")
        name = cohort.name.get(t.locale) if cohort else audience.ref or "?"
        return t.gettext("Cohort %(name)s (%(n)s)", name=name, n=n)
    kind, _, stage_id = (audience.ref or "").partition(":")
    instrument = rt.content.instrument(kind)
    stage = instrument.stage(stage_id) if instrument else None
    title = stage.title.get(t.locale) if stage else audience.ref or "?"
    return t.gettext("Not yet answered: %(title)s (%(n)s)", title=title, n=n)


async def start_broadcast(update: Update, context: Context) -> int:
    """Stores nothing yet; asks whom to write to, with live counts."""
    rt = runtime(context)
    who = await staff_caller(update, context, COORDINATION)
    if who is None:
        return ConversationHandler.END
    found = await broadcasts.audiences(rt.db, rt.content, rt.clock.now())
    keyboard = [
        [InlineKeyboardButton(audience_label(who.t, rt, a), callback_data=f"bc:a:{a.key}")]
        for a in found
        if a.count
    ]
    keyboard.append([InlineKeyboardButton(who.t.gettext("Cancel"), callback_data="bc:no")])
    await reply(
        update,
        who,
        who.t.gettext("Who should receive the announcement? Unreachable people are left out."),
        InlineKeyboardMarkup(keyboard),
    )
    return AUDIENCE


async def choose_audience(update: Update, context: Context) -> int:
    """Stores the chosen audience in the draft; asks for the message itself."""
    query = update.callback_query
    if query is None or query.data is None or context.user_data is None:
        return ConversationHandler.END
    who = await _still_allowed(update, context)
    if who is None:
        return ConversationHandler.END
    await answer_query(query)
    if query.data == "bc:no":
        await query.edit_message_text(who.t.bidi(who.t.gettext("Cancelled: nothing was sent.")))
        return ConversationHandler.END
    context.user_data[DRAFT] = {
        "audience": query.data.removeprefix("bc:a:"),
        "at": runtime(context).clock.now(),
    }
    await query.edit_message_text(
        who.t.bidi(
            who.t.gettext(
                "Now send the announcement: a text (bold, italics and links are kept), or a "
                "photo or document with a caption. /cancel to stop."
            )
        )
    )
    return MESSAGE


def payload_of(message: Message) -> dict[str, Any] | None:
    """The message as it will be sent again: formatted text, or a photo or document and caption."""
    # Control characters pasted into the announcement would end up in every copy.
    if message.photo:
        return {"photo": message.photo[-1].file_id, "text": clean_text(message.caption_html or "")}
    if message.document:
        caption = clean_text(message.caption_html or "")
        return {"document": message.document.file_id, "text": caption}
    if message.text:
        return {"text": clean_text(message.text_html)}
    return None


async def receive_message(update: Update, context: Context) -> int:
    """Stores the message in the draft; shows it as recipients will see it and asks to confirm."""
    message = update.effective_message
    if message is None or context.user_data is None or DRAFT not in context.user_data:
        return ConversationHandler.END
    rt = runtime(context)
    who = await _still_allowed(update, context)
    if who is None:
        return ConversationHandler.END
    if await _expired(update, context, who):
        return ConversationHandler.END
    payload = payload_of(message)
    if payload is None:
        await reply(update, who, who.t.gettext("Send a text, a photo or a document."))
        return MESSAGE
    draft = context.user_data[DRAFT]
    draft["payload"] = payload
    people = await broadcasts.recipients(rt.db, rt.content, draft["audience"], rt.clock.now())
    await reply(update, who, who.t.gettext("Preview, exactly as recipients will see it:"))
    await send_payload(context.bot, who.chat_id, payload)
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(who.t.gettext("Confirm"), callback_data="bc:ok"),
                InlineKeyboardButton(who.t.gettext("Cancel"), callback_data="bc:no"),
            ]
        ]
    )
    count = format_decimal(len(people), locale=who.t.locale)
    await reply(
        update,
        who,
        who.t.ngettext(
            "Send it to %(count)s person?", "Send it to %(count)s people?", len(people), count=count
        ),
        keyboard,
    )
    return CONFIRM


async def confirm(update: Update, context: Context) -> int:
    """Stores the broadcast and one outbox row per recipient; shows its progress as it goes."""
    query = update.callback_query
    if query is None or query.data is None or context.user_data is None:
        return ConversationHandler.END
    rt = runtime(context)
    who = await _still_allowed(update, context)
    if who is None:
        return ConversationHandler.END
    if await _expired(update, context, who):
        return ConversationHandler.END
    await answer_query(query)
    draft = context.user_data.pop(DRAFT, None)
    if query.data != "bc:ok" or not draft or "payload" not in draft:
        await query.edit_message_text(who.t.bidi(who.t.gettext("Cancelled: nothing was sent.")))
        return ConversationHandler.END
    now = rt.clock.now()
    people = await broadcasts.recipients(rt.db, rt.content, draft["audience"], now)
    created = await broadcasts.create(
        rt.db,
        created_by=who.identity.user_id,
        audience=draft["audience"],
        payload=draft["payload"],
        people=people,
        now=now,
    )
    if rt.sender is not None:
        rt.sender.wake.set()
    message = query.message
    if isinstance(message, Message):
        await show_progress(context, rt, who.t, created, message.chat_id, message.message_id)
        if context.job_queue is not None:
            context.job_queue.run_repeating(
                _progress_job,
                interval=PROGRESS_SECONDS,
                first=PROGRESS_SECONDS,
                name=f"relais-broadcast-{created.id}",
                data={
                    "broadcast": created.id,
                    "chat": message.chat_id,
                    "message": message.message_id,
                    "locale": who.t.locale,
                },
            )
    return ConversationHandler.END


async def _still_allowed(update: Update, context: Context) -> Caller | None:
    """The caller if they still hold a coordination role; else the draft is dropped.

    Checked at every step, not only at /broadcast: a role revoked mid-way ends it there.
    """
    who = await staff_caller(update, context, COORDINATION)
    if who is None:
        if context.user_data is not None:
            context.user_data.pop(DRAFT, None)
        if update.callback_query is not None:
            await answer_query(update.callback_query)
    return who


async def _expired(update: Update, context: Context, who: Caller) -> bool:
    """True (draft dropped, user told) when the draft has waited longer than ``IDLE``."""
    draft = (context.user_data or {}).get(DRAFT)
    at = draft.get("at") if isinstance(draft, dict) else None
    if at is None or runtime(context).clock.now() - at <= IDLE:
        return False
    if context.user_data is not None:
        context.user_data.pop(DRAFT, None)
    if update.callback_query is not None:
        await answer_query(update.callback_query)
    await reply(update, who, expired_text(who.t))
    return True


def expired_text(t: Translator) -> str:
    """What a coordinator is told when a draft announcement waited too long."""
    return t.gettext(
        "This announcement waited too long and was dropped: nothing was sent. Send /broadcast "
        "to start again."
    )


async def _timed_out(update: object, context: Context) -> None:
    """Stores nothing; drops the draft when PTB ends an idle conversation."""
    if context.user_data is not None:
        context.user_data.pop(DRAFT, None)


async def cancel_compose(update: Update, context: Context) -> int:
    """Stores nothing; drops the draft."""
    who = await caller(update, context)
    if context.user_data is not None:
        context.user_data.pop(DRAFT, None)
    await reply(update, who, who.t.gettext("Cancelled: nothing was sent."))
    return ConversationHandler.END


def progress_text(t: Translator, state: Progress, rate: float, cancelled: bool = False) -> str:
    """ "1 240 / 3 000 sent · 3 failed · ~1 min left" with a bar; the final report when done."""

    def n(value: int) -> str:
        return format_decimal(value, locale=t.locale)

    if state.done or cancelled:
        lines = [
            t.gettext("Broadcast stopped.") if cancelled else t.gettext("Broadcast finished."),
            " · ".join(
                [
                    t.ngettext(
                        "%(n)s sent of %(total)s",
                        "%(n)s sent of %(total)s",
                        state.sent,
                        n=n(state.sent),
                        total=n(state.total),
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
                    n=n(state.cancelled),
                )
            )
        for reason, count in state.failures.items():
            lines.append(f"• {escape(_reason(t, reason))}: {n(count)}")
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
                        n=n(state.sent),
                        total=n(state.total),
                    ),
                    failed_text(t, state.failed),
                    t.ngettext("~%(n)s min left", "~%(n)s min left", minutes, n=n(minutes)),
                ]
            ),
        ]
    )


def failed_text(t: Translator, failed: int) -> str:
    """ "3 failed", with the noun agreeing with the count."""
    return t.ngettext(
        "%(n)s failed", "%(n)s failed", failed, n=format_decimal(failed, locale=t.locale)
    )


def _reason(t: Translator, reason: str) -> str:
    if reason.startswith("blocked"):
        return t.gettext("blocked the bot")
    if reason.startswith("network"):
        return t.gettext("network errors")
    return reason


async def show_progress(
    context: Context,
    rt: Runtime,
    t: Translator,
    broadcast: Broadcast,
    chat_id: int,
    message_id: int,
) -> bool:
    """Edit the progress message; True once the broadcast is over (final report shown)."""
    fresh = await broadcasts.get(rt.db, broadcast.id) or broadcast
    state = await broadcasts.progress(rt.db, fresh, rt.clock.now())
    cancelled = fresh.status == "cancelled"
    over = state.done or cancelled
    markup = None
    if not over:
        markup = InlineKeyboardMarkup(
            [[InlineKeyboardButton(t.gettext("Stop"), callback_data=f"bc:stop:{broadcast.id}")]]
        )
    try:
        await context.bot.edit_message_text(
            t.bidi(progress_text(t, state, rt.settings.outbox_rate, cancelled)),
            chat_id=chat_id,
            message_id=message_id,
            reply_markup=markup,
        )
    except BadRequest as exc:
        # "message is not modified" between two identical counts is expected.
        if "not modified" not in exc.message:
            raise
    return over


async def _progress_job(context: Context) -> None:
    job = context.job
    if job is None or not isinstance(job.data, dict):
        return
    rt = runtime(context)
    found = await broadcasts.get(rt.db, job.data["broadcast"])
    if found is None:
        job.schedule_removal()
        return
    t = Translator(job.data["locale"], rt.content.programme.tz)
    if await show_progress(context, rt, t, found, job.data["chat"], job.data["message"]):
        job.schedule_removal()


async def stop_broadcast(update: Update, context: Context) -> None:
    """Stores the cancellation: messages not yet sent are dropped; shows the final report."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    rt = runtime(context)
    who = await caller(update, context)
    if not who.identity.roles & COORDINATION:
        await answer_query(query, who.t.gettext("This button is no longer valid."))
        return
    raw = query.data.rsplit(":", 1)[-1]
    # Forged digits past SQLite's 64-bit integers would raise OverflowError in the query.
    found = await broadcasts.get(rt.db, int(raw)) if len(raw) <= 18 else None
    if found is None or found.status != "sending":
        await answer_query(query, who.t.gettext("This button is no longer valid."))
        return
    stopped = await broadcasts.cancel(rt.db, found, who.identity.user_id, rt.clock.now())
    await answer_query(query, who.t.gettext("Stopped: %(n)s messages will not be sent.", n=stopped))
    message = query.message
    if isinstance(message, Message):
        await show_progress(context, rt, who.t, found, message.chat_id, message.message_id)


async def list_broadcasts(update: Update, context: Context) -> None:
    """Stores nothing; lists recent broadcasts with their counts, and a Stop button if running."""
    rt = runtime(context)
    who = await staff_caller(update, context, COORDINATION)
    if who is None:
        return
    t = who.t
    found = await broadcasts.recent(rt.db)
    if not found:
        await reply(update, who, t.gettext("No broadcast yet. Send /broadcast to start one."))
        return
    lines = [t.gettext("<b>Recent broadcasts</b>")]
    buttons = []
    for item in found:
        state = await broadcasts.progress(rt.db, item, rt.clock.now())
        lines.append(
            t.gettext(
                "#%(id)d · %(when)s · %(audience)s · %(sent)d/%(total)d sent",
                id=item.id,
                when=t.short_datetime(item.created_at),
                audience=escape(item.audience),
                sent=state.sent,
                total=state.total,
            )
            + " · "
            + failed_text(t, state.failed)
        )
        if item.status == "sending" and not state.done:
            buttons.append(
                [
                    InlineKeyboardButton(
                        t.gettext("Stop #%(id)d", id=item.id), callback_data=f"bc:stop:{item.id}"
                    )
                ]
            )
    await reply(update, who, "\n".join(lines), InlineKeyboardMarkup(buttons) if buttons else None)


def conversation(private: filters.BaseFilter) -> ConversationHandler[Any]:
    """The /broadcast conversation; registered before the other message handlers."""
    with warnings.catch_warnings():
        # Tracking per chat and user (not per message) is what we want here.
        warnings.simplefilter("ignore", PTBUserWarning)
        states: dict[object, list[BaseHandler[Update, Any, object]]] = {
            AUDIENCE: [CallbackQueryHandler(choose_audience, pattern=r"^bc:(a:|no$)")],
            MESSAGE: [
                MessageHandler(
                    private
                    & ((filters.TEXT & ~filters.COMMAND) | filters.PHOTO | filters.Document.ALL),
                    receive_message,
                )
            ],
            CONFIRM: [CallbackQueryHandler(confirm, pattern=r"^bc:(ok|no)$")],
            ConversationHandler.TIMEOUT: [TypeHandler(Update, _timed_out)],
        }
        return ConversationHandler(
            entry_points=[CommandHandler("broadcast", start_broadcast, filters=private)],
            states=states,
            fallbacks=[CommandHandler("cancel", cancel_compose, filters=private)],
            per_message=False,
            # Ends a forgotten draft in production (real time); the steps also check the
            # runtime clock, which tests move.
            conversation_timeout=IDLE.total_seconds(),
            name="broadcast",
        )
