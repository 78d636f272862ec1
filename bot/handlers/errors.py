"""The error handler: log with the update id, tell the user without internals."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError

from bot.handlers.common import Context, runtime, translator
from bot.i18n import negotiate_locale

log = logging.getLogger("relais.errors")


async def on_error(update: object, context: Context) -> None:
    """Stores nothing; logs the failure and apologises to the user in their language."""
    update_id = update.update_id if isinstance(update, Update) else None
    log.error(
        "update %s failed: %s", update_id, type(context.error).__name__, exc_info=context.error
    )
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    rt = runtime(context)
    user = update.effective_user
    # Guess the language without the database: it may be what failed.
    locale = negotiate_locale(user.language_code if user else None, rt.settings.default_locale)
    t = translator(rt, locale)
    text = t.gettext("Sorry, something went wrong on our side. Please try again in a moment.")
    try:
        await context.bot.send_message(update.effective_chat.id, t.bidi(text))
    except TelegramError:
        log.warning("could not tell update %s's user about the error", update_id)
