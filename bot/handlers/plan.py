"""The action plan: /plan explains, a document is stored; staff list and fetch with /plans."""

from __future__ import annotations

from telegram import Update

from bot.handlers.common import (
    Caller,
    Context,
    caller,
    refuse,
    reply,
    runtime,
    staff_caller,
)
from bot.i18n import escape
from bot.services.access import COORDINATION
from bot.services.plans import MAX_BYTES, PlanStatus, submission_of, submissions, submit_plan
from bot.services.text import clean_text
from bot.storage import progress


async def ask_plan(update: Update, context: Context) -> None:
    """Stores nothing; says how to send the action plan and what was received so far."""
    rt = runtime(context)
    who = await caller(update, context)
    participant = who.identity.participant
    if participant is None:
        await refuse(update, who, _not_for_staff(who))
        return
    t = who.t
    lines = [
        t.gettext(
            "Send your individual action plan here as a document (PDF, DOCX or ODT, "
            "%(mb)d MB at most): tap the paperclip, then File.",
            mb=MAX_BYTES // (1024 * 1024),
        )
    ]
    async with rt.db.read() as conn:
        plan = await progress.latest_plan(conn, participant.id)
    if plan is not None:
        lines.append("")
        lines.append(
            t.gettext(
                "Received: %(name)s, %(when)s. A new document replaces it.",
                name=escape(plan.file_name or "?"),
                when=t.moment(plan.submitted_at),
            )
        )
    await reply(update, who, "\n".join(lines))


def _not_for_staff(who: Caller) -> str:
    return who.t.gettext("Only participants send an action plan. Coordinators use /plans.")


async def receive_document(update: Update, context: Context) -> None:
    """Stores a participant's document as their action plan; confirms what was received."""
    message = update.effective_message
    if message is None or message.document is None:
        return
    rt = runtime(context)
    who = await caller(update, context)
    participant = who.identity.participant
    if participant is None:
        await refuse(update, who, _not_for_staff(who))
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
    t = who.t
    if outcome.status is PlanStatus.WRONG_TYPE:
        text = t.gettext("This file is not a PDF, DOCX or ODT document; nothing was stored.")
    elif outcome.status is PlanStatus.TOO_BIG:
        text = t.gettext(
            "This file is larger than %(mb)d MB; nothing was stored.", mb=MAX_BYTES // (1024 * 1024)
        )
    else:
        assert outcome.plan is not None
        text = t.gettext(
            "Thank you: your action plan %(name)s was received on %(when)s.",
            name=escape(outcome.plan.file_name or "?"),
            when=t.moment(outcome.plan.submitted_at),
        )
    await reply(update, who, text)


async def list_plans(update: Update, context: Context) -> None:
    """Stores nothing; lists the action plans received, or sends one (/plans CODE) to staff."""
    rt = runtime(context)
    who = await staff_caller(update, context, COORDINATION)
    if who is None:
        return
    t = who.t
    if context.args:
        found = await submission_of(rt.db, context.args[0])
        # An erased participant's plan still counts, but the document is gone.
        if found is None or not found.plan.file_id:
            await reply(
                update,
                who,
                t.gettext("No action plan from %(code)s.", code=escape(context.args[0])),
            )
            return
        await context.bot.send_document(
            who.chat_id,
            found.plan.file_id,
            caption=f"{found.participant.code} · {escape(found.participant.full_name)}",
        )
        return
    received = await submissions(rt.db)
    if not received:
        await reply(update, who, t.gettext("No action plan received yet."))
        return
    lines = [
        t.ngettext("%(n)d action plan received:", "%(n)d action plans received:", len(received))
    ]
    for item in received:
        lines.append(
            f"{item.participant.code} · {escape(item.participant.full_name)} · "
            f"{item.participant.cohort} · {escape(item.plan.file_name or '?')} · "
            f"{t.short_datetime(item.plan.submitted_at)}"
        )
    lines.append("")
    lines.append(t.gettext("Send /plans followed by a code to get the document."))
    await reply(update, who, "\n".join(lines))
