"""/mydata: what Relais stores about the participant asking."""

from __future__ import annotations

from telegram import Update

from bot.handlers import supervisor
from bot.handlers.common import Context, caller, reply, stranger_text
from bot.services.certification import certificates_of, display_code
from bot.services.privacy import my_data
from bot.views.mydata import mydata_text


async def mydata(update: Update, context: Context) -> None:
    """Stores nothing; lists every piece of data held about the participant (a supervisor:
    about themselves)."""
    rt = context.runtime
    who = await caller(update, context)
    t = who.t
    participant = who.identity.participant
    if participant is None and who.identity.supervisor is not None:
        await supervisor.mydata(update, context, who)
        return
    if participant is None:
        await reply(update, who, stranger_text(t, who.identity))
        return
    found = await my_data(rt.db, participant)
    issued = await certificates_of(rt.db, participant.id)
    codes = [display_code(cert.code) for cert in issued]
    await reply(update, who, mydata_text(t, rt.content, found, codes))
