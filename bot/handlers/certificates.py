"""Certificates in the chat: the coordinators' approval queue, a copy from /me, verification."""

from __future__ import annotations

import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.certificate_sender import deliver_pending, record_sent, send_certificate
from bot.handlers.common import Caller, Context, answer_query, caller, reply, staff_caller
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

APPROVE_RE = re.compile(r"^cert:ok:(\d{1,12}):([ps])$")
ALL_RE = re.compile(r"^cert:all:([0-9a-f]{10})$")
GET_RE = re.compile(r"^cert:get:(\d{1,12})$")
_LEVEL_KEYS = {"p": "participation", "s": "success"}
# A message lists at most this many people; the command line lists everyone.
SHOWN = 12
BUTTONS = 8


async def list_certificates(update: Update, context: Context) -> None:
    """Stores nothing; shows coordinators who is ready, who misses what, with approve buttons."""
    rt = context.runtime
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
                callback_data=f"cert:ok:{candidate.participant.id}:{level[0]}",
            )
        ]
        for candidate, level in ready[:BUTTONS]
    ]
    if len(ready) > 1:
        rows.append(
            [
                InlineKeyboardButton(
                    t.gettext("✅ Approve all (%(n)d)", n=len(ready)),
                    callback_data=f"cert:all:{found.fingerprint}",
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
    match = APPROVE_RE.match(query.data or "")
    who = await _coordinator(update, context)
    if who is None or match is None:
        return
    rt = context.runtime
    user = update.effective_user
    assert user is not None
    level = _LEVEL_KEYS[match.group(2)]
    outcome = await approve(
        rt.db, rt.content, int(match.group(1)), level, actor=f"tg:{user.id}", now=rt.clock.now()
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
    match = ALL_RE.match(query.data or "")
    who = await _coordinator(update, context)
    if who is None or match is None:
        return
    rt = context.runtime
    user = update.effective_user
    assert user is not None
    results = await approve_all(
        rt.db, rt.content, actor=f"tg:{user.id}", now=rt.clock.now(), fingerprint=match.group(1)
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
    rt = context.runtime
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
        callback_data=f"cert:get:{cert.id}",
    )


async def send_again(update: Update, context: Context) -> None:
    """Stores nothing; sends the holder their certificate again (only theirs, if not revoked)."""
    query = update.callback_query
    assert query is not None
    match = GET_RE.match(query.data or "")
    rt = context.runtime
    who = await caller(update, context)
    participant = who.identity.participant
    mine = await certificates_of(rt.db, participant.id) if participant is not None else []
    cert = next((c for c in mine if match is not None and c.id == int(match.group(1))), None)
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
    await reply(update, who, verification_text(who.t, result))
