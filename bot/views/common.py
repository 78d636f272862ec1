"""Pieces several screens share: a session's time and place, the start-or-continue button."""

from __future__ import annotations

from bot.callbacks import open_data
from bot.content.instruments import Instrument, Stage
from bot.content.models import Session
from bot.i18n import Translator, escape
from bot.services.access import Identity
from bot.views.screen import Button


def access_text(t: Translator) -> str:
    """What someone who is not enrolled is told, whatever they send."""
    return t.gettext(
        "Hello! This bot is reserved for the participants and the course team of the training "
        "programme.\n\nTo get access, open the personal invitation link (or scan the QR code) "
        "that your coordinator sent you. If you have lost it, ask your coordinator for a new one."
    )


def supervisor_text(t: Translator) -> str:
    """What an enrolled supervisor is told when they ask for anything but their questionnaires."""
    return t.gettext(
        "You are enrolled as a line manager. Your questionnaires will come in this chat when "
        "they open. The participants' answers, scores and certificates are not shown to line "
        "managers."
    )


def stranger_text(t: Translator, identity: Identity) -> str:
    """The reply to someone with no access to programme content: a supervisor, or a stranger."""
    return supervisor_text(t) if identity.supervisor is not None else access_text(t)


def venue_line(t: Translator, session: Session) -> str | None:
    """Where a session happens: its online link, else its place; None if neither is known."""
    if session.link:
        return t.gettext("Online: %(link)s", link=escape(session.link))
    if session.place is not None:
        return t.gettext("Place: %(place)s", place=escape(session.place.get(t.locale)))
    return None


def session_lines(t: Translator, session: Session) -> list[str]:
    """A session as a participant reads it: title, when, and where."""
    # A deadline shows when it closes, any other session when it starts.
    lines = [f"<b>{escape(session.title.get(t.locale))}</b>", t.moment(session.shown_utc)]
    venue = venue_line(t, session)
    return lines if venue is None else [*lines, venue]


def stage_title(t: Translator, instrument: Instrument, stage: Stage) -> str:
    """ "<instrument> · <stage>" in the reader's language (plain text, not escaped)."""
    return f"{instrument.title.get(t.locale)} · {stage.title.get(t.locale)}"


# A full-width button on a 360-dp phone (the commonest Android width) shows about 36
# characters before Telegram cuts it with "…": "Continuer : " (12) and a 24-character
# short label (MAX_SHORT_LABEL) fill it exactly.
BUTTON_TEXT_MAX = 36


def stage_label(stage: Stage, locale: str, room: int) -> str:
    """The stage's name on a button: its short label, else its title clipped to ``room``."""
    if stage.short is not None:
        return stage.short.get(locale)
    title = stage.title.get(locale)
    return title if len(title) <= room else title[: max(room - 1, 1)].rstrip() + "…"


def _open_label(t: Translator, started: bool, title: str) -> str:
    if started:
        return t.gettext("Continue: %(title)s", title=title)
    return t.gettext("Start: %(title)s", title=title)


def open_button(t: Translator, instrument: Instrument, stage: Stage, started: bool) -> Button:
    """The button that starts a questionnaire stage, or continues it once begun."""
    # The message above the button names the instrument in full; the button names the stage.
    room = BUTTON_TEXT_MAX - len(_open_label(t, started, ""))
    label = _open_label(t, started, stage_label(stage, t.locale, room))
    return Button(label, open_data(instrument.id, stage.id))
