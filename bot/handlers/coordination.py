"""Coordinators follow responses (/stats, /pending with a nudge button); admins /reload content."""

from __future__ import annotations

from telegram import Update

from bot import callbacks
from bot.handlers.common import (
    Context,
    answer_query,
    caller,
    reply,
    staff_caller,
)
from bot.i18n import escape
from bot.scheduling import reload_content
from bot.sender import keyboard
from bot.services.access import COORDINATION
from bot.services.stats import non_respondents, nudge_now, stage_stats
from bot.storage.repo import Role
from bot.views import coordination as views
from bot.views.coordination import PendingStage


async def stats(update: Update, context: Context) -> None:
    """Stores nothing; shows, per stage and cohort, roster, enrolled, started, sent and rate."""
    rt = context.runtime
    who = await staff_caller(update, context, COORDINATION)
    if who is None:
        return
    found = await stage_stats(rt.db, rt.content, rt.clock.now())
    if not any(row.opened for row in found):
        await reply(update, who, views.nothing_open(who.t))
        return
    await reply(update, who, views.stats(who.t, rt.content, found))


async def pending(update: Update, context: Context) -> None:
    """Stores nothing; lists who has not answered a questionnaire, with a button to nudge them."""
    rt = context.runtime
    who = await staff_caller(update, context, COORDINATION)
    if who is None:
        return
    args = context.args or []
    instrument = rt.content.instrument(args[0]) if args else None
    if instrument is None:
        await reply(update, who, views.pending_usage(who.t, rt.content))
        return
    now = rt.clock.now()
    opened = {
        (row.stage, row.cohort): row
        for row in await stage_stats(rt.db, rt.content, now)
        if row.instrument == instrument.id and row.opened
    }
    found: list[PendingStage] = []
    for stage in instrument.stages:
        if len(args) >= 2 and stage.id != args[1]:
            continue
        rows = [row for (s, _), row in opened.items() if s == stage.id]
        enrolled = any(row.enrolled for row in rows)
        if not rows or not enrolled:
            found.append(PendingStage(stage, bool(rows), enrolled))
            continue
        people = await non_respondents(rt.db, rt.content, instrument.id, stage.id, now)
        unenrolled = sum(row.roster - row.enrolled for row in rows)
        found.append(PendingStage(stage, True, True, people, unenrolled))
    screen = views.pending(who.t, instrument, found)
    await reply(update, who, screen.text, keyboard(screen.buttons))


async def nudge(update: Update, context: Context) -> None:
    """Stores one nudge per non-respondent in the outbox (at most one a day each); says how many."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    rt = context.runtime
    who = await caller(update, context)
    target = callbacks.parse_nudge(query.data)
    if not who.identity.roles & COORDINATION or target is None:
        await answer_query(query, who.t.gettext("This button is no longer valid."))
        return
    queued = await nudge_now(
        rt.db,
        rt.content,
        *target,
        who.t,
        rt.clock.now(),
        default_locale=rt.settings.default_locale,
    )
    if rt.sender is not None:
        rt.sender.wake.set()
    await answer_query(query, views.nudges_queued(who.t, queued), show_alert=True)


async def reload(update: Update, context: Context) -> None:
    """Stores nothing; reloads the content files and re-plans the campaigns (admins only)."""
    who = await staff_caller(update, context, frozenset({Role.ADMIN}))
    if who is None:
        return
    problems = await reload_content(context.application)
    t = who.t
    if problems:
        text = t.gettext("The content has problems; the running content is kept:")
        await reply(update, who, text + "\n" + "\n".join(escape(p) for p in problems[:20]))
        return
    version = context.runtime.content.version[:12]
    await reply(update, who, t.gettext("Content reloaded (version %(version)s).", version=version))
