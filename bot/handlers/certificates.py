"""Certificates in the chat: the coordinators' approval queue, a copy from /me, verification."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot import callbacks
from bot.certificate_sender import deliver_pending, record_sent, send_certificate
from bot.handlers.common import Caller, Context, answer_query, caller, reply, runtime, staff_caller
from bot.i18n import Translator, escape
from bot.services.access import COORDINATION
from bot.services.certification import (
    ApproveStatus,
    Candidate,
    Queue,
    approve,
    approve_all,
    certificates_of,
    level_name,
    missing_text,
    queue,
    verification_text,
    verify,
)
from bot.storage.certificates import Certificate

# A message lists at most this many people; the command line lists everyone.
SHOWN = 12
BUTTONS = 8


async def list_certificates(update: Update, context: Context) -> None:
    """Stores nothing; shows coordinators who is ready, who misses what, with approve buttons."""
    rt = runtime(context)
    who = await staff_caller(update, context, COORDINATION)
    if who is None:
        return
    found = await queue(rt.db, rt.content, rt.clock.now())
    if found is None:
        await reply(update, who, who.t.gettext("This programme issues no certificates."))
        return
    text, markup = queue_screen(who.t, found)
    await reply(update, who, text, markup)


def _name(candidate: Candidate) -> str:
    person = candidate.participant
    return f"{person.code} · {escape(person.full_name)} · {escape(person.cohort)}"


def queue_screen(t: Translator, found: Queue) -> tuple[str, InlineKeyboardMarkup | None]:
    """The /certificates message and its buttons, from the queue as it stands now."""
    ready = found.ready
    lines = [t.gettext("<b>Certificates</b>"), ""]
    lines.append(t.ngettext("Ready for approval: %(n)d", "Ready for approval: %(n)d", len(ready)))
    for candidate, level in ready[:SHOWN]:
        lines.append(f"• {_name(candidate)} — {escape(level_name(t, level))}")
    if len(ready) > SHOWN:
        lines.append(t.gettext("… and %(n)d more.", n=len(ready) - SHOWN))
    quiz_open = [
        c
        for c in found.candidates
        if not c.quiz_closed and (c.status.participation.obtained or c.status.success.obtained)
    ]
    if quiz_open:
        lines.append(
            t.ngettext(
                "%(n)d more will be ready when the final quiz closes for their cohort.",
                "%(n)d more will be ready when the final quiz closes for their cohort.",
                len(quiz_open),
            )
        )
    waiting = [c for c in found.waiting if c not in quiz_open]
    lines.append("")
    lines.append(t.ngettext("Missing something: %(n)d", "Missing something: %(n)d", len(waiting)))
    for candidate in waiting[:SHOWN]:
        lines.append(
            t.gettext(
                "• %(who)s: %(missing)s",
                who=_name(candidate),
                missing=missing_text(t, candidate.status.participation),
            )
        )
    if len(waiting) > SHOWN:
        lines.append(t.gettext("… and %(n)d more.", n=len(waiting) - SHOWN))
    issued = found.issued
    lines.append("")
    lines.append(t.ngettext("Issued: %(n)d", "Issued: %(n)d", len(issued)))
    lines.append(t.gettext("Everyone, with what is missing: relais certificates list"))
    rows = [
        [
            InlineKeyboardButton(
                t.gettext(
                    "✅ %(name)s · %(level)s",
                    name=candidate.participant.full_name[:24],
                    level=level_name(t, level),
                ),
                callback_data=callbacks.cert_approve(candidate.participant.id, level),
            )
        ]
        for candidate, level in ready[:BUTTONS]
    ]
    if len(ready) > 1:
        rows.append(
            [
                InlineKeyboardButton(
                    t.gettext("✅ Approve all (%(n)d)", n=len(ready)),
                    callback_data=callbacks.cert_approve_all(found.fingerprint),
                )
            ]
        )
    return "\n".join(lines), InlineKeyboardMarkup(rows) if rows else None


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
    rt = runtime(context)
    user = update.effective_user
    assert user is not None
    participant_id, level = parsed
    outcome = await approve(
        rt.db, rt.content, participant_id, level, actor=f"tg:{user.id}", now=rt.clock.now()
    )
    t = who.t
    notices = {
        ApproveStatus.APPROVED: t.gettext("Approved: the participant receives it now."),
        ApproveStatus.ALREADY: t.gettext("Already issued: nothing was done."),
        ApproveStatus.NOT_READY: t.gettext("No longer ready: nothing was done."),
        ApproveStatus.UNKNOWN: t.gettext("This button is no longer valid."),
        ApproveStatus.NO_RULES: t.gettext("This programme issues no certificates."),
    }
    await answer_query(query, notices[outcome.status])
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
    rt = runtime(context)
    user = update.effective_user
    assert user is not None
    results = await approve_all(
        rt.db, rt.content, actor=f"tg:{user.id}", now=rt.clock.now(), fingerprint=fingerprint
    )
    t = who.t
    if results is None:
        await answer_query(
            query, t.gettext("The list has changed since it was shown: here it is again.")
        )
    else:
        done = sum(1 for r in results if r.status is ApproveStatus.APPROVED)
        await answer_query(query, t.ngettext("%(n)d approved.", "%(n)d approved.", done))
    await _refresh(update, context, who)
    if results:
        await deliver_pending(context.bot, rt)


async def _refresh(update: Update, context: Context, who: Caller) -> None:
    """Replace the pressed message with the queue as it is now (its buttons are spent)."""
    rt = runtime(context)
    query = update.callback_query
    found = await queue(rt.db, rt.content, rt.clock.now())
    if query is None or found is None or query.message is None:
        return
    text, markup = queue_screen(who.t, found)
    try:
        await query.edit_message_text(who.t.bidi(text), reply_markup=markup)
    except BadRequest as exc:
        # Pressed on a screen that already shows the queue as it is: nothing to change.
        if "not modified" not in exc.message:
            raise


def issued_text(t: Translator, issued: list[Certificate]) -> str:
    """The /me lines about certificates already issued."""
    lines = [t.gettext("<b>Your certificates</b>")]
    for cert in issued:
        name = escape(level_name(t, cert.level))
        if cert.revoked:
            lines.append(t.gettext("❌ %(name)s: revoked", name=name))
        else:
            lines.append(
                t.gettext(
                    "🎓 %(name)s, issued on %(date)s", name=name, date=t.date(cert.approved_at)
                )
            )
    return "\n".join(lines)


def again_button(t: Translator, cert: Certificate) -> InlineKeyboardButton:
    """The /me button that sends a certificate again."""
    return InlineKeyboardButton(
        t.gettext("📄 Receive again: %(name)s", name=level_name(t, cert.level)),
        callback_data=callbacks.cert_get(cert.id),
    )


async def send_again(update: Update, context: Context) -> None:
    """Stores nothing; sends the holder their certificate again (only theirs, if not revoked)."""
    query = update.callback_query
    assert query is not None
    wanted = callbacks.parse_cert_get(query.data)
    rt = runtime(context)
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
    rt = runtime(context)
    user = update.effective_user
    assert user is not None
    who = await caller(update, context)
    result = await verify(rt.db, rt.content, code, key=f"tg:{user.id}", now=rt.clock.now())
    await reply(update, who, verification_text(who.t, result))
