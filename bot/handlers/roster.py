"""The roster by document: /roster explains, the file is checked, the summary is confirmed."""

from __future__ import annotations

from telegram import Update

from bot import callbacks
from bot.handlers.common import Caller, Context, answer_query, caller, reply, staff_caller
from bot.handlers.screens import drop_buttons, send_screen
from bot.runtime import Runtime
from bot.services.access import COORDINATION
from bot.services.roster import RosterError, import_roster, preview_roster
from bot.services.uploads import Kind, Uploads, folder_for
from bot.views import staff_setup as view


def uploads(rt: Runtime) -> Uploads:
    """The private folder where files wait for a decision."""
    return Uploads(folder_for(rt.settings.database))


def actor(who: Caller) -> str:
    """How the audit log names a staff member acting in the chat."""
    return f"telegram:{who.identity.user_id}"


async def show_roster_help(update: Update, context: Context) -> None:
    """Stores nothing; says how to send the roster (coordinators)."""
    who = await staff_caller(update, context, COORDINATION)
    if who is not None:
        await reply(update, who, view.roster_help(who.t))


async def preview(update: Update, rt: Runtime, who: Caller, data: bytes, file_name: str) -> None:
    """Keeps the checked roster privately and asks to confirm; a bad file is refused whole."""
    try:
        plan = await preview_roster(rt.db, data, cohort_ids=rt.content.programme.cohort_ids)
    except RosterError as exc:
        await reply(update, who, view.roster_refused(who.t, exc.problems))
        return
    nonce = uploads(rt).keep(who.identity.user_id, Kind.ROSTER, data, rt.clock.now())
    await send_screen(
        update, who, view.roster_summary(who.t, rt.content.programme, plan, file_name, nonce)
    )


async def decide(update: Update, context: Context) -> None:
    """Imports the pending roster (Import) or deletes it (Cancel); a stale button writes nothing."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    rt = context.runtime
    who = await caller(update, context)
    t = who.t
    choice = callbacks.parse_roster_choice(query.data)
    if choice is None or not who.identity.roles & COORDINATION:
        await answer_query(query, view.button_stale(t))
        return
    folder = uploads(rt)
    pending = folder.take(who.identity.user_id, choice.nonce, rt.clock.now())
    await answer_query(query)
    await drop_buttons(query)
    if pending is None or pending.kind is not Kind.ROSTER:
        await reply(update, who, view.upload_stale(t))
        return
    if not choice.confirm:
        folder.discard(who.identity.user_id, choice.nonce)
        await reply(update, who, view.upload_cancelled(t))
        return
    try:
        report = await import_roster(
            rt.db,
            pending.data,
            cohort_ids=rt.content.programme.cohort_ids,
            clock=rt.clock,
            actor=actor(who),
        )
    except RosterError as exc:
        # The database changed since the summary (another import): the file is refused whole.
        await reply(update, who, view.roster_refused(t, exc.problems))
        return
    finally:
        folder.discard(who.identity.user_id, choice.nonce)
    await reply(update, who, view.roster_imported(t, report))
