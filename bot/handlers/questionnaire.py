"""Questionnaires in the chat: start or continue, tap through the items, type free answers."""

from __future__ import annotations

import asyncio
import logging

from telegram import CallbackQuery, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest

from bot.callbacks import parse_open
from bot.handlers import fallback
from bot.handlers.common import (
    Caller,
    Context,
    answer_query,
    caller,
    markup,
    speaker,
    split_message,
)
from bot.i18n import Translator
from bot.rules.questionnaire import Refusal
from bot.services.questionnaire import (
    PARTICIPANTS,
    SUPERVISORS,
    Book,
    NotDone,
    OutsideWindow,
    Refused,
    Shown,
    Submitted,
    TooLong,
    open_stage,
    remember_message,
    tap,
    type_answer,
)
from bot.services.scores import answers_released, kat_results_text, results_text
from bot.services.text import clean_text
from bot.storage.answers import Attempt
from bot.views.questionnaire import refusal_text as refusal_notice
from bot.views.questionnaire import stale_text, submitted_text, too_long_text
from bot.views.screen import Screen

log = logging.getLogger(__name__)


def refusal_text(t: Translator, outcome: NotDone) -> str:
    """The short notice for a tap or a start that changed nothing."""
    window = outcome.window if isinstance(outcome, OutsideWindow) else None
    return refusal_notice(t, outcome.refusal, window)


async def _show_new(
    context: Context, who: Caller, attempt: Attempt, screen: Screen, book: Book = PARTICIPANTS
) -> None:
    message = await context.bot.send_message(
        who.chat_id, who.t.bidi(screen.text), reply_markup=markup(screen)
    )
    await remember_message(context.runtime.db, attempt, who.chat_id, message.message_id, book=book)


def shown_in(query: CallbackQuery) -> tuple[int, int] | None:
    """The message a start button was on, which becomes the questionnaire (one edit instead
    of a send); None when it cannot be edited into one."""
    here = query.message if isinstance(query.message, Message) else None
    return (here.chat.id, here.message_id) if here is not None and here.text else None


