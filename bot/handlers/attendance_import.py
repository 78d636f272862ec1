"""Attendance by document: the yes/no sheet, Zoom's participant report, the review by buttons."""

from __future__ import annotations

from telegram import Update

from bot import callbacks
from bot.handlers.common import Caller, Context, answer_query, caller, reply, staff_caller
from bot.handlers.roster import actor, uploads
from bot.handlers.screens import drop_buttons, send_screen
from bot.runtime import Runtime
from bot.services import review
from bot.services.access import COORDINATION
from bot.services.attendance import (
    AttendanceError,
    Resolution,
    ReviewItem,
    import_attendance,
    import_zoom,
    resolve,
    review_items,
)
from bot.services.csvfile import TableError
from bot.services.uploads import Kind
from bot.storage import repo
from bot.views import staff_setup as view


async def import_sheet(update: Update, rt: Runtime, who: Caller, data: bytes) -> None:
    """Records the yes/no sheet all or nothing (as relais attendance import); says how many."""
    try:
        count = await import_attendance(
            rt.db, data, programme=rt.content.programme, clock=rt.clock, actor=actor(who)
        )
    except AttendanceError as exc:
        await reply(update, who, view.attendance_refused(who.t, exc.problems))
        return
    await reply(update, who, view.attendance_recorded(who.t, count))


async def zoom_report(update: Update, rt: Runtime, who: Caller, data: bytes, caption: str) -> None:
    """Records a Zoom report for the session in the caption; else keeps it and asks which."""
    sessions = {s.id for s in view.zoom_sessions(rt.content.programme)}
    if caption in sessions:
        await _import_zoom(update, rt, who, data, caption)
        return
    nonce = uploads(rt).keep(who.identity.user_id, Kind.ZOOM, data, rt.clock.now())
    await send_screen(update, who, view.zoom_which_session(who.t, rt.content.programme, nonce))


async def choose_session(update: Update, context: Context) -> None:
    """Records the kept Zoom report for the session pressed, then offers the review."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    rt = context.runtime
    who = await caller(update, context)
    found = callbacks.parse_zoom_session(query.data)
    if found is None or not who.identity.roles & COORDINATION:
        await answer_query(query, view.button_stale(who.t))
        return
    nonce, session_id = found
    folder = uploads(rt)
    pending = folder.take(who.identity.user_id, nonce, rt.clock.now())
    await answer_query(query)
    await drop_buttons(query)
    if pending is None or pending.kind is not Kind.ZOOM:
        await reply(update, who, view.upload_stale(who.t))
        return
    try:
        await _import_zoom(update, rt, who, pending.data, session_id)
    finally:
        folder.discard(who.identity.user_id, nonce)


async def _import_zoom(update: Update, rt: Runtime, who: Caller, data: bytes, session: str) -> None:
    try:
        done = await import_zoom(
            rt.db,
            data,
            programme=rt.content.programme,
            session_id=session,
            clock=rt.clock,
            actor=actor(who),
        )
    except (AttendanceError, TableError) as exc:
        await reply(update, who, view.attendance_refused(who.t, exc.problems))
        return
    text = view.zoom_recorded(
        who.t, done.session, done.visits, done.added, len(done.shares), len(done.review)
    )
    await reply(update, who, text)
    await _show_next(update, rt, who, done.review, None)


async def _show_next(
    update: Update, rt: Runtime, who: Caller, items: list[ReviewItem], after: ReviewItem | None
) -> None:
    item = review.next_item(items, after)
    if item is None:
        if after is not None:
            await reply(update, who, view.review_done(who.t))
        return
    async with rt.db.read() as conn:
        people = await repo.list_participants(conn)
    offered = review.candidates(item, people, rt.content.programme)
    screen = view.review_screen(who.t, item, review.person_hash(item.person), offered, len(items))
    await send_screen(update, who, screen)


async def show_review(update: Update, context: Context) -> None:
    """Stores nothing; shows the first attendance row nobody could match, with buttons."""
    rt = context.runtime
    who = await staff_caller(update, context, COORDINATION)
    if who is None:
        return
    async with rt.db.read() as conn:
        items = await review_items(conn)
    if not items:
        await reply(update, who, view.review_done(who.t))
        return
    await _show_next(update, rt, who, items, None)


async def decide(update: Update, context: Context) -> None:
    """Stores the decision on one unmatched person (as attendance resolve); shows the next."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    rt = context.runtime
    who = await caller(update, context)
    choice = callbacks.parse_review_choice(query.data)
    if choice is None or not who.identity.roles & COORDINATION:
        await answer_query(query, view.button_stale(who.t))
        return
    async with rt.db.read() as conn:
        items = await review_items(conn)
        item = review.find_item(items, choice.person_hash)
        target = (
            await repo.get_participant(conn, choice.participant_id)
            if item is not None and choice.participant_id is not None
            else None
        )
    if item is None or (choice.participant_id is not None and target is None):
        await answer_query(query, view.button_stale(who.t))
        await drop_buttons(query)
        return
    await answer_query(query)
    await drop_buttons(query)
    if choice.skip:
        if len(items) == 1:
            await reply(update, who, view.review_later(who.t))
            return
        await _show_next(update, rt, who, items, item)
        return
    await resolve(
        rt.db,
        [Resolution(item.person, target)],
        programme=rt.content.programme,
        clock=rt.clock,
        actor=actor(who),
    )
    await reply(update, who, view.review_decided(who.t, item.name, target))
    async with rt.db.read() as conn:
        left = await review_items(conn)
    if not left:
        await reply(update, who, view.review_done(who.t))
        return
    await _show_next(update, rt, who, left, None)
