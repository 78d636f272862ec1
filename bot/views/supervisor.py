"""A supervisor's screens: whom they are asked about now, and what Relais holds about them.

A supervisor sees the name of each person they answer about, and nothing else of them:
no cohort, answers, scores, attendance or certificate.
"""

from __future__ import annotations

from datetime import datetime

from bot.callbacks import supervisor_open_data
from bot.i18n import Translator, escape
from bot.services.questionnaire import Pending, SupervisorMenu
from bot.services.supervising import SupervisorData
from bot.views.common import BUTTON_TEXT_MAX, stage_label
from bot.views.screen import Button, Screen

# A stage without a short name is clipped to this in the list.
STAGE_ROOM = 40
# People listed at once: a head of a large agency may supervise more than a phone screen
# (and Telegram's 100 buttons and 4,096 characters) holds; the rest follow as they answer.
MAX_LISTED = 20


def _open_label(t: Translator, started: bool, name: str) -> str:
    if started:
        return t.gettext("Continue — %(name)s", name=name)
    return t.gettext("Start — %(name)s", name=name)


def clip_name(name: str, room: int) -> str:
    """A name cut to ``room`` characters, an ellipsis marking the cut."""
    return name if len(name) <= room else name[: max(room - 1, 1)].rstrip() + "…"


def open_button(t: Translator, pending: Pending) -> Button:
    """ "Start — <name>" (or "Continue"), the name clipped to fit a phone's button."""
    assert pending.about is not None  # a supervisor's entry is always about someone
    room = BUTTON_TEXT_MAX - len(_open_label(t, pending.started, ""))
    label = _open_label(t, pending.started, clip_name(pending.about.name, room))
    return Button(
        label,
        supervisor_open_data(pending.about.participant_id, pending.instrument.id, pending.stage.id),
    )


def menu_screen(t: Translator, menu: SupervisorMenu) -> Screen:
    """The supervisor's list: one line and one button per person and questionnaire open now,
    or when the next one opens."""
    if not menu.todo:
        return Screen(nothing_open_text(t, menu.next_opens))
    lines = [t.gettext("<b>Your questionnaires as a line manager</b>")]
    listed, rest = menu.todo[:MAX_LISTED], len(menu.todo) - MAX_LISTED
    for item in listed:
        assert item.about is not None
        # The stage's short name: the questionnaire's title is the same on every line.
        lines.append(
            t.gettext(
                "• %(name)s: %(stage)s, until %(when)s",
                name=escape(item.about.name),
                stage=escape(stage_label(item.stage, t.locale, STAGE_ROOM)),
                when=t.moment(item.window.closes),
            )
        )
    if rest > 0:
        lines.append(
            t.ngettext(
                "… and %(n)d more person, listed here as you answer.",
                "… and %(n)d more people, listed here as you answer.",
                rest,
            )
        )
    lines += [
        "",
        t.gettext(
            "Your answers are only published as overall results and are never shown to the "
            "people concerned."
        ),
    ]
    return Screen("\n".join(lines), [[open_button(t, item)] for item in listed])


def nothing_open_text(t: Translator, next_opens: datetime | None) -> str:
    """Nothing to answer now: when the next questionnaire opens, or that none is planned."""
    if next_opens is not None:
        return t.gettext(
            "You are enrolled as a line manager. No questionnaire is waiting for you now; the "
            "next one opens on %(when)s. I will write to you then.",
            when=t.moment(next_opens),
        )
    return t.gettext(
        "You are enrolled as a line manager. No questionnaire is waiting for you now, and none "
        "is planned."
    )


def supervisor_data_text(t: Translator, found: SupervisorData) -> str:
    """/mydata for a supervisor: what Relais holds about them, and nothing about anyone else."""
    supervisor, bound, answered = found.supervisor, found.account, found.answered
    none = t.gettext("none")
    lines = [
        t.gettext("<b>What Relais stores about you</b>"),
        t.gettext("Name: %(value)s", value=escape(supervisor.name or none)),
        t.gettext("E-mail: %(value)s", value=escape(supervisor.email)),
    ]
    if bound is not None:
        lines.append(
            t.gettext(
                "Telegram account %(id)s, linked on %(when)s", id=bound[0], when=t.moment(bound[1])
            )
        )
    lines += [
        "",
        t.ngettext(
            "%(n)d questionnaire answered as a line manager",
            "%(n)d questionnaires answered as a line manager",
            answered,
        ),
        "",
        t.gettext(
            "<i>Your name, e-mail and Telegram account are kept to send you the line managers' "
            "questionnaires; your answers are analysed under a code, never by name, and only "
            "published as overall results. Ask the course team to have your data erased.</i>"
        ),
    ]
    return "\n".join(lines)