async def open_questionnaire(update: Update, context: Context) -> None:
    """Stores a new attempt or makes the open one current; asks its current question in the
    message the button was on (edited), or in a new one where that message cannot be."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    rt = context.runtime
    who = await caller(update, context)
    participant = who.identity.participant
    target = parse_open(query.data)
    if participant is None or target is None:
        await answer_query(query, stale_text(who.t))
        return
    here = shown_in(query)
    outcome = await open_stage(
        rt.db, rt.content, participant, *target, who.t, rt.clock.now(), shown_in=here
    )
    await present(query, context, who, outcome, here, PARTICIPANTS)


async def present(
    query: CallbackQuery,
    context: Context,
    who: Caller,
    outcome: Shown | Refused | OutsideWindow,
    here: tuple[int, int] | None,
    book: Book,
) -> None:
    """Show a questionnaire just opened in the button's message (else a new one), retiring
    the message that showed it before; or say why it did not open."""
    if not isinstance(outcome, Shown):
        await answer_query(query, refusal_text(who.t, outcome), show_alert=True)
        return
    await answer_query(query)
    previous = outcome.attempt
    if (
        previous.message_id is not None
        and previous.chat_id is not None
        and (previous.chat_id, previous.message_id) != here
    ):
        await _retire(context, previous.chat_id, previous.message_id)
    screen = outcome.screen
    if here is not None:
        try:
            await query.edit_message_text(who.t.bidi(screen.text), reply_markup=markup(screen))
            return
        except BadRequest as exc:
            # Gone, or no longer editable: the questionnaire goes in a new message instead.
            log.info("questionnaire: could not open in place (%s); sending it", exc.message)
    await _show_new(context, who, outcome.attempt, screen, book)


async def tap_answer(update: Update, context: Context) -> None:
    """Stores the tapped answer (or moves back, or submits); shows the next item in place."""
    query, user = update.callback_query, update.effective_user
    if query is None or query.data is None or user is None:
        return
    rt = context.runtime
    # No caller() here: the tap's own query checks that the attempt is this user's, so a
    # tap costs one trip to the database fewer (see benchmarks/answer_path.py).
    speak = speaker(rt, user.language_code)
    outcome = await tap(rt.db, rt.content, user.id, query.data, speak, rt.clock.now())
    t = speak(outcome.language)
    match outcome:
        case Shown(screen=screen):
            await answer_and_edit(query, t.bidi(screen.text), markup(screen))
        case Submitted(attempt=attempt):
            await answer_and_edit(query, t.bidi(submitted_text(t)), None)
            await _send_results(update, context, attempt, t)
        case _:
            await answer_query(query, refusal_text(t, outcome))


async def _send_results(update: Update, context: Context, attempt: Attempt, t: Translator) -> None:
    """After a KAT is sent: its score, where the programme shows it now."""
    rt = context.runtime
    who = await caller(update, context)
    if who.identity.participant is None:
        return
    results = await kat_results_text(
        rt.db, rt.content, who.identity.participant, attempt, t, rt.clock.now()
    )
    if results:
        for chunk in split_message(t.bidi(results)):
            await context.bot.send_message(who.chat_id, chunk)


async def answer_and_edit(
    query: CallbackQuery, text: str, keyboard: InlineKeyboardMarkup | None
) -> None:
    """Answer the press and show the next screen at the same time: one round trip to
    Telegram instead of two (the tap is already committed)."""
    if query.message is None or not query.message.is_accessible:
        # A message too old for Telegram to let it be edited: the next screen comes as a new
        # message (the tap is stored; it must not end in an error and an apology).
        await answer_query(query)
        await query.get_bot().send_message(query.from_user.id, text, reply_markup=keyboard)
        return
    results = await asyncio.gather(
        answer_query(query),
        query.edit_message_text(text, reply_markup=keyboard),
        return_exceptions=True,
    )
    for result in results:
        if isinstance(result, BaseException):
            raise result


async def show_answers(update: Update, context: Context) -> None:
    """Stores nothing; sends the KAT's right answers and explanations once no cohort can take it."""
    query = update.callback_query
    if query is None:
        return
    rt = context.runtime
    who = await caller(update, context)
    participant = who.identity.participant
    text = None
    if participant is not None and answers_released(rt.content, rt.clock.now()):
        text = await results_text(rt.db, rt.content, participant, who.t)
    if text is None:
        await answer_query(query, stale_text(who.t))
        return
    await answer_query(query)
    for chunk in split_message(who.t.bidi(text)):
        await context.bot.send_message(who.chat_id, chunk)


async def typed_answer(update: Update, context: Context) -> None:
    """Stores a typed message as the answer to a free-text question (a participant's, or a
    supervisor's about someone they supervise); asks the next item."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    rt = context.runtime
    who = await caller(update, context)
    respondent = who.identity.participant or who.identity.supervisor
    if respondent is None:
        await fallback.unknown_message(update, context)
        return
    book = PARTICIPANTS if who.identity.participant is not None else SUPERVISORS
    outcome = await type_answer(
        rt.db,
        rt.content,
        respondent,
        clean_text(message.text),
        who.t,
        rt.clock.now(),
        message_id=message.message_id,
    )
    match outcome:
        case Refused(refusal=Refusal.DUPLICATE):
            return  # a redelivered update: the first delivery was answered already
        case Refused(refusal=Refusal.NONE_OPEN):
            await fallback.unknown_message(update, context)
        case TooLong(max_length=max_length):
            text = too_long_text(who.t, len(message.text.strip()), max_length)
            await message.reply_text(who.t.bidi(text))
        case Shown(attempt=attempt, screen=screen):
            # The next question goes below the typed answer; the old message makes way.
            if attempt.message_id is not None and attempt.chat_id is not None:
                await _retire(context, attempt.chat_id, attempt.message_id)
            await _show_new(context, who, attempt, screen, book)
        case _:
            await message.reply_text(who.t.bidi(refusal_text(who.t, outcome)))


async def _retire(context: Context, chat_id: int, message_id: int) -> None:
    """Remove an old questionnaire message, or at least its buttons if it is too old to delete."""
    try:
        await context.bot.delete_message(chat_id, message_id)
    except BadRequest:
        try:
            await context.bot.edit_message_reply_markup(chat_id, message_id, reply_markup=None)
        except BadRequest:
            log.debug("questionnaire message %s already gone", message_id)
