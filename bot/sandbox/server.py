"""The emulator served over HTTP on 127.0.0.1, so PTB talks to it exactly as to Telegram.

Routes follow Telegram's: ``/bot<token>/<method>`` (GET or POST; query string, JSON,
form or multipart bodies) and ``/file/bot<token>/<file_path>`` for downloads. When
a webhook is set, a delivery task POSTs each update to it with the secret-token
header and keeps it queued until the bot answers 2xx, as Telegram does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from types import TracebackType
from typing import Any

import aiohttp
from aiohttp import web

from bot.sandbox.emulator import ApiError, BotAPIEmulator, JSONDict, Upload, fault_body

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class EmulatorServer:
    """An ``aiohttp`` server in front of a ``BotAPIEmulator``; use as ``async with``."""

    def __init__(
        self,
        api: BotAPIEmulator,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        webhook_retry_seconds: float = 0.2,
        latency: float = 0.0,
    ) -> None:
        self.api, self.host, self.port = api, host, port
        # Seconds added each way to every Bot API call, as a distant Telegram would.
        self.latency = latency
        self.webhook_retry_seconds = webhook_retry_seconds
        self.webhook_deliveries: list[tuple[int, int]] = []  # (update id, HTTP status)
        self._runner: web.AppRunner | None = None
        self._delivery: asyncio.Task[None] | None = None

    @property
    def root(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What to give PTB (and ``RELAIS_API_BASE_URL``) instead of Telegram's."""
        return f"{self.root}/bot"

    @property
    def base_file_url(self) -> str:
        """What to give PTB (and ``RELAIS_API_FILE_URL``) for file downloads."""
        return f"{self.root}/file/bot"

    async def start(self) -> None:
        """Listen on 127.0.0.1 (a free port unless one was given) and start webhook delivery."""
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        # Long polls are cut at once on shutdown rather than waited for.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1]
        self._delivery = asyncio.create_task(self._deliver_webhooks(), name="sandbox-webhook")

    async def stop(self) -> None:
        """Stop delivering and listening."""
        if self._delivery is not None:
            self._delivery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._delivery
            self._delivery = None
        # Pending long polls answer now instead of holding the shutdown.
        await self.api.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> EmulatorServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # --- Bot API over HTTP ----------------------------------------------------------------------

    async def _method(self, request: web.Request) -> web.StreamResponse:
        if self.latency:
            await asyncio.sleep(self.latency)  # the request on its way
        response = await self._answer(request)
        if self.latency:
            await asyncio.sleep(self.latency)  # the answer on its way back
        return response

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        if request.match_info["token"] != self.api.token:
            return _json(401, ApiError(401, "Unauthorized").body())
        fault = self.api.take_fault(method)
        if fault is not None:
            if fault.kind == "slow":
                await asyncio.sleep(fault.delay)
            elif fault.kind == "hold":
                await fault.hold()
            elif fault.kind == "drop":
                if request.transport is not None:
                    request.transport.abort()
                raise asyncio.CancelledError
            elif fault.kind == "error":
                return _json(fault.status, fault_body(fault.status, max(1, round(fault.delay))))
        try:
            params, uploads = await _read_params(request)
        except ValueError as exc:
            return _json(400, ApiError(400, f"Bad Request: {exc}").body())
        status, body = await self.api.call(method, params, uploads)
        return _json(status, body)

    async def _file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.api.token:
            return _json(401, ApiError(401, "Unauthorized").body())
        stored = self.api.file_by_path(request.match_info["path"])
        if stored is None:
            return _json(404, ApiError(404, "Not Found").body())
        return web.Response(
            body=stored.content, content_type=stored.mime_type or "application/octet-stream"
        )

    async def _not_found(self, request: web.Request) -> web.StreamResponse:
        return _json(404, ApiError(404, f"Not Found: {request.path}").body())

    # --- webhook delivery -----------------------------------------------------------------------

    async def _deliver_webhooks(self) -> None:
        api = self.api
        async with aiohttp.ClientSession() as session:
            while True:
                async with api.changed:
                    await api.changed.wait_for(
                        lambda: api.webhook is not None and bool(api.updates)
                    )
                hook = api.webhook
                if hook is None:
                    continue
                api.drop_filtered(api.allowed_updates)
                if not api.updates:
                    continue
                update = api.updates[0]
                headers = {SECRET_HEADER: hook.secret_token} if hook.secret_token else {}
                try:
                    async with session.post(
                        hook.url,
                        json=update,
                        headers=headers,
                        timeout=aiohttp.ClientTimeout(total=10),
                    ) as response:
                        status = response.status
                        error = f"Wrong response from the webhook: {response.status}"
                except (aiohttp.ClientError, TimeoutError) as exc:
                    status, error = 0, f"Connection failed: {exc.__class__.__name__}"
                self.webhook_deliveries.append((update["update_id"], status))
                if 200 <= status < 300:
                    api.confirm(update["update_id"] + 1)
                    continue
                hook.last_error_date, hook.last_error_message = api.now(), error
                await asyncio.sleep(self.webhook_retry_seconds)


def _json(status: int, body: JSONDict) -> web.Response:
    return web.json_response(body, status=status)


async def _read_params(request: web.Request) -> tuple[JSONDict, dict[str, Upload]]:
    """Telegram accepts a query string, JSON, urlencoded and multipart bodies alike."""
    params: JSONDict = dict(request.query)
    uploads: dict[str, Upload] = {}
    if request.method != "POST" or not request.can_read_body:
        return params, uploads
    if request.content_type == "application/json":
        data: Any = await request.json()
        if not isinstance(data, dict):
            raise ValueError("the JSON body must be an object")
        params.update(data)
        return params, uploads
    form = await request.post()
    for name, value in form.items():
        if isinstance(value, web.FileField):
            uploads[name] = Upload(value.file.read(), value.filename, value.content_type)
        else:
            params[name] = value
    return params, uploads
