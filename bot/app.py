"""The application factory: one function builds the PTB Application from settings."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from telegram.constants import ParseMode
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, Defaults
from telegram.request import BaseRequest

from bot.clock import Clock, SystemClock
from bot.content import Content
from bot.handlers import register
from bot.handlers.common import RUNTIME_KEY
from bot.handlers.menus import set_default_menus
from bot.i18n import LOCALES, Translator, load_catalogs
from bot.runtime import Runtime
from bot.settings import Settings
from bot.storage import Database

log = logging.getLogger(__name__)

RelaisApp = Application[Any, Any, Any, Any, Any, Any]


def build_application(
    settings: Settings,
    content: Content,
    *,
    clock: Clock | None = None,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    token: str | None = None,
) -> RelaisApp:
    """Build the bot; pass request objects to talk to something other than the network."""
    load_catalogs()
    rt = Runtime(settings=settings, content=content, clock=clock or SystemClock())
    builder = (
        ApplicationBuilder()
        .token(token or settings.require_token())
        .base_url(settings.api_base_url)
        .base_file_url(settings.api_file_url)
        .defaults(Defaults(parse_mode=ParseMode.HTML, tzinfo=content.programme.tz))
        # Retries once on RetryAfter; the outbox does its own pacing for mass messages.
        .rate_limiter(AIORateLimiter(max_retries=1))
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
    )
    if request is not None:
        builder = builder.request(request)
    if get_updates_request is not None:
        builder = builder.get_updates_request(get_updates_request)
    app: RelaisApp = builder.build()
    app.bot_data[RUNTIME_KEY] = rt
    register(app)
    return app


def runtime_of(app: RelaisApp) -> Runtime:
    """The runtime stored on an application built by ``build_application``."""
    rt = app.bot_data[RUNTIME_KEY]
    assert isinstance(rt, Runtime)
    return rt


async def _post_init(app: RelaisApp) -> None:
    """Open the database and register the command menus."""
    rt = runtime_of(app)
    rt.attach(await Database.open(rt.settings.database))
    translators = {loc: Translator(loc, rt.content.programme.tz) for loc in LOCALES}
    await set_default_menus(app.bot, translators, rt.settings.default_locale)
    log.info(
        "ready: bot @%s, content %s, database %s",
        app.bot.username,
        rt.content.version[:12],
        rt.settings.database,
    )


async def _post_shutdown(app: RelaisApp) -> None:
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
