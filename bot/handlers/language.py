"""/language: choose French, English or Arabic."""

from __future__ import annotations

from telegram import Update
from telegram.error import BadRequest

from bot.callbacks import parse_language
from bot.handlers.common import Context, answer_query, caller, markup, reply, translator
from bot.handlers.menus import set_staff_menu
from bot.services.access import identify, set_language
from bot.views.language import chosen_text, language_screen


async def ask_language(update: Update, context: Context) -> None:
    """Stores nothing; asks which language to use, one button per language."""
    who = await caller(update, context)
    screen = language_screen(who.t)
    await reply(update, who, screen.text, markup(screen))


async def choose_language(update: Update, context: Context) -> None:
    """Stores the chosen language (participant record or user settings); asks nothing more."""
    query = update.callback_query
    if query is None or query.data is None or update.effective_user is None:
        return
    locale = parse_language(query.data)
    if locale is None:
        return
    await answer_query(query)
    rt = context.runtime
    who = await caller(update, context)
    await set_language(rt.db, who.identity, locale, rt.clock.now())
    t = translator(rt, locale)
    try:
        await query.edit_message_text(t.bidi(chosen_text(t)))
    except BadRequest as exc:
        # A double tap: the first one already wrote this; the choice is stored either way.
        if "not modified" not in exc.message:
            raise
    if who.identity.is_staff:
        identity = await identify(rt.db, who.identity.user_id, rt.settings.admin_ids)
        await set_staff_menu(context.bot, who.chat_id, identity, t)
