"""Sends approved certificates to their holders in the chat, once each.

A certificate is marked ``sending`` (committed) before the upload and ``sent``, with
Telegram's file id, after; a crash between the two sends it again at the next round,
as the outbox does. For a participant not enrolled yet, or who blocked the bot, it
stays pending and goes out once they enrol or unblock it; a copy is always one tap
away in ``/me``.
The running bot delivers right after an approval in the chat, and every minute for
approvals made from the command line.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from telegram import Bot, InputFile, Message
from telegram.error import Forbidden, TelegramError

from bot.i18n import LOCALES, Translator
from bot.runtime import Runtime
from bot.services.access import choose_locale, set_reachable
from bot.storage import Database
from bot.storage import certificates as store
from bot.storage.certificates import Certificate
from bot.storage.repo import Participant, binding_for_participant, get_participant
from bot.views import certificates as views

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
DELIVERY_SECONDS = 60.0
_LOCKS: dict[int, asyncio.Lock] = {}


def verification_url(rt: Runtime, code: str) -> str | None:
    """The public page for ``code`` under the bot's HTTPS address, in webhook mode."""
    if rt.settings.webhook_url is None:
        return None
    parts = urlsplit(rt.settings.webhook_url)
    return f"{parts.scheme}://{parts.netloc}/verify/{code}"


async def certificate_pdf(
    rt: Runtime, cert: Certificate, participant: Participant, username: str
) -> bytes:
    """Render the certificate (off the event loop: shaping and fonts take a moment)."""
    # fpdf (and its font tools) is imported on the first certificate, not when the bot starts.
    from bot.services.certificate_pdf import CertificateData, render

    texts = rt.content.certificates
    if texts is None:
        raise RuntimeError("the content has no certificates.yaml")
    tz = rt.content.programme.tz
    data = CertificateData(
        level=cert.level,
        holder=participant.full_name,
        code=cert.code,
        issued_at=cert.approved_at,
        bot_username=username,
        web_url=verification_url(rt, cert.code),
    )
    translators = {loc: Translator(loc, tz) for loc in LOCALES}
    folder = Path(rt.settings.content_dir)
    return await asyncio.to_thread(render, texts, data, translators=translators, folder=folder)


async def send_certificate(
    bot: Bot, rt: Runtime, cert: Certificate, participant: Participant, chat_id: int
) -> Message:
    """Send the document: by Telegram's file id once uploaded, else rendered now."""
    t = Translator(
        choose_locale(participant.language, None, rt.settings.default_locale),
        rt.content.programme.tz,
    )
    caption = t.bidi(views.congratulation(t, participant, cert.level))
    if cert.file_id is not None:
        return await bot.send_document(chat_id, cert.file_id, caption=caption)
    pdf = await certificate_pdf(rt, cert, participant, bot.username)
    from bot.services.certificate_pdf import file_name

    return await bot.send_document(
        chat_id, InputFile(pdf, filename=file_name(cert.level, cert.code)), caption=caption
    )


async def deliver_pending(bot: Bot, rt: Runtime) -> int:
    """Send every approved certificate not sent yet; return how many were sent."""
    lock = _LOCKS.setdefault(id(rt), asyncio.Lock())
    sent = 0
    async with lock:
        async with rt.db.read() as conn:
            waiting = await store.to_deliver(conn)
        for cert in waiting:
            sent += await _deliver_one(bot, rt, cert)
    return sent


async def _deliver_one(bot: Bot, rt: Runtime, cert: Certificate) -> int:
    now = rt.clock.now()
    async with rt.db.read() as conn:
        participant = await get_participant(conn, cert.participant_id)
        binding = await binding_for_participant(conn, cert.participant_id)
    if participant is None or binding is None or not binding.reachable:
        return 0  # delivered once they enrol or unblock; /me offers it too
    async with rt.db.transaction() as conn:
        await store.set_delivery(conn, cert.id, "sending")
    try:
        message = await send_certificate(bot, rt, cert, participant, binding.chat_id)
    except Forbidden:
        await set_reachable(rt.db, binding.user_id, False)
        async with rt.db.transaction() as conn:
            await store.set_delivery(conn, cert.id, "failed", error="blocked")
        log.warning("certificate %d: the holder blocked the bot", cert.id)
        return 0
    except TelegramError as exc:
        state = "failed" if cert.attempts + 1 >= MAX_ATTEMPTS else "pending"
        async with rt.db.transaction() as conn:
            await store.set_delivery(conn, cert.id, state, error=exc.message[:200])
        log.warning("certificate %d: not sent (%s), %s", cert.id, exc.message, state)
        return 0
    file_id = message.document.file_id if message.document is not None else None
    await record_sent(rt.db, cert, file_id, now)
    log.info("certificate %d (%s) sent to participant %s", cert.id, cert.level, participant.code)
    return 1


async def record_sent(db: Database, cert: Certificate, file_id: str | None, now: datetime) -> None:
    """Remember that the holder has the document, and Telegram's id to send it again."""
    async with db.transaction() as conn:
        await store.set_delivery(conn, cert.id, "sent", now=now, file_id=file_id)
