"""The error handler: log with the update id, tell the user without internals, alert the admins.

The admins (``RELAIS_ADMIN_IDS``) get the update id and the exception's type, never the
update's content nor the message, at most once per ``ALERT_INTERVAL`` with a count of the
errors in between, so that a fault is known before a participant reports it.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, TelegramError

from bot.handlers.common import Context, translator
from bot.i18n import negotiate_locale
from bot.runtime import Runtime
from bot.services.access import set_reachable
from bot.services.alerts import ErrorAlerts
from bot.views.alerts import alert_text

log = logging.getLogger("relais.errors")
ALERTS_KEY = "error_alerts"


async def on_error(update: object, context: Context) -> None:
    """Stores that a user blocked the bot (on ``Forbidden``), else nothing; logs the failure,
    apologises to the user in their language and alerts the admins (rate-limited)."""
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
    rt = context.runtime
    if isinstance(update, Update) and update.effective_chat is not None:
        await _apologise(context, rt, update, update.effective_chat.id)
    # After the apology: the person waiting comes first.
    await _alert_admins(context, rt, update_id)


async def _apologise(context: Context, rt: Runtime, update: Update, chat_id: int) -> None:
    user = update.effective_user
    # Guess the language without the database: it may be what failed.
    locale = negotiate_locale(user.language_code if user else None, rt.settings.default_locale)
    t = translator(rt, locale)
    text = t.gettext("Sorry, something went wrong on our side. Please try again in a moment.")
    try:
        await context.bot.send_message(chat_id, t.bidi(text))
    except TelegramError:
        log.warning("could not tell update %s's user about the error", update.update_id)


async def _alert_admins(context: Context, rt: Runtime, update_id: int | None) -> None:
    """Tell each admin of the settings, in the default language (the database may be down)."""
    if not rt.settings.admin_ids:
        return
    alerts = context.application.bot_data.get(ALERTS_KEY)
    if not isinstance(alerts, ErrorAlerts):
        alerts = context.application.bot_data[ALERTS_KEY] = ErrorAlerts()
    alert = alerts.record(update_id, type(context.error).__name__, rt.clock.now())
    if alert is None:
        return
    text = alert_text(translator(rt, rt.settings.default_locale), alert)
    for admin in rt.settings.admin_ids:
        try:
            await context.bot.send_message(admin, text)
        except TelegramError as exc:
            # An admin who never opened the bot cannot be written to: the log still has it.
            log.warning(
                "could not alert an admin about update %s: %s", update_id, type(exc).__name__
            )
