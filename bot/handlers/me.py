"""/me: the participant's cohort and next sessions."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.handlers import supervisor
from bot.handlers.certificates import again_button
from bot.handlers.common import Context, caller, keyboard, reply
from bot.services.certificates import certificate_status
from bot.services.certification import certificates_of
from bot.services.presence import presences_of
from bot.services.questionnaire import pending
from bot.services.scores import (
    answers_release,
    answers_released,
    kat_result,
    results_visible,
)
from bot.views.attendance import presence_text
from bot.views.certificates import issued_text, status_text
from bot.views.me import answers_button, me_text, todo_buttons, todo_text
from bot.views.scores import release_text, results_hidden_text, scores_text
from bot.views.screen import Button


async def me(update: Update, context: Context) -> None:
    """Stores nothing; shows the cohort, next sessions, questionnaires to answer, KAT scores,
    attendance recorded and certificates (buttons to start one, or to receive one again); a
    supervisor, their list of questionnaires."""
    rt = context.runtime
    who = await caller(update, context)
    if who.identity.supervisor is not None and not who.identity.is_known:
        # A line manager has no card: only their own questionnaires.
        await supervisor.send_menu(context, who)
        return
    now = rt.clock.now()
    text = me_text(who.t, who.identity, rt.content.programme, now)
    participant = who.identity.participant
    rows: list[list[Button]] = []
    again: list[list[InlineKeyboardButton]] = []
    if participant is not None:
        todo = await pending(rt.db, rt.content, participant, now)
        if todo:
            text += "\n\n" + todo_text(who.t, todo)
            rows += todo_buttons(who.t, todo)
        result = await kat_result(rt.db, rt.content, participant.id)
        if result is not None and result.post is not None:
            if results_visible(rt.content, participant, now):
                text += "\n\n" + scores_text(who.t, result)
            else:
                text += "\n\n" + results_hidden_text(who.t)
            # The right answers wait until no cohort can still take the test.
            if answers_released(rt.content, now):
                rows.append([answers_button(who.t)])
            else:
                text += "\n" + release_text(who.t, answers_release(rt.content))
        async with rt.db.read() as conn:
            attendance = presence_text(
                who.t, await presences_of(conn, rt.content.programme, participant)
            )
        if attendance is not None:
            text += "\n\n" + attendance
        status = await certificate_status(rt.db, rt.content, participant)
        if status is not None:
            text += "\n\n" + status_text(who.t, status)
        issued = await certificates_of(rt.db, participant.id)
        if issued:
            text += "\n\n" + issued_text(who.t, issued)
            again = [[again_button(who.t, cert)] for cert in issued if not cert.revoked]
    plain = keyboard(rows)
    inline = [*(plain.inline_keyboard if plain else ()), *again]
    await reply(update, who, text, InlineKeyboardMarkup(inline) if inline else None)
