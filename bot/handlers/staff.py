"""Staff roles in the chat (admins): /staff lists them, invites a coordinator or evaluator,
revokes a role; each action is the use case ``relais staff`` runs."""

from __future__ import annotations

import io
from datetime import timedelta

import segno
from telegram import Update

from bot import callbacks
from bot.handlers.common import (
    Context,
    answer_query,
    caller,
    refuse,
    reply,
    translator,
)
from bot.handlers.menus import set_staff_menu
from bot.handlers.roster import actor
from bot.handlers.screens import send_screen
from bot.services.access import choose_locale, identify
from bot.services.invites import deep_link, issue_staff_invite
from bot.services.staff import list_staff, revoke_staff
from bot.storage.repo import Role
from bot.views import staff_setup as view


async def show_staff(update: Update, context: Context) -> None:
    """Stores nothing; lists the staff with a Revoke button each, and the invite buttons."""
    rt = context.runtime
    who = await caller(update, context)
    if Role.ADMIN not in who.identity.roles:
        await refuse(update, who, who.t.gettext("This command is for administrators."))
        return
    members = await list_staff(rt.db, rt.settings.admin_ids)
    await send_screen(update, who, view.staff_screen(who.t, members))


async def invite(update: Update, context: Context) -> None:
    """Stores a single-use staff invite for the role pressed; sends its link and QR code."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    rt = context.runtime
    who = await caller(update, context)
    role = callbacks.parse_staff_invite(query.data)
    if role is None or Role.ADMIN not in who.identity.roles:
        await answer_query(query, view.button_stale(who.t))
        return
    await answer_query(query)
    issued = await issue_staff_invite(
        rt.db,
        role=Role(role),
        label=None,
        clock=rt.clock,
        ttl=timedelta(days=rt.settings.invite_ttl_days),
        actor=actor(who),
    )
    link = deep_link(context.bot.username, issued.token)
    qr = io.BytesIO()
    segno.make(link, error="m").save(qr, kind="png", scale=10, border=4)
    caption = view.staff_invite_text(who.t, Role(role), link, who.t.date(issued.expires_at))
    await context.bot.send_photo(who.chat_id, qr.getvalue(), caption=who.t.bidi(caption))


async def revoke(update: Update, context: Context) -> None:
    """Removes the role pressed (audited) and resets that person's menu; a stale button does
    nothing."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    rt = context.runtime
    who = await caller(update, context)
    found = callbacks.parse_staff_revoke(query.data)
    if found is None or Role.ADMIN not in who.identity.roles:
        await answer_query(query, view.button_stale(who.t))
        return
    user_id, role = found
    members = {(m.user_id, m.role): m for m in await list_staff(rt.db, ())}
    member = members.get((user_id, Role(role)))
    removed = await revoke_staff(rt.db, user_id, Role(role), clock=rt.clock, actor=actor(who))
    if not removed or member is None:
        await answer_query(query, view.button_stale(who.t))
        return
    await answer_query(query)
    identity = await identify(rt.db, user_id, rt.settings.admin_ids)
    locale = choose_locale(identity.stored_language, None, rt.settings.default_locale)
    chat_id = member.chat_id if member.chat_id is not None else user_id
    await set_staff_menu(context.bot, chat_id, identity, translator(rt, locale))
    name = member.display_name or str(user_id)
    await reply(update, who, view.staff_revoked(who.t, name, Role(role)))
    await send_screen(
        update, who, view.staff_screen(who.t, await list_staff(rt.db, rt.settings.admin_ids))
    )
