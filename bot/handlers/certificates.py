"""Certificates in the chat: the coordinators' approval queue, a copy from /me, verification."""

from __future__ import annotations

from telegram import InlineKeyboardButton, Update
from telegram.error import BadRequest

from bot import callbacks
from bot.certificate_sender import deliver_pending, record_sent, send_certificate
from bot.handlers.common import Caller, Context, answer_query, caller, keyboard, reply, staff_caller
from bot.i18n import Translator
from bot.services.access import COORDINATION
from bot.services.certification import (
    ApproveStatus,
    approve,
    approve_all,
    certificates_of,
    queue,
    verify,
)
from bot.storage.certificates import Certificate
from bot.views import certificates as views


async def list_certificates(update: Update, context: Context) -> None:
    """Stores nothing; shows coordinators who is ready, who misses what, with approve buttons."""
    rt = context.runtime
    who = await staff_caller(update, context, COORDINATION)
    if who is None:
        return
    found = await queue(rt.db, rt.content, rt.clock.now())
    if found is None:
        await reply(update, who, views.no_certificates_text(who.t))
        return
    text, rows = views.queue_screen(who.t, found)
    await reply(update, who, text, keyboard(rows))


async def _coordinator(update: Update, context: Context) -> Caller | None:
    """The caller of a queue button if a coordinator; else the press is refused."""
    who = await caller(update, context)
    query = update.callback_query
    if query is not None and not who.identity.roles & COORDINATION:
        await answer_query(query, who.t.gettext("This button is no longer valid."))
        return None
    return who


async def approve_one(update: Update, context: Context) -> None:
    """Stores the approval of one certificate (checked again against the database), sends it to
    the holder and shows the queue again."""
    query = update.callback_query
    assert query is not None
    parsed = callbacks.parse_cert_approve(query.data)
    who = await _coordinator(update, context)
    if who is None or parsed is None:
        return
    rt = context.runtime
    user = update.effective_user
    assert user is not None
    participant_id, level = parsed
    outcome = await approve(
        rt.db, rt.content, participant_id, level, actor=f"tg:{user.id}", now=rt.clock.now()
    )
    await answer_query(query, views.approve_notice(who.t, outcome.status))
    await _refresh(update, context, who)
    if outcome.status is ApproveStatus.APPROVED:
        await deliver_pending(context.bot, rt)


async def approve_everyone(update: Update, context: Context) -> None:
    """Stores the approval of everything ready, if the list is the one shown; sends them and
    shows the queue again."""
    query = update.callback_query
    assert query is not None
    fingerprint = callbacks.parse_cert_approve_all(query.data)
    who = await _coordinator(update, context)
    if who is None or fingerprint is None:
        return
    rt = context.runtime
    user = update.effective_user
    assert user is not None
    results = await approve_all(
        rt.db, rt.content, actor=f"tg:{user.id}", now=rt.clock.now(), fingerprint=fingerprint
    )
    done = (
        None if results is None else sum(1 for r in results if r.status is ApproveStatus.APPROVED)
    )
    await answer_query(query, views.approve_all_notice(who.t, done))
    await _refresh(update, context, who)
    if results:
        await deliver_pending(context.bot, rt)


async def _refresh(update: Update, context: Context, who: Caller) -> None:
    """Replace the pressed message with the queue as it is now (its buttons are spent)."""
    rt = context.runtime
    query = update.callback_query
    found = await queue(rt.db, rt.content, rt.clock.now())
    if query is None or found is None or query.message is None:
        return
    text, rows = views.queue_screen(who.t, found)
    try:
        await query.edit_message_text(who.t.bidi(text), reply_markup=keyboard(rows))
    except BadRequest as exc:
        # Pressed on a screen that already shows the queue as it is: nothing to change.
        if "not modified" not in exc.message:
            raise


def again_button(t: Translator, cert: Certificate) -> InlineKeyboardButton:
    """The /me button that sends a certificate again."""
    return InlineKeyboardButton(
        views.again_label(t, cert), callback_data=callbacks.cert_get(cert.id)
    )


async def send_again(update: Update, context: Context) -> None:
    """Stores nothing; sends the holder their certificate again (only theirs, if not revoked)."""
    query = update.callback_query
    assert query is not None
    wanted = callbacks.parse_cert_get(query.data)
    rt = context.runtime
    who = await caller(update, context)
    participant = who.identity.participant
    mine = await certificates_of(rt.db, participant.id) if participant is not None else []
    cert = next((c for c in mine if c.id == wanted), None)
    if participant is None or cert is None or cert.revoked:
        await answer_query(query, who.t.gettext("This button is no longer valid."))
        return
    await answer_query(query)
    message = await send_certificate(context.bot, rt, cert, participant, who.chat_id)
    if cert.file_id is None and message.document is not None:
        await record_sent(rt.db, cert, message.document.file_id, rt.clock.now())


async def verify_link(update: Update, context: Context, code: str) -> None:
    """Stores a failed attempt if the code is unknown; answers anyone who opened a
    certificate's QR code with its minimal data, valid or revoked."""
    rt = context.runtime
    user = update.effective_user
    assert user is not None
    who = await caller(update, context)
    result = await verify(rt.db, rt.content, code, key=f"tg:{user.id}", now=rt.clock.now())
    await reply(update, who, views.verification_text(who.t, result))
