"""Questionnaires in the chat: start or continue, tap through the items, type free answers."""

from __future__ import annotations

import asyncio
import logging

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest

from bot.handlers import fallback
from bot.handlers.common import (
    Caller,
    Context,
    answer_query,
    caller,
    runtime,
    speaker,
    split_message,
)
from bot.i18n import Translator
from bot.services.questionnaire import (
    Outcome,
    Refusal,
    Screen,
    open_stage,
    parse_open,
    remember_message,
    tap,
    type_answer,
)
from bot.services.scores import ANSWERS_DATA, answers_released, kat_results_text, results_text
from bot.services.text import clean_text
from bot.storage.answers import Attempt

log = logging.getLogger(__name__)

TAP_PATTERN = r"^q:"
OPEN_PATTERN = r"^qo:"
ANSWERS_PATTERN = f"^{ANSWERS_DATA}$"


def markup(screen: Screen) -> InlineKeyboardMarkup | None:
    """The screen's buttons as an inline keyboard."""
    if not screen.buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(b.label, callback_data=b.data) for b in row]
            for row in screen.buttons
        ]
    )


def refusal_text(t: Translator, outcome: Outcome) -> str:
    """The short notice for a tap or a start that changed nothing."""
    refusal, window = outcome.refusal, outcome.window
    if refusal is Refusal.SUBMITTED:
        return t.gettext("Your answers have already been sent; they can no longer be changed.")
    if refusal is Refusal.NOT_OPEN and window is not None:
        return t.gettext("This questionnaire opens on %(when)s.", when=t.moment(window.opens))
    if refusal is Refusal.CLOSED and window is not None:
        return t.gettext("This questionnaire closed on %(when)s.", when=t.moment(window.closes))
    return t.gettext("This button is no longer valid.")


async def _show_new(context: Context, who: Caller, attempt: Attempt, screen: Screen) -> None:
    message = await context.bot.send_message(
        who.chat_id, who.t.bidi(screen.text), reply_markup=markup(screen)
    )
    await remember_message(runtime(context).db, attempt, who.chat_id, message.message_id)


async def open_questionnaire(update: Update, context: Context) -> None:
    """Stores a new attempt or makes the open one current; asks its current question in the
    message the button was on (edited), or in a new one where that message cannot be."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    rt = runtime(context)
    who = await caller(update, context)
    participant = who.identity.participant
    target = parse_open(query.data)
    if participant is None or target is None:
        await answer_query(query, who.t.gettext("This button is no longer valid."))
        return
    # The message with the button becomes the questionnaire: one edit instead of a send.
    here = query.message if isinstance(query.message, Message) else None
    shown_in = (here.chat.id, here.message_id) if here is not None and here.text else None
    outcome = await open_stage(
        rt.db, rt.content, participant, *target, who.t, rt.clock.now(), shown_in=shown_in
    )
    if outcome.refusal is not None or outcome.attempt is None or outcome.screen is None:
        await answer_query(query, refusal_text(who.t, outcome), show_alert=True)
        return
    await answer_query(query)
    previous = outcome.attempt
    if (
        previous.message_id is not None
        and previous.chat_id is not None
        and (previous.chat_id, previous.message_id) != shown_in
    ):
        await _retire(context, previous.chat_id, previous.message_id)
    screen = outcome.screen
    if shown_in is not None:
        try:
            await query.edit_message_text(who.t.bidi(screen.text), reply_markup=markup(screen))
            return
        except BadRequest as exc:
            # Gone, or no longer editable: the questionnaire goes in a new message instead.
            log.info("questionnaire: could not open in place (%s); sending it", exc.message)
    await _show_new(context, who, outcome.attempt, screen)


async def tap_answer(update: Update, context: Context) -> None:
    """Stores the tapped answer (or moves back, or submits); shows the next item in place."""
    query, user = update.callback_query, update.effective_user
    if query is None or query.data is None or user is None:
        return
    rt = runtime(context)
    # No caller() here: the tap's own query checks that the attempt is this user's, so a
    # tap costs one trip to the database fewer (see benchmarks/answer_path.py).
    speak = speaker(rt, user.language_code)
    outcome = await tap(rt.db, rt.content, user.id, query.data, speak, rt.clock.now())
    t = speak(outcome.language)
    if outcome.refusal is not None or outcome.attempt is None:
        await answer_query(query, refusal_text(t, outcome))
        return
    if outcome.submitted:
        await _answer_and_edit(query, t.bidi(submitted_text(t)), None)
        who = await caller(update, context)
        if who.identity.participant is None:
            return
        results = await kat_results_text(
            rt.db, rt.content, who.identity.participant, outcome.attempt, t, rt.clock.now()
        )
        if results:
            for chunk in split_message(t.bidi(results)):
                await context.bot.send_message(who.chat_id, chunk)
        return
    assert outcome.screen is not None
    await _answer_and_edit(query, t.bidi(outcome.screen.text), markup(outcome.screen))


async def _answer_and_edit(
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
    rt = runtime(context)
    who = await caller(update, context)
    participant = who.identity.participant
    text = None
    if participant is not None and answers_released(rt.content, rt.clock.now()):
        text = await results_text(rt.db, rt.content, participant, who.t)
    if text is None:
        await answer_query(query, who.t.gettext("This button is no longer valid."))
        return
    await answer_query(query)
    for chunk in split_message(who.t.bidi(text)):
        await context.bot.send_message(who.chat_id, chunk)


def submitted_text(t: Translator) -> str:
    """What the questionnaire message becomes once sent."""
    return t.gettext("Thank you! Your answers have been sent.")


async def typed_answer(update: Update, context: Context) -> None:
    """Stores a typed message as the answer to a free-text question; asks the next item."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    rt = runtime(context)
    who = await caller(update, context)
    participant = who.identity.participant
    if participant is None:
        await fallback.unknown_message(update, context)
        return
    outcome = await type_answer(
        rt.db,
        rt.content,
        participant,
        clean_text(message.text),
        who.t,
        rt.clock.now(),
        message_id=message.message_id,
    )
    if outcome.refusal is Refusal.DUPLICATE:
        return  # a redelivered update: the first delivery was answered already
    if outcome.refusal is Refusal.NONE_OPEN:
        await fallback.unknown_message(update, context)
        return
    if outcome.refusal is Refusal.TOO_LONG:
        text = who.t.gettext(
            "Your answer is too long: %(length)d characters for %(max)d at most. Please shorten "
            "it and send it again; your other answers are kept.",
            length=len(message.text.strip()),
            max=outcome.max_length or 0,
        )
        await message.reply_text(who.t.bidi(text))
        return
    if outcome.refusal is not None or outcome.attempt is None or outcome.screen is None:
        await message.reply_text(who.t.bidi(refusal_text(who.t, outcome)))
        return
    # The next question goes below the typed answer; the old message makes way.
    attempt = outcome.attempt
    if attempt.message_id is not None and attempt.chat_id is not None:
        await _retire(context, attempt.chat_id, attempt.message_id)
    await _show_new(context, who, attempt, outcome.screen)


async def _retire(context: Context, chat_id: int, message_id: int) -> None:
    """Remove an old questionnaire message, or at least its buttons if it is too old to delete."""
    try:
        await context.bot.delete_message(chat_id, message_id)
    except BadRequest:
        try:
            await context.bot.edit_message_reply_markup(chat_id, message_id, reply_markup=None)
        except BadRequest:
            log.debug("questionnaire message %s already gone", message_id)
