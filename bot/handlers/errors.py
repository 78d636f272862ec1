"""The error handler: log with the update id, tell the user without internals."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, TelegramError

from bot.handlers.common import Context, translator
from bot.i18n import negotiate_locale
from bot.services.access import set_reachable

log = logging.getLogger("relais.errors")


async def on_error(update: object, context: Context) -> None:
    """Stores nothing; logs the failure and apologises to the user in their language."""
    update_id = update.update_id if isinstance(update, Update) else None
    if isinstance(context.error, Forbidden) and isinstance(update, Update):
        # The user blocked the bot: nothing to apologise to, only remember it.
        user = update.effective_user
        log.info("update %s: user blocked the bot", update_id)
        if user is not None:
            await set_reachable(context.runtime.db, user.id, False)
        return
    log.error(
        "update %s failed: %s", update_id, type(context.error).__name__, exc_info=context.error
    )
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    rt = context.runtime
    user = update.effective_user
    # Guess the language without the database: it may be what failed.
    locale = negotiate_locale(user.language_code if user else None, rt.settings.default_locale)
    t = translator(rt, locale)
    text = t.gettext("Sorry, something went wrong on our side. Please try again in a moment.")
    try:
        await context.bot.send_message(update.effective_chat.id, t.bidi(text))
    except TelegramError:
        log.warning("could not tell update %s's user about the error", update_id)
