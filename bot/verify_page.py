"""The public verification page, in webhook mode: ``https://<bot host>/verify/<code>``.

The same answer as the bot gives to the QR code's deep link (the holder's initials,
the course, the level, the date, valid or revoked), as a small self-contained HTML
page for someone without Telegram. It is served by aiohttp next to the webhook
server, on ``RELAIS_VERIFY_PORT``; the reverse proxy forwards ``/verify/*`` to it.
Wrong codes are rate-limited per client address, as per Telegram account in the chat.
"""

from __future__ import annotations

import ipaddress
import logging

from aiohttp import web

from bot.i18n import Translator, escape, negotiate_locale
from bot.runtime import Runtime
from bot.services.certification import Verdict, verify
from bot.views.certificates import verification_text

log = logging.getLogger(__name__)

_STATUS = {Verdict.VALID: 200, Verdict.REVOKED: 200, Verdict.UNKNOWN: 404, Verdict.LIMITED: 429}
_HEADERS = {
    # Nothing but this page's own inline style: no script, no external resource.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
_PAGE = """<!doctype html>
<html lang="{lang}" dir="{dir}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;
line-height:1.5;color:#212529}}h1{{font-size:1.3rem}}p{{margin:.3rem 0}}</style></head>
<body><h1>{title}</h1>
{lines}
</body></html>
"""


def client_key(request: web.Request) -> str:
    """The address a request comes from; behind a proxy on a private network, the client's."""
    peer = request.remote or "?"
    forwarded = request.headers.get("X-Forwarded-For", "")
    try:
        trusted = ipaddress.ip_address(peer).is_private
    except ValueError:
        trusted = False
    if trusted and forwarded:
        # The proxy appends the address it saw last: the rightmost entry is the client's.
        peer = forwarded.split(",")[-1].strip() or peer
    return f"ip:{peer}"


def page(t: Translator, body: str) -> str:
    """The HTML page around the verification answer."""
    lines = "\n".join(f"<p>{line}</p>" for line in body.splitlines())
    return _PAGE.format(
        lang=t.locale,
        dir="rtl" if t.locale == "ar" else "ltr",
        title=escape(t.gettext("Certificate verification")),
        lines=lines,
    )


def verification_app(rt: Runtime) -> web.Application:
    """The aiohttp application with the one route."""

    async def show(request: web.Request) -> web.Response:
        locale = negotiate_locale(
            request.headers.get("Accept-Language", "").split(",")[0].split(";")[0].strip() or None,
            rt.settings.default_locale,
        )
        t = Translator(locale, rt.content.programme.tz)
        result = await verify(
            rt.db,
            rt.content,
            request.match_info["code"],
            key=client_key(request),
            now=rt.clock.now(),
        )
        return web.Response(
            text=page(t, verification_text(t, result)),
            status=_STATUS[result.verdict],
            content_type="text/html",
            headers=_HEADERS,
        )

    app = web.Application()
    app.router.add_get("/verify/{code}", show)
    return app


async def start_verification_page(rt: Runtime, host: str, port: int) -> web.AppRunner:
    """Listen on ``host:port``; stop with ``runner.cleanup()``."""
    runner = web.AppRunner(verification_app(rt), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("verification page listening on %s:%d", host, port)
    return runner
