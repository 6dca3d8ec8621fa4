"""Request bodies are bounded in size and in time, in every service (not only at the gateway).

A service port reached directly must not read and parse a 50 MB body, nor wait forever for a
client that sends one byte a minute. ``Content-Length`` over the limit is refused before any
byte is read; a chunked body is counted as it arrives and refused the moment it passes the
limit; each wait for the next chunk is bounded. Answers: 413 and 408 problem+json.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.kit.errors import problem_response
from services.kit.middleware import header

#: After refusing a body, read and drop up to this much more of it (and for at most
#: ``_DRAIN_SECONDS``): a server that closes with unread data makes the kernel send a reset,
#: which can destroy its own 413 before the client reads it ("lingering close").
_DRAIN_BYTES = 1024 * 1024
_DRAIN_SECONDS = 1.0


async def drain(receive: Receive) -> None:
    """Discard what is left of a refused request body, within bounds."""
    left = _DRAIN_BYTES

    async def consume() -> None:
        nonlocal left
        while left > 0:
            message = await receive()
            if message["type"] != "http.request":
                return
            left -= len(message.get("body", b""))
            if not message.get("more_body", False):
                return

    try:
        await asyncio.wait_for(consume(), _DRAIN_SECONDS)
    except (TimeoutError, OSError):
        pass


class _TooLarge(Exception):
    pass


class _TooSlow(Exception):
    pass


class BodyLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        chunk_timeout: float,
        upload_prefixes: Sequence[str] = (),
        max_upload_bytes: int = 0,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.chunk_timeout = chunk_timeout
        self.upload_prefixes = tuple(upload_prefixes)
        self.max_upload_bytes = max_upload_bytes

    def limit_for(self, path: str) -> int:
        if self.upload_prefixes and path.startswith(self.upload_prefixes):
            return max(self.max_upload_bytes, self.max_bytes)
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._refuse(scope, receive, send, _TooLarge(), limit)
            return
        received = 0
        started = False
        violation: Exception | None = None

        async def bounded_receive() -> Message:
            nonlocal received, violation
            try:
                message = await asyncio.wait_for(receive(), self.chunk_timeout)
            except TimeoutError as exc:
                violation = _TooSlow()
                raise violation from exc
            received += len(message.get("body", b""))
            if received > limit:
                violation = _TooLarge()
                raise violation
            return message

        async def tracked_send(message: Message) -> None:
            # FastAPI turns any error while reading a body into its own 400; the violation
            # is the truth, so that answer is dropped and ours is sent instead.
            nonlocal started
            if violation is not None and not started:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, bounded_receive, tracked_send)
        except (_TooLarge, _TooSlow):
            pass
        if violation is not None and not started:
            await self._refuse(scope, receive, send, violation, limit)

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, exc: Exception, limit: int
    ) -> None:
        if isinstance(exc, _TooSlow):
            response = problem_response(
                408,
                "request-timeout",
                "Request timeout",
                f"The request body did not arrive in time ({self.chunk_timeout:g} s per chunk)",
                instance=scope["path"],
                headers={"Connection": "close"},
            )
        else:
            # No "Connection: close": the server would close before the drain below.
            response = problem_response(
                413,
                detail=f"Request bodies here are limited to {limit} bytes",
                instance=scope["path"],
            )
        await response(scope, receive, send)
        if isinstance(exc, _TooLarge):
            await drain(receive)
