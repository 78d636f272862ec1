"""Coordinators follow responses (/stats, /pending with a nudge button); admins /reload content."""

from __future__ import annotations

import re

from babel.numbers import format_percent
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.handlers.common import (
    Context,
    answer_query,
    caller,
    reply,
    runtime,
    staff_caller,
)
from bot.i18n import escape
from bot.scheduling import reload_content
from bot.services.access import COORDINATION
from bot.services.stats import non_respondents, nudge_now, stage_stats
from bot.storage.repo import Role

NUDGE_RE = re.compile(r"^nudge:([a-z]{1,14}):([a-z0-9-]{1,12})$")


async def stats(update: Update, context: Context) -> None:
    """Stores nothing; shows, per questionnaire stage and cohort, enrolled, started and sent."""
    rt = runtime(context)
    who = await staff_caller(update, context, COORDINATION)
    if who is None:
        return
    t = who.t
    found = await stage_stats(rt.db, rt.content, rt.clock.now())
    if not found:
        await reply(update, who, t.gettext("No questionnaire has opened yet."))
        return
    lines = [t.gettext("<b>Responses</b> (enrolled · started · sent · rate)")]
    current = None
    for row in found:
        instrument = rt.content.instrument(row.instrument)
        stage = instrument.stage(row.stage) if instrument else None
        if instrument is None or stage is None:
            continue
        heading = f"{instrument.title.get(t.locale)} · {stage.title.get(t.locale)}"
        if heading != current:
            lines += ["", f"<b>{escape(heading)}</b>"]
            current = heading
        cohort = rt.content.programme.cohort(row.cohort)
        name = cohort.name.get(t.locale) if cohort else row.cohort
        rate = format_percent(row.rate, locale=t.locale)
        lines.append(
            t.gettext(
                "%(cohort)s: %(invited)d · %(started)d · %(submitted)d · %(rate)s",
                cohort=escape(name),
                invited=row.invited,
                started=row.started,
                submitted=row.submitted,
                rate=rate,
            )
        )
    await reply(update, who, "\n".join(lines))


async def pending(update: Update, context: Context) -> None:
    """Stores nothing; lists who has not answered a questionnaire, with a button to nudge them."""
    rt = runtime(context)
    who = await staff_caller(update, context, COORDINATION)
    if who is None:
        return
    t = who.t
    args = context.args or []
    instrument = rt.content.instrument(args[0]) if args else None
    if instrument is None:
        kinds = ", ".join(sorted(rt.content.instruments))
        await reply(
            update, who, t.gettext("Usage: /pending INSTRUMENT [STAGE] (%(kinds)s)", kinds=kinds)
        )
        return
    stages = [s for s in instrument.stages if len(args) < 2 or s.id == args[1]]
    now = rt.clock.now()
    lines: list[str] = []
    buttons = []
    for stage in stages:
        people = await non_respondents(rt.db, rt.content, instrument.kind, stage.id, now)
        if not people:
            continue
        title = f"{instrument.title.get(t.locale)} · {stage.title.get(t.locale)}"
        lines += ["", f"<b>{escape(title)}</b> ({len(people)})"]
        lines += [f"{p.code} · {escape(p.full_name)} · {p.cohort}" for p in people]
        buttons.append(
            [
                InlineKeyboardButton(
                    t.gettext("Nudge them now: %(stage)s", stage=stage.title.get(t.locale)),
                    callback_data=f"nudge:{instrument.kind}:{stage.id}",
                )
            ]
        )
    if not lines:
        await reply(update, who, t.gettext("Everyone has answered."))
        return
    # Names are for coordinators only: exports for evaluators use codes.
    header = t.gettext("Not answered yet:")
    await reply(update, who, header + "\n" + "\n".join(lines), InlineKeyboardMarkup(buttons))


async def nudge(update: Update, context: Context) -> None:
    """Stores one nudge per non-respondent in the outbox (at most one a day each); says how many."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    rt = runtime(context)
    who = await caller(update, context)
    match = NUDGE_RE.fullmatch(query.data)
    if not who.identity.roles & COORDINATION or match is None:
        await answer_query(query, who.t.gettext("This button is no longer valid."))
        return
    queued = await nudge_now(
        rt.db, rt.content, match.group(1), match.group(2), who.t, rt.clock.now()
    )
    if rt.sender is not None:
        rt.sender.wake.set()
    await answer_query(
        query,
        who.t.ngettext("%(n)d nudge queued.", "%(n)d nudges queued.", queued),
        show_alert=True,
    )


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
    version = runtime(context).content.version[:12]
    await reply(update, who, t.gettext("Content reloaded (version %(version)s).", version=version))
