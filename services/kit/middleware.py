"""Request id and trace context for every request, as a plain ASGI middleware (cheap).

The request id comes from ``X-Request-ID`` (set by the gateway) or is made here; it is echoed
in the response and put in the log context. ``traceparent`` is kept so events written while
handling the request carry it.
"""

from __future__ import annotations

import logging
import re
import secrets

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.kit.errors import problem_response
from services.kit.i18n import language_var, negotiate
from services.kit.logging import request_id_var
from services.kit.tracing import traceparent_var

log = logging.getLogger(__name__)

_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")


def new_request_id() -> str:
    return secrets.token_hex(12)


def new_traceparent() -> str:
    random = secrets.token_hex(24)  # one read of the system's randomness, not two
    return f"00-{random[:32]}-{random[32:]}-01"


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # One pass over the headers for the three this middleware reads (first one wins).
        incoming: str | None = None
        trace: str | None = None
        accept_language: str | None = None
        for key, value in scope.get("headers", ()):
            if key == b"x-request-id" and incoming is None:
                incoming = value.decode("latin-1")
            elif key == b"traceparent" and trace is None:
                trace = value.decode("latin-1")
            elif key == b"accept-language" and accept_language is None:
                accept_language = value.decode("latin-1")
        request_id = incoming if incoming and _SAFE_ID.match(incoming) else new_request_id()
        traceparent = trace if trace and _TRACEPARENT.match(trace) else new_traceparent()
        language = negotiate(accept_language)
        token_language = language_var.set(language)
        token_id = request_id_var.set(request_id)
        token_trace = traceparent_var.set(traceparent)

        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message.setdefault("headers", [])
                headers = [*message["headers"], (b"x-request-id", request_id.encode())]
                if not any(name == b"content-language" for name, _ in headers):
                    headers.append((b"content-language", language.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Answer a crash with problem+json here instead of letting Starlette re-raise it
            # to the server, which would log it twice and close the connection.
            log.exception("unhandled error", extra={"path": scope.get("path")})
            if not started:
                response = problem_response(500, instance=scope.get("path"))
                await response(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token_id)
            language_var.reset(token_language)
            traceparent_var.reset(token_trace)
