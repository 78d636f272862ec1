"""The action plan: /plan explains, a document is stored; staff list and fetch with /plans."""

from __future__ import annotations

from telegram import Update

from bot.handlers.common import Context, caller, refuse, reply, staff_caller
from bot.services.access import COORDINATION
from bot.services.plans import submission_of, submissions, submit_plan
from bot.services.text import clean_text
from bot.storage import progress
from bot.views.plan import (
    caption,
    how_to_text,
    list_text,
    no_plan_text,
    not_for_staff_text,
    receipt_text,
)


async def ask_plan(update: Update, context: Context) -> None:
    """Stores nothing; says how to send the action plan and what was received so far."""
    rt = context.runtime
    who = await caller(update, context)
    participant = who.identity.participant
    if participant is None:
        await refuse(update, who, not_for_staff_text(who.t))
        return
    async with rt.db.read() as conn:
        plan = await progress.latest_plan(conn, participant.id)
    await reply(update, who, how_to_text(who.t, plan))


async def receive_document(update: Update, context: Context) -> None:
    """Stores a participant's document as their action plan; confirms what was received."""
    message = update.effective_message
    if message is None or message.document is None:
        return
    rt = context.runtime
    who = await caller(update, context)
    participant = who.identity.participant
    if participant is None:
        await refuse(update, who, not_for_staff_text(who.t))
        return
    document = message.document
    outcome = await submit_plan(
        rt.db,
        participant,
        file_id=document.file_id,
        file_unique_id=document.file_unique_id,
        file_name=clean_text(document.file_name) if document.file_name else None,
        mime_type=document.mime_type,
        size=document.file_size,
        now=rt.clock.now(),
    )
    await reply(update, who, receipt_text(who.t, outcome))


async def list_plans(update: Update, context: Context) -> None:
    """Stores nothing; lists the action plans received, or sends one (/plans CODE) to staff."""
    rt = context.runtime
    who = await staff_caller(update, context, COORDINATION)
    if who is None:
        return
    if context.args:
        found = await submission_of(rt.db, context.args[0])
        # An erased participant's plan still counts, but the document is gone.
        if found is None or not found.plan.file_id:
            await reply(update, who, no_plan_text(who.t, context.args[0]))
            return
        await context.bot.send_document(who.chat_id, found.plan.file_id, caption=caption(found))
        return
    await reply(update, who, list_text(who.t, await submissions(rt.db)))
