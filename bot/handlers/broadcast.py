"""/broadcast: audience with live counts, the message, a preview, confirm, progress, report."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from telegram import Message, Update
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

from bot import callbacks
from bot.handlers.common import (
    Caller,
    Context,
    answer_query,
    caller,
    reply,
    staff_caller,
)
from bot.i18n import Translator
from bot.outgoing import OutgoingMessage
from bot.runtime import Runtime
from bot.sender import keyboard, send_message
from bot.services import broadcasts
from bot.services.access import COORDINATION
from bot.services.text import clean_text
from bot.views import broadcast as views

log = logging.getLogger(__name__)

AUDIENCE, MESSAGE, CONFIRM = range(3)
DRAFT = "broadcast_draft"
PROGRESS_SECONDS = 3.0
# A draft nobody touched for this long is dropped: a revoked or absent coordinator's
# half-composed announcement must not be sent later by a stray tap.
IDLE = timedelta(minutes=30)


@dataclass(slots=True)
class BroadcastDraft:
    """An announcement being composed, kept in the coordinator's ``user_data``."""

    audience: str
    at: datetime  # when the audience was chosen: the draft expires ``IDLE`` after
    message: OutgoingMessage | None = None


def _draft(context: Context) -> BroadcastDraft | None:
    found = (context.user_data or {}).get(DRAFT)
    return found if isinstance(found, BroadcastDraft) else None


def _drop(context: Context) -> BroadcastDraft | None:
    found = context.user_data.pop(DRAFT, None) if context.user_data is not None else None
    return found if isinstance(found, BroadcastDraft) else None


async def start_broadcast(update: Update, context: Context) -> int:
    """Stores nothing yet; asks whom to write to, with live counts."""
    rt = context.runtime
    who = await staff_caller(update, context, COORDINATION)
    if who is None:
        return ConversationHandler.END
    found = await broadcasts.audiences(rt.db, rt.content, rt.clock.now())
    screen = views.choose_audience(who.t, rt.content, found)
    await reply(update, who, screen.text, keyboard(screen.buttons))
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
    audience = callbacks.parse_broadcast_audience(query.data)
    if audience is None:
        await query.edit_message_text(who.t.bidi(views.cancelled(who.t)))
        return ConversationHandler.END
    context.user_data[DRAFT] = BroadcastDraft(audience, context.runtime.clock.now())
    await query.edit_message_text(who.t.bidi(views.ask_message(who.t)))
    return MESSAGE


def message_of(message: Message) -> OutgoingMessage | None:
    """The message as it will be sent again: formatted text, or a photo or document and caption."""
    # Control characters pasted into the announcement would end up in every copy.
    if message.photo:
        caption = clean_text(message.caption_html or "")
        return OutgoingMessage(caption, photo=message.photo[-1].file_id)
    if message.document:
        caption = clean_text(message.caption_html or "")
        return OutgoingMessage(caption, document=message.document.file_id)
    if message.text:
        return OutgoingMessage(clean_text(message.text_html))
    return None


async def receive_message(update: Update, context: Context) -> int:
    """Stores the message in the draft; shows it as recipients will see it and asks to confirm."""
    message = update.effective_message
    draft = _draft(context)
    if message is None or draft is None:
        return ConversationHandler.END
    rt = context.runtime
    who = await _still_allowed(update, context)
    if who is None:
        return ConversationHandler.END
    if await _expired(update, context, who):
        return ConversationHandler.END
    outgoing = message_of(message)
    if outgoing is None:
        await reply(update, who, views.not_a_message(who.t))
        return MESSAGE
    draft.message = outgoing
    people = await broadcasts.recipients(rt.db, rt.content, draft.audience, rt.clock.now())
    await reply(update, who, views.preview_heading(who.t))
    await send_message(context.bot, who.chat_id, outgoing)
    screen = views.confirm(who.t, len(people))
    await reply(update, who, screen.text, keyboard(screen.buttons))
    return CONFIRM


async def confirm(update: Update, context: Context) -> int:
    """Stores the broadcast and one outbox row per recipient; shows its progress as it goes."""
    query = update.callback_query
    if query is None or query.data is None or context.user_data is None:
        return ConversationHandler.END
    rt = context.runtime
    who = await _still_allowed(update, context)
    if who is None:
        return ConversationHandler.END
    if await _expired(update, context, who):
        return ConversationHandler.END
    await answer_query(query)
    draft = _drop(context)
    if query.data != callbacks.BROADCAST_OK or draft is None or draft.message is None:
        await query.edit_message_text(who.t.bidi(views.cancelled(who.t)))
        return ConversationHandler.END
    now = rt.clock.now()
    people = await broadcasts.recipients(rt.db, rt.content, draft.audience, now)
    created = await broadcasts.create(
        rt.db,
        created_by=who.identity.user_id,
        audience=draft.audience,
        message=draft.message,
        people=people,
        now=now,
    )
    if rt.sender is not None:
        rt.sender.wake.set()
    message = query.message
    if isinstance(message, Message):
        await show_progress(context, rt, who.t, created.id, message.chat_id, message.message_id)
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
        _drop(context)
        if update.callback_query is not None:
            await answer_query(update.callback_query)
    return who


