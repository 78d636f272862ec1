"""Invitations in the chat: /invites (PDF to print and CSV), /newlink for one lost link."""

from __future__ import annotations

from datetime import timedelta

from telegram import Update

from bot import callbacks
from bot.handlers.common import Caller, Context, answer_query, caller, reply, staff_caller
from bot.handlers.roster import actor
from bot.handlers.screens import drop_buttons, send_screen
from bot.i18n import Translator
from bot.runtime import Runtime
from bot.services.access import COORDINATION
from bot.services.invites import (
    IssuedInvite,
    ReissueStatus,
    deep_link,
    invites_csv,
    issue_participant_invites,
    issue_supervisor_invites,
    reissue_invite,
)
from bot.storage import repo, supervisors
from bot.views import staff_setup as view
from bot.views.staff_setup import cohort_name

_EVERYONE = {"all", "tous", "pending"}
_SUPERVISORS = {"supervisors", "superieurs", "supérieurs"}


async def ask_invites(update: Update, context: Context) -> None:
    """Issues the invitations for the cohort given (or all not enrolled); else asks for whom."""
    rt = context.runtime
    who = await staff_caller(update, context, COORDINATION)
    if who is None:
        return
    args = context.args or []
    if not args:
        async with rt.db.read() as conn:
            waiting = len(await supervisors.unbound_supervisors(conn))
        menu = view.invites_menu(who.t, rt.content.programme, waiting)
        await send_screen(update, who, menu)
        return
    wanted = args[0].lower()
    if wanted in _EVERYONE:
        await _send_invites(update, context, rt, who, None)
    elif wanted in _SUPERVISORS:
        await _send_supervisor_invites(update, context, rt, who)
    elif wanted in rt.content.programme.cohort_ids:
        await _send_invites(update, context, rt, who, wanted)
    else:
        await reply(update, who, view.unknown_cohort(who.t, rt.content.programme))


async def choose_invites(update: Update, context: Context) -> None:
    """Issues the invitations for the button pressed (everyone not enrolled, or one cohort)."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    rt = context.runtime
    who = await caller(update, context)
    found = callbacks.parse_invites_choice(query.data)
    cohort = found[0] if found is not None else None
    if (
        found is None
        or not who.identity.roles & COORDINATION
        or (cohort is not None and cohort not in rt.content.programme.cohort_ids)
    ):
        await answer_query(query, view.button_stale(who.t))
        return
    await answer_query(query)
    await drop_buttons(query)
    await _send_invites(update, context, rt, who, cohort)


async def choose_supervisor_invites(update: Update, context: Context) -> None:
    """Issues the invitations of the line managers not yet enrolled (the /invites button)."""
    query = update.callback_query
    if query is None:
        return
    who = await caller(update, context)
    if not who.identity.roles & COORDINATION:
        await answer_query(query, view.button_stale(who.t))
        return
    await answer_query(query)
    await drop_buttons(query)
    await _send_supervisor_invites(update, context, context.runtime, who)


def _pages(rt: Runtime, invites: list[IssuedInvite], username: str) -> bytes:
    # fpdf (and its font tools) is imported on the first printout, not when the bot starts.
    from bot.views import invitation_pdf

    french, arabic = (
        Translator("fr", rt.content.programme.tz),
        Translator("ar", rt.content.programme.tz),
    )
    pages = []
    for invite in invites:
        p, boss = invite.participant, invite.supervisor
        if p is not None:
            name, line = p.full_name, cohort_name(rt.content.programme, french, p.cohort)
        else:
            assert boss is not None
            name, line = boss.name or boss.email, view.line_manager(french)
        pages.append(
            invitation_pdf.InvitationPage(
                full_name=name,
                cohort=line,
                link=deep_link(username, invite.token),
                expires=french.gettext("Valid until %(date)s", date=french.date(invite.expires_at)),
            )
        )
    return invitation_pdf.render(
        pages, title=rt.content.programme.title.get("fr"), french=french, arabic=arabic
    )


async def _send_invites(
    update: Update, context: Context, rt: Runtime, who: Caller, cohort: str | None
) -> None:
    issued = await issue_participant_invites(
        rt.db,
        clock=rt.clock,
        ttl=timedelta(days=rt.settings.invite_ttl_days),
        actor=actor(who),
        cohort=cohort,
    )
    stem = f"invitations-{cohort or 'all'}-{rt.clock.now():%Y%m%d}"
    await _send_files(update, context, rt, who, issued, stem)


async def _send_files(
    update: Update,
    context: Context,
    rt: Runtime,
    who: Caller,
    issued: list[IssuedInvite],
    stem: str,
) -> None:
    """The PDF to print (a page each) and the CSV, or why there is nothing to send."""
    if not issued:
        await reply(update, who, view.no_invites(who.t))
        return
    username = context.bot.username
    await context.bot.send_document(
        who.chat_id, _pages(rt, issued, username), filename=f"{stem}.pdf"
    )
    await context.bot.send_document(
        who.chat_id,
        invites_csv(issued, username),
        filename=f"{stem}.csv",
        caption=who.t.bidi(view.invites_sent(who.t, len(issued))),
    )


async def _send_supervisor_invites(
    update: Update, context: Context, rt: Runtime, who: Caller
) -> None:
    issued = await issue_supervisor_invites(
        rt.db,
        clock=rt.clock,
        ttl=timedelta(days=rt.settings.invite_ttl_days),
        actor=actor(who),
    )
    stem = f"invitations-supervisors-{rt.clock.now():%Y%m%d}"
    await _send_files(update, context, rt, who, issued, stem)


async def new_link(update: Update, context: Context) -> None:
    """Stores a new invite for one participant (their old links revoked); sends its page."""
    rt = context.runtime
    who = await staff_caller(update, context, COORDINATION)
    if who is None:
        return
    t = who.t
    if not context.args:
        await reply(update, who, view.newlink_usage(t))
        return
    key = context.args[0]
    status, invite = await reissue_invite(
        rt.db,
        key,
        clock=rt.clock,
        ttl=timedelta(days=rt.settings.invite_ttl_days),
        actor=actor(who),
    )
    if status is ReissueStatus.UNKNOWN or invite is None:
        if status is ReissueStatus.ENROLLED:
            async with rt.db.read() as conn:
                found = await repo.participant_by_key(conn, key)
            assert found is not None
            await reply(update, who, view.newlink_enrolled(t, found))
        else:
            await reply(update, who, view.newlink_unknown(t, key))
        return
    assert invite.participant is not None
    username = context.bot.username
    await context.bot.send_document(
        who.chat_id,
        _pages(rt, [invite], username),
        filename=f"invitation-{invite.participant.code}.pdf",
        caption=t.bidi(
            view.newlink_sent(
                t, invite.participant, deep_link(username, invite.token), t.date(invite.expires_at)
            )
        ),
    )
