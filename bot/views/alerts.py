"""What the admins read when the bot meets an unexpected error: no personal data, ever."""

from __future__ import annotations

from bot.i18n import Translator
from bot.services.alerts import Alert


def alert_text(t: Translator, alert: Alert) -> str:
    """The update id and the exception's type, and how many errors went unreported before."""
    if alert.update_id is None:
        text = t.gettext(
            "Relais: a background task failed (%(error)s). The details are in the bot's log.",
            error=alert.error,
        )
    else:
        text = t.gettext(
            "Relais: update %(update)s failed (%(error)s). The details are in the bot's log.",
            update=alert.update_id,
            error=alert.error,
        )
    if alert.unreported:
        text += "\n" + t.ngettext(
            "%(n)d more error since the previous alert.",
            "%(n)d more errors since the previous alert.",
            alert.unreported,
        )
    return t.bidi(text)
