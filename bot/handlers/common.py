"""Helpers shared by the handlers: the runtime, who is talking, in which language."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from telegram import CallbackQuery, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, NetworkError

from bot.context import RelaisContext
from bot.i18n import Translator
from bot.runtime import Runtime
from bot.sender import keyboard as keyboard  # one markup for screens and queued messages
from bot.services.access import Identity, choose_locale, identify
from bot.storage.repo import Role
from bot.views.common import access_text as access_text  # the handlers' refusal to strangers
from bot.views.common import stranger_text as stranger_text
from bot.views.screen import Screen

log = logging.getLogger(__name__)

# Telegram's limit is 4096 characters after entities are parsed; keep a margin for tags.
MESSAGE_LIMIT = 3800


# Every handler's second argument (bot/context.py, shared with the scheduler's jobs).
Context = RelaisContext


def markup(screen: Screen) -> InlineKeyboardMarkup | None:
    """The screen's buttons as an inline keyboard (None when it has none)."""
    return keyboard(screen.buttons)


@dataclass(frozen=True, slots=True)
class Caller:
    """The user behind an update, and a translator in their language."""

    identity: Identity
    t: Translator
    chat_id: int


async def caller(update: Update, context: Context) -> Caller:
    """Identify the update's user and pick their language."""
    rt = context.runtime
    user = update.effective_user
    chat = update.effective_chat
    if user is None:
        raise ValueError("update has no user")
    identity = await identify(rt.db, user.id, rt.settings.admin_ids)
    locale = identity.locale(user.language_code, rt.settings.default_locale)
    # A button on an inline message has no chat; in a one-to-one bot the user's id is the chat.
    return Caller(identity, translator(rt, locale), chat.id if chat is not None else user.id)


async def answer_query(
    query: CallbackQuery, text: str | None = None, show_alert: bool = False
) -> None:
    """Answer a button press; an answer Telegram no longer accepts (too old) is not an error.

    Nor is a network failure here: the answer only stops the button's spinner, and what
    the press does next (already committed) matters more than the spinner.
    """
    try:
        await query.answer(text, show_alert=show_alert)
    except BadRequest as exc:
        message = exc.message.lower()
        if "query is too old" not in message and "query id is invalid" not in message:
            raise
    except NetworkError as exc:
        log.warning("could not answer a button press: %s", exc.message)


def translator(rt: Runtime, locale: str) -> Translator:
    """A translator for ``locale`` in the programme's time zone."""
    return Translator(locale, rt.content.programme.tz)


def speaker(rt: Runtime, language_code: str | None) -> Callable[[str | None], Translator]:
    """Translators for a saved language, else the Telegram client's, else the default: for
    services that find the participant (and their language) in their own query."""

    def speak(saved: str | None) -> Translator:
        return translator(rt, choose_locale(saved, language_code, rt.settings.default_locale))

    return speak


async def reply(
    update: Update, who: Caller, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Send ``text`` to the update's chat, made right-to-left safe for Arabic."""
    message = update.effective_message
    if message is None:
        return
    chunks = split_message(who.t.bidi(text))
    for index, chunk in enumerate(chunks):
        last = index == len(chunks) - 1
        await message.reply_text(chunk, reply_markup=markup if last else None)


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Cut a long text at paragraph, then line, boundaries into Telegram-sized messages."""
    if len(text) <= limit:
        return [text]
    chunks: list[str] = []
    current = ""
    for paragraph in text.split("\n\n"):
        whole = len(paragraph) <= limit
        for number, piece in enumerate([paragraph] if whole else paragraph.split("\n")):
            joiner = "\n\n" if whole or number == 0 else "\n"
            candidate = f"{current}{joiner}{piece}" if current else piece
            if len(candidate) <= limit:
                current = candidate
                continue
            if current:
                chunks.append(current)
            # A single line longer than a message is cut hard; it has no markup to break.
            while len(piece) > limit:
                chunks.append(piece[:limit])
                piece = piece[limit:]
            current = piece
    if current:
        chunks.append(current)
    return chunks


async def refuse(update: Update, who: Caller, text: str) -> None:
    """Someone known without the right role is told ``text``; a stranger, only how to get in."""
    await reply(update, who, text if who.identity.is_known else stranger_text(who.t, who.identity))


async def staff_caller(update: Update, context: Context, allowed: frozenset[Role]) -> Caller | None:
    """The caller of a staff command if they hold one of ``allowed``; otherwise None, after
    telling them the command is for coordinators (or evaluators too)."""
    who = await caller(update, context)
    if who.identity.roles & allowed:
        return who
    if Role.EVALUATOR in allowed:
        text = who.t.gettext("This command is for evaluators and coordinators.")
    else:
        text = who.t.gettext("This command is for coordinators.")
    await refuse(update, who, text)
    return None
