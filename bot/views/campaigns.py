"""The scheduled messages a participant receives: session reminders, invitations, nudges."""

from __future__ import annotations

from datetime import datetime

from bot.content.instruments import Instrument, Stage
from bot.content.models import Session
from bot.i18n import Translator, escape
from bot.outgoing import Button, OutgoingMessage
from bot.services.questionnaire import OPEN_PREFIX


def reminder(t: Translator, session: Session) -> OutgoingMessage:
    """The reminder of a session: its title, when, and where (the link or the place)."""
    loc = t.locale
    lines = [
        t.gettext("⏰ Reminder: <b>%(title)s</b>", title=escape(session.title.get(loc))),
        t.moment(session.start_utc),
    ]
    if session.link:
        lines.append(t.gettext("Online: %(link)s", link=escape(session.link)))
    elif session.place is not None:
        lines.append(t.gettext("Place: %(place)s", place=escape(session.place.get(loc))))
    return OutgoingMessage(t.bidi("\n".join(lines)))


def invitation(
    t: Translator, instrument: Instrument, stage: Stage, closes: datetime
) -> OutgoingMessage:
    """A questionnaire stage is open: until when, its introduction, and a Start button."""
    loc = t.locale
    title = _title(t, instrument, stage)
    text = t.gettext(
        "📝 <b>%(title)s</b> is open until %(when)s.", title=escape(title), when=t.moment(closes)
    )
    if instrument.intro is not None:
        text += "\n\n" + escape(instrument.intro.get(loc))
    button = Button(t.gettext("Start: %(title)s", title=title), _open(instrument, stage))
    return OutgoingMessage(t.bidi(text), buttons=((button,),))


def nudge(t: Translator, instrument: Instrument, stage: Stage, closes: datetime) -> OutgoingMessage:
    """Answers are still awaited: until when, and a Continue button."""
    title = _title(t, instrument, stage)
    text = t.gettext(
        "📝 Your answers to <b>%(title)s</b> are still awaited, until %(when)s.",
        title=escape(title),
        when=t.moment(closes),
    )
    button = Button(t.gettext("Continue: %(title)s", title=title), _open(instrument, stage))
    return OutgoingMessage(t.bidi(text), buttons=((button,),))


def _title(t: Translator, instrument: Instrument, stage: Stage) -> str:
    return f"{instrument.title.get(t.locale)} · {stage.title.get(t.locale)}"


def _open(instrument: Instrument, stage: Stage) -> str:
    return f"{OPEN_PREFIX}:{instrument.kind}:{stage.id}"
