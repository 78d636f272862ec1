"""/language: choose French, English or Arabic."""

from __future__ import annotations

import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.handlers.common import Context, answer_query, caller, reply, runtime, translator
from bot.handlers.menus import set_staff_menu
from bot.i18n import LOCALES
from bot.services.access import identify, set_language

CALLBACK_PREFIX = "lang:"
CALLBACK_PATTERN = re.compile(rf"^{CALLBACK_PREFIX}({'|'.join(LOCALES)})$")
# Each language is named in itself, so anyone can find theirs whatever the current one.
NATIVE_NAMES = {"fr": "Français", "en": "English", "ar": "العربية"}


async def ask_language(update: Update, context: Context) -> None:
    """Stores nothing; asks which language to use, one button per language."""
    who = await caller(update, context)
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(NATIVE_NAMES[code], callback_data=CALLBACK_PREFIX + code)
                for code in LOCALES
            ]
        ]
    )
    await reply(update, who, who.t.gettext("Choose your language:"), keyboard)


async def choose_language(update: Update, context: Context) -> None:
    """Stores the chosen language (participant record or user settings); asks nothing more."""
    query = update.callback_query
    if query is None or query.data is None or update.effective_user is None:
        return
    match = CALLBACK_PATTERN.fullmatch(query.data)
    if match is None:
        return
    await answer_query(query)
    rt = runtime(context)
    who = await caller(update, context)
    locale = match.group(1)
    await set_language(rt.db, who.identity, locale, rt.clock.now())
    t = translator(rt, locale)
    text = t.bidi(t.gettext("Done: I will now write to you in English."))
    try:
        await query.edit_message_text(text)
    except BadRequest as exc:
        # A double tap: the first one already wrote this; the choice is stored either way.
        if "not modified" not in exc.message:
            raise
    if who.identity.is_staff:
        identity = await identify(rt.db, who.identity.user_id, rt.settings.admin_ids)
        await set_staff_menu(context.bot, who.chat_id, identity, t)
