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
    """Stores nothing; shows, per stage and cohort, roster, enrolled, started, sent and rate."""
    rt = runtime(context)
    who = await staff_caller(update, context, COORDINATION)
    if who is None:
        return
    t = who.t
    found = await stage_stats(rt.db, rt.content, rt.clock.now())
    if not any(row.opened for row in found):
        await reply(update, who, t.gettext("No questionnaire has opened yet."))
        return
    lines = [t.gettext("<b>Responses</b> (on the roster · enrolled · started · sent · rate)")]
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
        name = escape(cohort.name.get(t.locale) if cohort else row.cohort)
        if not row.opened:
            lines.append(t.gettext("%(cohort)s: not open yet", cohort=name))
            continue
        lines.append(
            t.gettext(
                "%(cohort)s: %(roster)d · %(enrolled)d · %(started)d · %(submitted)d · %(rate)s",
                cohort=name,
                roster=row.roster,
                enrolled=row.enrolled,
                started=row.started,
                submitted=row.submitted,
                rate=format_percent(row.rate, locale=t.locale),
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
    opened = {
        (row.stage, row.cohort): row
        for row in await stage_stats(rt.db, rt.content, now)
        if row.instrument == instrument.kind and row.opened
    }
    lines: list[str] = []
    buttons = []
    for stage in stages:
        title = f"{instrument.title.get(t.locale)} · {stage.title.get(t.locale)}"
        rows = [row for (s, _), row in opened.items() if s == stage.id]
        if not rows:
            lines += ["", f"<b>{escape(title)}</b>", t.gettext("Not open yet.")]
            continue
        if not any(row.enrolled for row in rows):
            lines += ["", f"<b>{escape(title)}</b>", t.gettext("Nobody has enrolled yet.")]
            continue
        people = await non_respondents(rt.db, rt.content, instrument.kind, stage.id, now)
        unenrolled = sum(row.roster - row.enrolled for row in rows)
        lines += ["", f"<b>{escape(title)}</b> ({len(people)})"]
        if not people:
            lines.append(t.gettext("Everyone enrolled has answered."))
        lines += [f"{p.code} · {escape(p.full_name)} · {p.cohort}" for p in people]
        if unenrolled:
            lines.append(
                t.ngettext(
                    "%(n)d person on the roster has not enrolled yet.",
                    "%(n)d people on the roster have not enrolled yet.",
                    unenrolled,
                )
            )
        if people:
            buttons.append(
                [
                    InlineKeyboardButton(
                        t.gettext("Nudge them now: %(stage)s", stage=stage.title.get(t.locale)),
                        callback_data=f"nudge:{instrument.kind}:{stage.id}",
                    )
                ]
            )
    # Names are for coordinators only: exports for evaluators use codes.
    header = t.gettext("Not answered yet:")
    markup = InlineKeyboardMarkup(buttons) if buttons else None
    await reply(update, who, header + "\n" + "\n".join(lines), markup)


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
        rt.db,
        rt.content,
        match.group(1),
        match.group(2),
        who.t,
        rt.clock.now(),
        default_locale=rt.settings.default_locale,
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
