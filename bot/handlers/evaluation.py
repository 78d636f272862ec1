"""/export and /report: pseudonymous responses and the aggregate report, as documents."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from telegram import InputMediaPhoto, Update

from bot.handlers.common import (
    Context,
    reply,
    staff_caller,
)
from bot.services import export, exporting
from bot.services.access import COORDINATION, EVALUATION
from bot.services.report import figures
from bot.storage.repo import Role

# Who may export the supervisors' answers (pseudonymous, but not for the course team).
SUPERVISOR_ANSWERS = frozenset({Role.EVALUATOR, Role.ADMIN})


async def send_export(update: Update, context: Context) -> None:
    """Stores an audit entry; sends the responses as XLSX (or CSV: /export csv), codes only.

    ``/export identities`` sends codes with names, ``/export moodle`` the grades by e-mail
    for Moodle's import: both to coordinators (and admins) only.
    """
    rt = context.runtime
    who = await staff_caller(update, context, EVALUATION)
    if who is None:
        return
    t = who.t
    roles = who.identity.roles
    args = [a.lower() for a in context.args or []]
    now = rt.clock.now()
    actor = f"telegram:{who.identity.user_id}"
    with tempfile.TemporaryDirectory(prefix="relais-export-") as tmp:
        if "identities" in args:
            if not roles & COORDINATION:
                await reply(update, who, t.gettext("Identities are for coordinators only."))
                return
            path = Path(tmp) / "relais-identities.csv"
            await exporting.identities(rt.db, path, actor=actor, now=now)
            caption = t.gettext("Identities: keep this file private.")
        elif "moodle" in args:
            if not roles & COORDINATION:
                await reply(update, who, t.gettext("Grades by name are for coordinators only."))
                return
            cohorts = [a for a in args if a in rt.content.programme.cohort_ids]
            path = Path(tmp) / "relais-moodle-grades.csv"
            written = await exporting.moodle_grades(
                rt.db,
                rt.content,
                path,
                t,
                cohorts[0] if cohorts else None,
                actor=actor,
                now=now,
            )
            caption = t.ngettext(
                "Grades of %(n)d participant for Moodle's grade import; names and e-mails:"
                " keep this file private.",
                "Grades of %(n)d participants for Moodle's grade import; names and e-mails:"
                " keep this file private.",
                written.rows,
            )
        else:
            fmt: exporting.ResponsesFormat = "csv" if "csv" in args else "xlsx"
            kinds = [a for a in args if a in rt.content.all_instruments]
            cohorts = [a for a in args if a in rt.content.programme.cohort_ids]
            filters = export.Filters(kinds[0] if kinds else None, cohorts[0] if cohorts else None)
            # The line managers' answers are evaluation data: a coordinator's export has
            # the participants' sheets only.
            allowed = bool(roles & SUPERVISOR_ANSWERS)
            if filters.instrument in rt.content.supervisor_instruments and not allowed:
                await reply(
                    update, who, t.gettext("The line managers' answers are for evaluators only.")
                )
                return
            path = Path(tmp) / f"relais-export.{fmt}"
            count = await exporting.responses(
                rt.db,
                rt.content,
                path,
                fmt,
                filters,
                t,
                actor=actor,
                now=now,
                supervisors=allowed,
            )
            caption = t.ngettext(
                "%(n)d answer; participants appear as codes.",
                "%(n)d answers; participants appear as codes.",
                count,
            )
        data = await asyncio.to_thread(path.read_bytes)
    await context.bot.send_document(who.chat_id, data, filename=path.name, caption=t.bidi(caption))


async def send_report(update: Update, context: Context) -> None:
    """Stores nothing; sends the report as an HTML file and its charts as photos.

    ``/report employer`` leaves the typed answers out (the version for the employer).
    """
    rt = context.runtime
    who = await staff_caller(update, context, EVALUATION)
    if who is None:
        return
    t = who.t
    args = [a.lower() for a in context.args or []]
    without = bool({"employer", "without-open-answers"} & set(args))
    found = await figures(
        rt.db,
        rt.content,
        rt.clock.now(),
        rt.settings.report_min_cell,
        open_answers=not without,
    )
    # matplotlib is imported on the first report, not when the bot or a command starts.
    from bot.views.report import draw_charts, render_html

    # Drawing the charts takes seconds for a large class: off the event loop, and once for
    # both the page and the album.
    drawn = await asyncio.to_thread(draw_charts, found, rt.content, t)
    html = await asyncio.to_thread(render_html, found, rt.content, t, drawn)
    await context.bot.send_document(
        who.chat_id,
        html.encode("utf-8"),
        filename="relais-report.html",
        caption=t.bidi(
            t.gettext(
                "Evaluation report: aggregates only, every figure stands on at least %(k)d people.",
                k=found.k,
            )
        ),
    )
    charts = [(chart.name, chart.png) for chart in drawn]
    # Telegram takes up to ten photos per album.
    for start in range(0, len(charts), 10):
        media = [InputMediaPhoto(data, filename=name) for name, data in charts[start : start + 10]]
        if len(media) == 1:
            await context.bot.send_photo(who.chat_id, charts[start][1])
        else:
            await context.bot.send_media_group(who.chat_id, media)
