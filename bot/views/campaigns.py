"""The scheduled messages a participant receives (session reminders, invitations, nudges)
and a supervisor's invitations and nudges."""

from __future__ import annotations

from datetime import datetime

from bot.callbacks import SUPERVISOR_MENU_DATA
from bot.content.instruments import Instrument, Stage
from bot.content.models import Session
from bot.i18n import Translator, escape
from bot.outgoing import Button, OutgoingMessage
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


def _supervisor_button(t: Translator) -> Button:
    # One fixed datum: the list of the people they are asked about, built when pressed.
    return Button(t.gettext("Open the questionnaires"), SUPERVISOR_MENU_DATA)


def supervisor_invitation(
    t: Translator, instrument: Instrument, stage: Stage, closes: datetime, count: int
) -> OutgoingMessage:
    """A supervisors' stage is open: until when, for how many people, and a button to the list
    (no names: the message is shared by every supervisor with the same count)."""
    title = stage_title(t, instrument, stage)
    text = t.gettext(
        "📝 <b>%(title)s</b> is open until %(when)s.", title=escape(title), when=t.moment(closes)
    )
    text += "\n\n" + t.ngettext(
        "Your view is asked on %(n)d person you supervise, in a few minutes. Your answers"
        " are only published as overall results and never shared with that person.",
        "Your view is asked on %(n)d people you supervise, a few minutes each. Your answers"
        " are only published as overall results and never shared with the people concerned.",
        count,
    )
    return OutgoingMessage(t.bidi(text), buttons=((_supervisor_button(t),),))


def supervisor_nudge(
    t: Translator, instrument: Instrument, stage: Stage, closes: datetime, count: int
) -> OutgoingMessage:
    """A supervisor's answers are still awaited for ``count`` people, until when, and an
    button to the list."""
    title = stage_title(t, instrument, stage)
    text = t.ngettext(
        "📝 Your answers to <b>%(title)s</b> are still awaited for %(n)d person you"
        " supervise, until %(when)s.",
        "📝 Your answers to <b>%(title)s</b> are still awaited for %(n)d people you"
        " supervise, until %(when)s.",
        count,
        title=escape(title),
        when=t.moment(closes),
    )
    return OutgoingMessage(t.bidi(text), buttons=((_supervisor_button(t),),))
