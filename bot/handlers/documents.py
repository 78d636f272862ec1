"""Documents sent to the bot: a coordinator's table (roster, attendance) or a participant's plan.

The file's header says which import it is for; anything else from a participant is their
action plan (bot/handlers/plan.py).
"""

from __future__ import annotations

from telegram import Update

from bot.handlers import attendance_import, plan, roster
from bot.handlers.common import Context, caller, reply
from bot.services.access import COORDINATION
from bot.services.uploads import MAX_BYTES, Kind, UploadError, as_csv, kind_of
from bot.views import staff_setup as view

_TABLES = (".csv", ".xlsx")


async def receive_document(update: Update, context: Context) -> None:
    """Stores nothing yet for a coordinator's table (it goes to its import); else the plan."""
    message = update.effective_message
    if message is None or message.document is None:
        return
    who = await caller(update, context)
    document = message.document
    name = document.file_name or ""
    is_table = name.lower().endswith(_TABLES)
    coordinator = bool(who.identity.roles & COORDINATION)
    if who.identity.is_participant and not (coordinator and is_table):
        await plan.receive_document(update, context)
        return
    if not who.identity.is_staff:
        await plan.receive_document(update, context)  # a stranger: how to get access
        return
    t = who.t
    if not who.identity.roles & COORDINATION:
        # An evaluator (not a participant) sending a table: imports are the coordinators'.
        await reply(update, who, t.gettext("This command is for coordinators."))
        return
    if not is_table:
        await reply(update, who, view.file_refused(t, t.gettext("send a CSV or XLSX file.")))
        return
    if document.file_size is not None and document.file_size > MAX_BYTES:
        await reply(update, who, view.file_too_big(t, MAX_BYTES // (1024 * 1024)))
        return
    raw = bytes(await (await document.get_file()).download_as_bytearray())
    if len(raw) > MAX_BYTES:
        await reply(update, who, view.file_too_big(t, MAX_BYTES // (1024 * 1024)))
        return
    try:
        data = as_csv(raw, name)
    except UploadError as exc:
        await reply(
            update, who, view.file_refused(t, "; ".join(p.said_to(t) for p in exc.problems))
        )
        return
    kind = kind_of(data)
    rt = context.runtime
    if kind is Kind.ROSTER:
        await roster.preview(update, rt, who, data, name)
    elif kind is Kind.ATTENDANCE:
        await attendance_import.import_sheet(update, rt, who, data)
    elif kind is Kind.ZOOM:
        await attendance_import.zoom_report(update, rt, who, data, (message.caption or "").strip())
    else:
        await reply(update, who, view.file_unknown(t))
