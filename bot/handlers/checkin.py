"""Attendance in the chat: the check-in QR code (/checkin), its scan, and /attendance."""

from __future__ import annotations

import logging
import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.content import Programme, Session
from bot.handlers.common import (
    Context,
    access_text,
    answer_query,
    caller,
    reply,
    runtime,
    staff_caller,
    translator,
)
from bot.i18n import Translator, escape
from bot.runtime import Runtime
from bot.services import checkin as service
from bot.services.access import COORDINATION
from bot.services.attendance_view import roll_text
from bot.services.checkin import Scan, ScanResult

log = logging.getLogger(__name__)

ROTATE_RE = re.compile(r"^ci:(new|stop):([a-z0-9-]{1,40})$")
JOB_PREFIX = "relais-checkin-"


def _session(programme: Programme, session_id: str | None) -> Session | None:
    return next((s for s in programme.all_sessions() if s.id == session_id), None)


def _usage(t: Translator, programme: Programme, command: str) -> str:
    ids = ", ".join(s.id for s in programme.all_sessions())
    return t.gettext("Usage: /%(command)s SESSION (%(ids)s)", command=command, ids=ids)


async def open_checkin(update: Update, context: Context) -> None:
    """Stores a check-in code; shows its QR code, renewed every few minutes until the end."""
    rt = runtime(context)
    who = await staff_caller(update, context, COORDINATION)
    if who is None:
        return
    t = who.t
    session = _session(rt.content.programme, (context.args or [""])[0])
    if session is None:
        await reply(update, who, _usage(t, rt.content.programme, "checkin"))
        return
    now = rt.clock.now()
    if not service.is_open(session, now):
        found = service.windows(session)
        await reply(
            update,
            who,
            t.gettext(
                "Check-in for %(session)s is open from %(opens)s to %(closes)s.",
                session=escape(session.title.get(t.locale)),
                opens=t.moment(found[0][1]),
                closes=t.moment(found[-1][2]),
            ),
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
    context: ContextTypes.DEFAULT_TYPE,
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
    caption = t.gettext(
        "<b>Check-in: %(session)s</b>\nScan this code with your phone's camera or Telegram. "
        "It changes every %(minutes)d minutes; this one works until %(until)s.\n%(link)s",
        session=escape(session.title.get(t.locale)),
        minutes=int(service.ROTATE.total_seconds() // 60),
        until=t.time(code.expires_at),
        link=escape(code.link(username)),
    )
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(t.gettext("New code"), callback_data=f"ci:new:{session.id}"),
                InlineKeyboardButton(t.gettext("Stop"), callback_data=f"ci:stop:{session.id}"),
            ]
        ]
    )
    sent = await context.bot.send_photo(
        chat_id, code.qr_png(username), caption=t.bidi(caption), reply_markup=keyboard
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


async def _rotate_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every few minutes: a new code on the coordinator's screen, until check-in closes."""
    job = context.job
    if job is None or not isinstance(job.data, dict):
        return
    rt = runtime(context)
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
    rt = runtime(context)
    who = await caller(update, context)
    match = ROTATE_RE.fullmatch(query.data)
    session = _session(rt.content.programme, match.group(2)) if match else None
    if not who.identity.roles & COORDINATION or match is None or session is None:
        await answer_query(query, who.t.gettext("This button is no longer valid."))
        return
    await answer_query(query)
    state = (context.chat_data or {}).get("checkin")
    previous = state["message"] if state else None
    if match.group(1) == "stop" or not service.is_open(session, rt.clock.now()):
        if context.job_queue is not None:
            for job in context.job_queue.get_jobs_by_name(f"{JOB_PREFIX}{who.chat_id}"):
                job.schedule_removal()
        if context.chat_data is not None:
            context.chat_data.pop("checkin", None)
        await reply(
            update,
            who,
            who.t.gettext(
                "Check-in closed for %(session)s. /attendance %(id)s shows who is recorded.",
                session=escape(session.title.get(who.t.locale)),
                id=session.id,
            ),
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
    rt = runtime(context)
    who = await caller(update, context)
    t = who.t
    participant = who.identity.participant
    if participant is None:
        if who.identity.is_staff:
            await reply(update, who, t.gettext("Check-in is for participants."))
        else:
            await reply(update, who, access_text(t))
        return
    payload = (context.args or [""])[0]
    result = await service.scan(rt.db, rt.content.programme, payload, participant, clock=rt.clock)
    await reply(update, who, scan_text(t, result))


def scan_text(t: Translator, result: ScanResult) -> str:
    """What a participant is told after scanning."""
    session = result.session
    title = escape(session.title.get(t.locale)) if session else ""
    if result.status is Scan.STALE:
        return t.gettext(
            "This QR code has expired: it changes every few minutes. Scan the one shown in the "
            "room now. Nothing was recorded."
        )
    if result.status is Scan.UNKNOWN or session is None:
        return t.gettext(
            "This check-in code is not valid. Scan the one shown in the room. Nothing was recorded."
        )
    if result.status is Scan.WRONG_COHORT:
        return t.gettext(
            "%(session)s is not a session of your cohort: nothing was recorded.", session=title
        )
    if result.status is Scan.NOT_OPEN:
        text = t.gettext("Check-in for %(session)s is not open now.", session=title)
        if result.next_window is not None:
            text += " " + t.gettext("Next check-in: %(when)s.", when=t.moment(result.next_window))
        return text
    label = service.window_label(session, result.window or "", t.locale)
    at = t.time(result.at) if result.at else ""
    if result.status is Scan.ALREADY:
        text = t.gettext("You were already recorded present at %(time)s.", time=at)
    elif label:
        text = t.gettext(
            "✅ Recorded present: %(session)s (%(window)s), at %(time)s.",
            session=title,
            window=escape(label),
            time=at,
        )
    else:
        text = t.gettext("✅ Recorded present: %(session)s, at %(time)s.", session=title, time=at)
    if result.required > 1:
        text += "\n" + t.gettext(
            "Check-ins for this session: %(done)d of %(required)d.",
            done=result.done,
            required=result.required,
        )
    return text


async def show_attendance(update: Update, context: Context) -> None:
    """Stores nothing; lists who is recorded present at a session and who is missing."""
    rt = runtime(context)
    who = await staff_caller(update, context, COORDINATION)
    if who is None:
        return
    session = _session(rt.content.programme, (context.args or [""])[0])
    if session is None:
        await reply(update, who, _usage(who.t, rt.content.programme, "attendance"))
        return
    await reply(update, who, await roll_text(rt.db, session, who.t))
