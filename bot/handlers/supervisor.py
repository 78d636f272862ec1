"""A supervisor's chat: the list of people they are asked about, and their questionnaires.

The questionnaire itself is the participants' engine (``services.questionnaire``) on the
supervisors' book: its own tables, its own button prefixes, the window of the supervisee's
cohort, and ``{name}`` filled with the supervisee's name.
"""

from __future__ import annotations

from telegram import Update

from bot.callbacks import parse_supervisor_open
from bot.handlers.common import Caller, Context, answer_query, caller, markup, reply, speaker
from bot.handlers.questionnaire import answer_and_edit, present, refusal_text, shown_in
from bot.services.questionnaire import (
    SUPERVISORS,
    Shown,
    Submitted,
    open_for_supervisee,
    supervisor_menu,
    tap,
)
from bot.services.supervising import supervisor_data
from bot.views.questionnaire import stale_text, submitted_text
from bot.views.supervisor import menu_screen, supervisor_data_text


async def send_menu(context: Context, who: Caller) -> None:
    """Send the supervisor's list of what they can answer now (or when the next one opens)."""
    rt = context.runtime
    supervisor = who.identity.supervisor
    assert supervisor is not None
    menu = await supervisor_menu(rt.db, rt.content, supervisor, rt.clock.now())
    screen = menu_screen(who.t, menu)
    # A message of its own: each button turns it into that person's questionnaire.
    await context.bot.send_message(
        who.chat_id, who.t.bidi(screen.text), reply_markup=markup(screen)
    )


async def show_menu(update: Update, context: Context) -> None:
    """Stores nothing; sends a supervisor the people and questionnaires open for them now."""
    query = update.callback_query
    if query is None:
        return
    who = await caller(update, context)
    if who.identity.supervisor is None or who.identity.participant is not None:
        await answer_query(query, stale_text(who.t))
        return
    await answer_query(query)
    await send_menu(context, who)


async def open_supervisee(update: Update, context: Context) -> None:
    """Stores a new supervisor's attempt about one supervisee (or makes the open one current);
    asks its current question in the button's message. Someone the supervisor does not
    supervise now is refused and nothing is written."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    rt = context.runtime
    who = await caller(update, context)
    supervisor = who.identity.supervisor
    target = parse_supervisor_open(query.data)
    if supervisor is None or target is None:
        await answer_query(query, stale_text(who.t))
        return
    here = shown_in(query)
    outcome = await open_for_supervisee(
        rt.db,
        rt.content,
        supervisor,
        target.participant_id,
        target.instrument,
        target.stage,
        who.t,
        rt.clock.now(),
        shown_in=here,
    )
    await present(query, context, who, outcome, here, SUPERVISORS)


async def tap_answer(update: Update, context: Context) -> None:
    """Stores the supervisor's tapped answer (or moves back, or sends); shows the next item in
    place, and after sending, what is left to answer."""
    query, user = update.callback_query, update.effective_user
    if query is None or query.data is None or user is None:
        return
    rt = context.runtime
    speak = speaker(rt, user.language_code)
    outcome = await tap(
        rt.db, rt.content, user.id, query.data, speak, rt.clock.now(), book=SUPERVISORS
    )
    t = speak(outcome.language)
    match outcome:
        case Shown(screen=screen):
            await answer_and_edit(query, t.bidi(screen.text), markup(screen))
        case Submitted():
            await answer_and_edit(query, t.bidi(submitted_text(t)), None)
            who = await caller(update, context)
            if who.identity.supervisor is not None:
                await send_menu(context, who)
        case _:
            await answer_query(query, refusal_text(t, outcome))


async def mydata(update: Update, context: Context, who: Caller) -> None:
    """Stores nothing; lists what Relais holds about the supervisor asking (nobody else)."""
    supervisor = who.identity.supervisor
    assert supervisor is not None
    found = await supervisor_data(context.runtime.db, supervisor)
    await reply(update, who, supervisor_data_text(who.t, found))
