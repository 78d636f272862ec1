"""The application factory: one function builds the PTB Application from settings."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import Application, ApplicationBuilder, Defaults
from telegram.request import BaseRequest
from tornado.httpserver import HTTPServer

from bot.clock import Clock, system_clock
from bot.content import Content
from bot.context import CONTEXT_TYPES
from bot.handlers import ALLOWED_UPDATES, register
from bot.handlers.menus import refresh_staff_menus, set_default_menus
from bot.i18n import LOCALES, Translator, load_catalogs
from bot.ratelimit import RelaisRateLimiter
from bot.request import AiohttpRequest
from bot.runtime import RUNTIME_KEY, Runtime
from bot.runtime import runtime_of as runtime_of  # re-exported: tests and tools use it
from bot.scheduling import start_background, stop_background
from bot.services.versions import register as register_versions
from bot.settings import Settings
from bot.storage import Database
from bot.storage.lock import InstanceLock
from bot.updates import PerUserProcessor

log = logging.getLogger(__name__)

CONNECTIONS = 64
POOL_TIMEOUT = 10.0


class RelaisApp(Application[Any, Any, Any, Any, Any, Any]):
    """PTB's Application, which can also tell when a given update has been fully handled.

    The sandbox and end-to-end tests wait on this instead of sleeping: a simulated
    user's action returns once the bot has answered it.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._handled: set[int] = set()
        self._handled_changed = asyncio.Condition()

    async def process_update(self, update: object) -> None:
        """Handle one update as PTB does, then record its id as handled."""
        try:
            await super().process_update(update)
        finally:
            if isinstance(update, Update):
                async with self._handled_changed:
                    self._handled.add(update.update_id)
                    self._handled_changed.notify_all()

    async def wait_handled(self, update_id: int, seconds: float = 10.0) -> None:
        """Return once update ``update_id`` has been handled; TimeoutError after ``seconds``."""
        async with asyncio.timeout(seconds), self._handled_changed:
            await self._handled_changed.wait_for(lambda: update_id in self._handled)


def build_application(
    settings: Settings,
    content: Content,
    *,
    clock: Clock | None = None,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    token: str | None = None,
    rate_limit: bool = True,
    rate_limiter: RelaisRateLimiter | None = None,
) -> RelaisApp:
    """Build the bot; pass request objects to talk to something other than the network.

    Updates of different people are handled concurrently, each person's in order
    (``PerUserProcessor``); calls to Telegram go through ``RelaisRateLimiter``. Tests pass
    a limiter on simulated time (``rate_limiter``); ``rate_limit=False`` drops it, for the
    fuzz test that plays thousands of updates where pacing would only add waiting.
    """
    load_catalogs()
    rt = Runtime(
        settings=settings, content=content, clock=clock or system_clock(settings.clock_offset)
    )
    # Typed broadly: adding a rate limiter changes the builder's type parameters.
    builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = (
        ApplicationBuilder()
        .application_class(RelaisApp)
        # Handlers get a RelaisContext: ``context.runtime`` is typed.
        .context_types(CONTEXT_TYPES)
        .token(token or settings.require_token())
        .base_url(settings.api_base_url)
        .base_file_url(settings.api_file_url)
        .defaults(Defaults(parse_mode=ParseMode.HTML, tzinfo=content.programme.tz))
        .post_init(_post_init_live)
        .post_stop(_post_stop_live)
        .post_shutdown(_post_shutdown)
        # The production setting, in tests too: concurrent across people, ordered for each.
        .concurrent_updates(PerUserProcessor())
    )
    if rate_limit:
        builder = builder.rate_limiter(
            rate_limiter or RelaisRateLimiter(bulk_rate=settings.outbox_rate)
        )
    if request is None:
        # aiohttp rather than PTB's httpx: far less CPU per call (bot/request.py). Waiting
        # for a free connection is fine for a few seconds, not PTB's one.
        request = AiohttpRequest(CONNECTIONS, pool_timeout=POOL_TIMEOUT)
        get_updates_request = get_updates_request or AiohttpRequest(1)
    builder = builder.request(request)
    if get_updates_request is not None:
        builder = builder.get_updates_request(get_updates_request)
    app = builder.build()
    assert isinstance(app, RelaisApp)
    limit_webhook_bodies()
    app.bot_data[RUNTIME_KEY] = rt
    register(app)
    return app


