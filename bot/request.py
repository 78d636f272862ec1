"""The bot's HTTP client for the Bot API: PTB's ``BaseRequest`` on aiohttp's client.

PTB's default, ``HTTPXRequest``, spends most of a busy bot's CPU in httpcore's connection
pool, which looks through every open connection (a ``getpeername`` and a ``poll`` each)
on every request and every release. In a live class, where a tap is two small calls and
the bot is CPU-bound, that was about 40 % of the process (``benchmarks/RESULTS.md``).
aiohttp's connector keeps idle connections in a list per host and hands one out without
probing the others, so the same calls cost a fraction of the CPU.

What PTB expects of a request class, kept here as ``HTTPXRequest`` does it: the body is
form-encoded (multipart when there are files), the four timeouts of each call apply
(``read`` per read, ``connect`` to open a connection, ``pool`` to wait for a free one,
and ``write`` with the others as a ceiling until Telegram's answer starts), a timeout
raises ``TimedOut`` and any other transport failure ``NetworkError``; HTTP statuses are
left to ``BaseRequest``, which maps them to PTB's errors.
"""

from __future__ import annotations

import asyncio
import logging
import re

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

log = logging.getLogger(__name__)

# Idle connections are closed after this long; Telegram's own keep-alive is longer.
KEEPALIVE_SECONDS = 30.0
FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}
# The token is in every URL; an error's text may quote the URL.
_TOKEN = re.compile(r"bot\d+:[\w-]+")


class AiohttpRequest(BaseRequest):
    """Bot API calls over one aiohttp session, at most ``connection_pool_size`` at once."""

    __slots__ = (
        "_connect_timeout",
        "_media_write_timeout",
        "_pool_size",
        "_pool_timeout",
        "_read_timeout",
        "_session",
        "_write_timeout",
    )

    def __init__(
        self,
        connection_pool_size: int = 64,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        if connection_pool_size < 1:
            raise ValueError("connection_pool_size must be at least 1")
        self._pool_size = connection_pool_size
        self._read_timeout, self._write_timeout = read_timeout, write_timeout
        self._connect_timeout, self._pool_timeout = connect_timeout, pool_timeout
        self._media_write_timeout = media_write_timeout
        # Created in initialize: a ClientSession belongs to the running event loop.
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        """The read timeout used when a call does not give one."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Open the session (again, after a shutdown)."""
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._pool_size,
                limit_per_host=self._pool_size,
                keepalive_timeout=KEEPALIVE_SECONDS,
            )
            # No cookies (the Bot API sets none) and no environment proxies: as configured.
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                headers={"User-Agent": self.USER_AGENT},
                auto_decompress=True,
            )

    async def shutdown(self) -> None:
        """Close the session and its connections; calling it twice is harmless."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Make one call; return Telegram's HTTP status and body."""
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data else None
        read = self._read_timeout if isinstance(read_timeout, DefaultValue) else read_timeout
        connect = (
            self._connect_timeout if isinstance(connect_timeout, DefaultValue) else connect_timeout
        )
        pool = self._pool_timeout if isinstance(pool_timeout, DefaultValue) else pool_timeout
        if isinstance(write_timeout, DefaultValue):
            write = self._media_write_timeout if files else self._write_timeout
        else:
            write = write_timeout
        body: aiohttp.FormData | bytes | None = None
        headers = None
        if request_data is not None:
            if files:
                form = aiohttp.FormData(request_data.json_parameters)
                for name, (filename, content, mimetype) in files.items():
                    form.add_field(name, content, filename=filename, content_type=mimetype)
                body = form
            else:
                # Encoded here, not by aiohttp's FormData: that builds a multipart writer
                # (and draws a random boundary) for every call, a real cost per tap.
                body = request_data.url_encoded_parameters().encode()
                headers = FORM_HEADERS
        timeout = aiohttp.ClientTimeout(
            # aiohttp's connect covers waiting for a pooled connection and opening one.
            connect=None if pool is None or connect is None else pool + connect,
            sock_connect=connect,
            sock_read=read,
        )
        # aiohttp has no write timeout: the write, with the rest, is bounded until the
        # answer's headers arrive; the body is then read under the read timeout per read.
        parts = (pool, connect, write, read)
        ceiling = None if None in parts else sum(p for p in parts if p is not None)
        try:
            async with asyncio.timeout(ceiling):
                response = await self._session.request(
                    method, url, data=body, headers=headers, timeout=timeout
                )
            async with response:
                return response.status, await response.read()
        except TimeoutError as exc:
            raise TimedOut(f"Timed out: {method} took too long") from exc
        except aiohttp.ClientError as exc:
            text = _TOKEN.sub("bot<token>", str(exc))
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {text}") from exc
