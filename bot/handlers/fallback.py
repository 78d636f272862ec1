"""What happens to anything no other handler took: unknown text and stale or forged buttons."""

from __future__ import annotations

from telegram import Update

from bot.handlers.common import Context, answer_query, caller, reply, stranger_text


async def unknown_message(update: Update, context: Context) -> None:
    """Stores nothing; tells strangers how to get access and enrolled users where to find help."""
    who = await caller(update, context)
    if not who.identity.is_known:
        await reply(update, who, stranger_text(who.t, who.identity))
        return
    await reply(
        update, who, who.t.gettext("I did not understand. Send /help to see what I can do.")
    )


async def stale_button(update: Update, context: Context) -> None:
    """Stores nothing; answers a button whose data no handler accepts (old, forged or replayed)."""
    query = update.callback_query
    if query is None:
        return
    who = await caller(update, context)
    # A short alert, not a message: the chat stays clean and nothing is written.
    await answer_query(query, who.t.gettext("This button is no longer valid."), show_alert=False)