async def _expired(update: Update, context: Context, who: Caller) -> bool:
    """True (draft dropped, user told) when the draft has waited longer than ``IDLE``."""
    draft = _draft(context)
    if draft is None or context.runtime.clock.now() - draft.at <= IDLE:
        return False
    _drop(context)
    if update.callback_query is not None:
        await answer_query(update.callback_query)
    await reply(update, who, views.expired(who.t))
    return True


async def _timed_out(update: object, context: Context) -> None:
    """Stores nothing; drops the draft when PTB ends an idle conversation."""
    _drop(context)


async def cancel_compose(update: Update, context: Context) -> int:
    """Stores nothing; drops the draft."""
    who = await caller(update, context)
    _drop(context)
    await reply(update, who, views.cancelled(who.t))
    return ConversationHandler.END


async def show_progress(
    context: Context,
    rt: Runtime,
    t: Translator,
    broadcast_id: int,
    chat_id: int,
    message_id: int,
) -> bool:
    """Edit the progress message; True once the broadcast is over (final report shown)."""
    found = await broadcasts.standing(rt.db, broadcast_id, rt.clock.now())
    if found is None:
        return True
    screen = views.progress(t, found, rt.settings.outbox_rate)
    try:
        await context.bot.edit_message_text(
            screen.text,
            chat_id=chat_id,
            message_id=message_id,
            reply_markup=keyboard(screen.buttons),
        )
    except BadRequest as exc:
        # "message is not modified" between two identical counts is expected.
        if "not modified" not in exc.message:
            raise
    return found.over


async def _progress_job(context: Context) -> None:
    job = context.job
    if job is None or not isinstance(job.data, dict):
        return
    rt = context.runtime
    t = Translator(job.data["locale"], rt.content.programme.tz)
    if await show_progress(
        context, rt, t, job.data["broadcast"], job.data["chat"], job.data["message"]
    ):
        job.schedule_removal()


async def stop_broadcast(update: Update, context: Context) -> None:
    """Stores the cancellation: messages not yet sent are dropped; shows the final report."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    rt = context.runtime
    who = await caller(update, context)
    if not who.identity.roles & COORDINATION:
        await answer_query(query, who.t.gettext("This button is no longer valid."))
        return
    broadcast_id = callbacks.parse_broadcast_stop(query.data)
    found = await broadcasts.get(rt.db, broadcast_id) if broadcast_id is not None else None
    if found is None or found.status != broadcasts.BroadcastStatus.SENDING:
        await answer_query(query, who.t.gettext("This button is no longer valid."))
        return
    stopped = await broadcasts.cancel(rt.db, found, who.identity.user_id, rt.clock.now())
    await answer_query(query, views.stopped(who.t, stopped))
    message = query.message
    if isinstance(message, Message):
        await show_progress(context, rt, who.t, found.id, message.chat_id, message.message_id)


async def list_broadcasts(update: Update, context: Context) -> None:
    """Stores nothing; lists recent broadcasts with their counts, and a Stop button if running."""
    rt = context.runtime
    who = await staff_caller(update, context, COORDINATION)
    if who is None:
        return
    found = await broadcasts.recent(rt.db)
    if not found:
        await reply(update, who, views.none_yet(who.t))
        return
    now = rt.clock.now()
    standings = [
        broadcasts.Standing(item, await broadcasts.progress(rt.db, item, now)) for item in found
    ]
    screen = views.recent(who.t, rt.content, standings)
    await reply(update, who, screen.text, keyboard(screen.buttons))


def conversation(private: filters.BaseFilter) -> ConversationHandler[Any]:
    """The /broadcast conversation; registered before the other message handlers."""
    with warnings.catch_warnings():
        # Tracking per chat and user (not per message) is what we want here.
        warnings.simplefilter("ignore", PTBUserWarning)
        states: dict[object, list[BaseHandler[Update, Any, object]]] = {
            AUDIENCE: [
                CallbackQueryHandler(choose_audience, pattern=callbacks.BROADCAST_AUDIENCE_PATTERN)
            ],
            MESSAGE: [
                MessageHandler(
                    private
                    & ((filters.TEXT & ~filters.COMMAND) | filters.PHOTO | filters.Document.ALL),
                    receive_message,
                )
            ],
            CONFIRM: [CallbackQueryHandler(confirm, pattern=callbacks.BROADCAST_CONFIRM_PATTERN)],
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
