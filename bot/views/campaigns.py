"""The scheduled messages a participant receives: session reminders, invitations, nudges."""

from __future__ import annotations

from datetime import datetime

from bot.content.instruments import Instrument, Stage
from bot.content.models import Session
from bot.i18n import Translator, escape
from bot.outgoing import OutgoingMessage
from bot.views.common import open_button, session_lines, stage_title


def reminder(t: Translator, session: Session) -> OutgoingMessage:
    """The reminder of a session: its title, when, and where (the link or the place)."""
    lines = session_lines(t, session)
    lines[0] = t.gettext("⏰ Reminder: <b>%(title)s</b>", title=escape(session.title.get(t.locale)))
    return OutgoingMessage(t.bidi("\n".join(lines)))


def invitation(
    t: Translator, instrument: Instrument, stage: Stage, closes: datetime
) -> OutgoingMessage:
    """A questionnaire stage is open: until when, its introduction, and a Start button."""
    title = stage_title(t, instrument, stage)
    text = t.gettext(
        "📝 <b>%(title)s</b> is open until %(when)s.", title=escape(title), when=t.moment(closes)
    )
    if instrument.intro is not None:
        text += "\n\n" + escape(instrument.intro.get(t.locale))
    button = open_button(t, instrument, stage, started=False)
    return OutgoingMessage(t.bidi(text), buttons=((button,),))


def nudge(t: Translator, instrument: Instrument, stage: Stage, closes: datetime) -> OutgoingMessage:
    """Answers are still awaited: until when, and a Continue button."""
    title = stage_title(t, instrument, stage)
    text = t.gettext(
        "📝 Your answers to <b>%(title)s</b> are still awaited, until %(when)s.",
        title=escape(title),
        when=t.moment(closes),
    )
    # "Continue" whether or not the stage was begun: it was announced before.
    button = open_button(t, instrument, stage, started=True)
    return OutgoingMessage(t.bidi(text), buttons=((button,),))