async def _post_init(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Open the database and register the command menus."""
    rt = runtime_of(app)
    rt.attach(await Database.open(rt.settings.database))
    # Before any update is handled: answers are stamped with versions already recorded.
    await register_versions(rt.db, rt.content, rt.clock.now())
    translators = {loc: Translator(loc, rt.content.programme.tz) for loc in LOCALES}
    await set_default_menus(app.bot, translators, rt.settings.default_locale)
    await refresh_staff_menus(
        app.bot, rt.db, rt.settings.admin_ids, translators, rt.settings.default_locale
    )
    log.info(
        "ready: bot @%s, content %s, database %s",
        app.bot.username,
        rt.content.version[:12],
        rt.settings.database,
    )


async def _post_init_live(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """When the bot really runs: also the outbox sender and the campaign schedule."""
    await _post_init(app)
    await start_background(app)


async def _post_stop_live(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Stop the outbox sender before the application stops."""
    await stop_background(app)


async def _post_shutdown(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Close the database cleanly."""
    await runtime_of(app).close()


@asynccontextmanager
async def running(app: RelaisApp) -> AsyncIterator[RelaisApp]:
    """Initialise the application and run its start-up and shut-down hooks without polling.

    Tests and the demo feed updates with ``process_update`` inside this block.
    """
    await app.initialize()
    try:
        await _post_init(app)
        yield app
    finally:
        await _post_shutdown(app)
        await app.shutdown()


# Telegram's updates are a few kB; tornado's default (100 MB) lets anyone make the bot
# buffer that much per request before the secret is even looked at.
MAX_UPDATE_BYTES = 1 << 20


def limit_webhook_bodies(max_bytes: int = MAX_UPDATE_BYTES) -> None:
    """Make PTB's webhook server refuse a larger body (400) before reading it."""
    # PTB builds its tornado HTTPServer itself; configure() gives every instance the limit.
    HTTPServer.configure(None, max_body_size=max_bytes, max_buffer_size=max_bytes)


@dataclass(frozen=True)
class Webhook:
    """Where the bot's own webhook server listens and the URL Telegram should post to."""

    url: str
    listen: str = "127.0.0.1"
    port: int = 8443
    secret_token: str | None = None

    @property
    def path(self) -> str:
        return urlsplit(self.url).path.lstrip("/")

    def options(self) -> dict[str, Any]:
        """Arguments for PTB's ``start_webhook``/``run_webhook``."""
        return {
            "listen": self.listen,
            "port": self.port,
            "url_path": self.path,
            "webhook_url": self.url,
            "secret_token": self.secret_token,
            "allowed_updates": ALLOWED_UPDATES,
        }


def webhook_of(settings: Settings) -> Webhook:
    """The webhook the settings describe (``RELAIS_WEBHOOK_URL`` must be set)."""
    assert settings.webhook_url is not None
    # Without a configured secret, a fresh one per start still keeps forged posts out.
    secret = (
        settings.webhook_secret.get_secret_value()
        if settings.webhook_secret
        else secrets.token_urlsafe(32)
    )
    return Webhook(
        url=settings.webhook_url,
        listen=settings.webhook_listen,
        port=settings.webhook_port,
        secret_token=secret,
    )


@asynccontextmanager
async def serving(
    app: RelaisApp, *, webhook: Webhook | None = None, poll_timeout: int = 10
) -> AsyncIterator[RelaisApp]:
    """Run the bot as in production, fetching updates by long polling or a webhook, in a block.

    ``Application.run_polling`` does the same but owns the event loop; this lets the
    sandbox and the end-to-end tests run the bot next to the emulator in one loop.
    The database's instance lock is held throughout: a second bot on it is refused.
    """
    lock = InstanceLock(runtime_of(app).settings.database).acquire()
    await app.initialize()
    try:
        await _post_init(app)
        updater = app.updater
        assert updater is not None
        if webhook is None:
            await updater.start_polling(
                poll_interval=0.0, timeout=poll_timeout, allowed_updates=ALLOWED_UPDATES
            )
        else:
            await updater.start_webhook(**webhook.options())
        await app.start()
        await start_background(app)
        try:
            yield app
        finally:
            await stop_background(app)
            if updater.running:
                await updater.stop()
            if app.running:
                await app.stop()
    finally:
        await _post_shutdown(app)
        await app.shutdown()
        lock.release()
