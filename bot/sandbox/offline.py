"""The emulator reached in process through PTB's ``BaseRequest``: fast handler tests, no sockets.

Parameters are passed exactly as PTB would put them on the wire (scalars as strings,
objects JSON-encoded, files as multipart parts), so the offline and HTTP transports
exercise the same emulator code.
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import unquote

from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram._utils.types import ODVInput
from telegram.error import NetworkError
from telegram.request import BaseRequest, RequestData

from bot.sandbox.emulator import (
    BOT_ID,
    BOT_TOKEN,
    BOT_USERNAME,
    BotAPIEmulator,
    Call,
    SentMessage,
    Upload,
    fault_body,
)

__all__ = ["BOT_ID", "BOT_TOKEN", "BOT_USERNAME", "Call", "OfflineBotAPI", "SentMessage"]


class OfflineBotAPI(BotAPIEmulator):
    """The emulator, plus request objects that reach it without HTTP."""

    def request(self) -> OfflineRequest:
        """A PTB request object bound to this emulator."""
        return OfflineRequest(self)


class OfflineRequest(BaseRequest):
    """PTB request object that answers from an emulator instead of the network."""

    def __init__(self, api: BotAPIEmulator) -> None:
        self.api = api

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if "/file/bot" in url:
            # A download (File.download_*): served from the emulator's files, as over HTTP.
            token, _slash, path = unquote(url.split("/file/bot", 1)[1]).partition("/")
            stored = self.api.file_by_path(path) if token == self.api.token else None
            if stored is None:
                return 404, b'{"ok": false, "error_code": 404, "description": "Not Found"}'
            return 200, stored.content
        api_method = url.rsplit("/", 1)[-1]
        fault = self.api.take_fault(api_method)
        if fault is not None:
            if fault.kind == "slow":
                await asyncio.sleep(fault.delay)
            elif fault.kind == "hold":
                await fault.hold()
            elif fault.kind == "drop":
                raise NetworkError("connection dropped by the sandbox")
            elif fault.kind == "error":
                return fault.status, json.dumps(
                    fault_body(fault.status, max(1, round(fault.delay)))
                ).encode()
        params: dict[str, object] = {}
        uploads: dict[str, Upload] = {}
        if request_data is not None:
            params = dict(request_data.json_parameters)
            if request_data.contains_files:
                for name, part in request_data.multipart_data.items():
                    file_name, content, mime = part if len(part) == 3 else (None, part[1], None)
                    data = content if isinstance(content, bytes) else content.read()
                    uploads[name] = Upload(data, file_name, mime)
        status, body = await self.api.call(api_method, params, uploads)
        return status, json.dumps(body).encode()
