"""Attendance in the chat: the check-in QR code (/checkin), its scan, and /attendance."""

from __future__ import annotations

import logging

from telegram import Message, Update
from telegram.error import TelegramError

from bot import callbacks
from bot.content import Programme, Session
from bot.handlers.common import (
    Context,
    access_text,
    answer_query,
    caller,
    keyboard,
    reply,
    staff_caller,
    translator,
)
from bot.i18n import Translator
from bot.runtime import Runtime
from bot.services import checkin as service
from bot.services.access import COORDINATION
from bot.services.attendance import roll
from bot.views import attendance as views

log = logging.getLogger(__name__)

JOB_PREFIX = "relais-checkin-"


def _session(programme: Programme, session_id: str | None) -> Session | None:
    return next((s for s in programme.all_sessions() if s.id == session_id), None)


async def open_checkin(update: Update, context: Context) -> None:
    """Stores a check-in code; shows its QR code, renewed every few minutes until the end."""
    rt = context.runtime
    who = await staff_caller(update, context, COORDINATION)
    if who is None:
        return
    t = who.t
    session = _session(rt.content.programme, (context.args or [""])[0])
    if session is None:
        await reply(update, who, views.usage_text(t, rt.content.programme, "checkin"))
        return
    now = rt.clock.now()
    if not service.is_open(session, now):
        found = service.windows(session)
        await reply(
            update,
            who,
            views.checkin_hours_text(t, session, found[0][1], found[-1][2]),
        )
        return
    await _show_code(context, rt, t, session, who.chat_id, who.identity.user_id, previous=None)
    if context.job_queue is not None:
        name = f"{JOB_PREFIX}{who.chat_id}"
        for job in context.job_queue.get_jobs_by_name(name):
            job.schedule_removal()
        context.job_queue.run_repeating(
            _rotate_job,
            interval=service.ROTATE,
            first=service.ROTATE,
            name=name,
            chat_id=who.chat_id,
            user_id=who.identity.user_id,
            data={"user": who.identity.user_id, "locale": t.locale},
        )


async def _show_code(
    context: Context,
    rt: Runtime,
    t: Translator,
    session: Session,
    chat_id: int,
    user_id: int,
    previous: int | None,
) -> Message:
    """Send a fresh QR code, then take the previous one off the screen."""
    code = await service.issue_code(rt.db, session, staff_user_id=user_id, clock=rt.clock)
    username = context.bot.username
    caption = views.code_caption(t, session, code.expires_at, code.link(username))
    sent = await context.bot.send_photo(
        chat_id,
        code.qr_png(username),
        caption=t.bidi(caption),
        reply_markup=keyboard(views.code_buttons(t, session)),
    )
    if previous is not None:
        try:
            await context.bot.delete_message(chat_id, previous)
        except TelegramError as exc:
            # An old code left on screen is harmless: it expires on its own.
            log.info("could not remove the previous check-in code: %s", exc.message)
    if context.chat_data is not None:
        context.chat_data["checkin"] = {"session": session.id, "message": sent.message_id}
    return sent


async def _rotate_job(context: Context) -> None:
    """Every few minutes: a new code on the coordinator's screen, until check-in closes."""
    job = context.job
    if job is None or not isinstance(job.data, dict):
        return
    rt = context.runtime
    chat_id = job.chat_id
    state = (context.chat_data or {}).get("checkin")
    session = _session(rt.content.programme, state["session"] if state else None)
    t = translator(rt, str(job.data["locale"]))
    if chat_id is None or session is None or state is None:
        job.schedule_removal()
        return
    if not service.is_open(session, rt.clock.now()):
        # The session is over: take the last code off the screen and stop.
        job.schedule_removal()
        if context.chat_data is not None:
            context.chat_data.pop("checkin", None)
        try:
            await context.bot.delete_message(chat_id, state["message"])
        except TelegramError as exc:
            log.info("could not remove the last check-in code: %s", exc.message)
        return
    try:
        await _show_code(
            context, rt, t, session, chat_id, int(job.data["user"]), previous=state["message"]
        )
    except TelegramError as exc:
        log.warning("check-in code not renewed: %s", exc.message)


async def rotate_button(update: Update, context: Context) -> None:
    """Stores a new code (New code) or closes the check-in (Stop); coordinators only."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    rt = context.runtime
    who = await caller(update, context)
    parsed = callbacks.parse_checkin(query.data)
    session = _session(rt.content.programme, parsed[1]) if parsed else None
    if not who.identity.roles & COORDINATION or parsed is None or session is None:
        await answer_query(query, who.t.gettext("This button is no longer valid."))
        return
    await answer_query(query)
    state = (context.chat_data or {}).get("checkin")
    previous = state["message"] if state else None
    if parsed[0] == "stop" or not service.is_open(session, rt.clock.now()):
        if context.job_queue is not None:
            for job in context.job_queue.get_jobs_by_name(f"{JOB_PREFIX}{who.chat_id}"):
                job.schedule_removal()
        if context.chat_data is not None:
            context.chat_data.pop("checkin", None)
        await reply(
            update,
            who,
            views.checkin_closed_text(who.t, session),
        )
        if isinstance(query.message, Message):
            try:
                await query.message.delete()
            except TelegramError as exc:
                log.info("could not remove the check-in code: %s", exc.message)
        return
    await _show_code(
        context, rt, who.t, session, who.chat_id, who.identity.user_id, previous=previous
    )


async def scan(update: Update, context: Context) -> None:
    """Stores the participant's check-in (from the QR code's /start link); says what counted."""
    rt = context.runtime
    who = await caller(update, context)
    t = who.t
    participant = who.identity.participant
    if participant is None:
        if who.identity.is_staff:
            await reply(update, who, views.staff_scan_text(t))
        else:
            await reply(update, who, access_text(t))
        return
    payload = (context.args or [""])[0]
    result = await service.scan(rt.db, rt.content.programme, payload, participant, clock=rt.clock)
    await reply(update, who, views.scan_text(t, result))


async def show_attendance(update: Update, context: Context) -> None:
    """Stores nothing; lists who is recorded present at a session and who is missing."""
    rt = context.runtime
    who = await staff_caller(update, context, COORDINATION)
    if who is None:
        return
    session = _session(rt.content.programme, (context.args or [""])[0])
    if session is None:
        await reply(update, who, views.usage_text(who.t, rt.content.programme, "attendance"))
        return
    rows, review = await roll(rt.db, session)
    await reply(update, who, views.roll_text(who.t, session, rows, review))
