"""Forwarding to the services: a raw ASGI app over one pooled aiohttp session.

This is the gateway's hot path, so it stays plain: no FastAPI routing, no pydantic, no
per-request session; the settings are read once into attributes and the routes are precompiled.
Upstream failures never surface as 500: a refused or unreachable service is 503, a silent one
504, a broken answer 502, each as problem+json.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import aiohttp
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from yarl import URL

from gateway.auth import EdgeGuard
from gateway.routes import ROUTES, Route, resolve
from gateway.settings import GatewaySettings
from services.kit.body_limits import drain
from services.kit.errors import problem_response
from services.kit.logging import request_id_var
from services.kit.middleware import new_request_id, new_traceparent
from services.kit.settings import SERVICES
from services.kit.tracing import traceparent_var

log = logging.getLogger(__name__)

# Hop-by-hop headers (RFC 9110 §7.6.1) concern one connection only; "proxy-*" is checked by
# prefix. Host is set by the client library for the upstream address.
_HOP_BY_HOP = frozenset(
    {b"connection", b"keep-alive", b"te", b"trailer", b"transfer-encoding", b"upgrade", b"host"}
)
# Request headers the gateway sets itself (from the request context and the connection).
_GATEWAY_SET = frozenset(
    {b"x-request-id", b"traceparent", b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host"}
)
# Expect: the gateway has already accepted (or read) the body; the service need not be asked.
_DROP_REQUEST = _HOP_BY_HOP | _GATEWAY_SET | {b"forwarded", b"expect"}
# Server and Date are added again by the gateway's server, X-Request-ID by the kit middleware;
# passing the service's copies on would send each twice.
_DROP_RESPONSE = _HOP_BY_HOP | {b"server", b"date", b"x-request-id"}

# aiohttp adds these when absent; a proxy must not invent them (an Accept-Encoding it added
# would make the service compress a body the client never asked to be compressed).
_SKIP_AUTO_HEADERS = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")
#: Bodies up to this size are read whole (one ASGI message); larger ones are streamed.
_BUFFER_LIMIT = 256 * 1024
_CHUNK = 64 * 1024


#: Paths whose bodies are bulk files, streamed with the larger upload limit.
_UPLOAD_PREFIXES = ("/api/v1/imports/",)


class _BodyTooLarge(Exception):
    pass


class _ClientGone(Exception):
    pass


class _ClientTooSlow(Exception):
    pass


async def _next_message(receive: Receive, timeout: float) -> Message:
    try:
        return await asyncio.wait_for(receive(), timeout)
    except TimeoutError as exc:
        raise _ClientTooSlow from exc


class UpstreamAborted(Exception):
    """The service failed mid-body after the status was sent; the connection must be cut."""


async def _read_body(receive: Receive, limit: int, timeout: float) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await _next_message(receive, timeout)
        if message["type"] == "http.disconnect":
            raise _ClientGone
        chunk: bytes = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise _BodyTooLarge
            chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _stream_body(
    receive: Receive, limit: int, timeout: float, broken: list[Exception]
) -> AsyncIterator[bytes]:
    # Counted even with a declared Content-Length (already checked against the limit): a
    # chunked upload declares nothing, and the limit must hold for it too. aiohttp reports a
    # failing body as its own ClientError, so the real cause is noted in ``broken``.
    size = 0
    while True:
        try:
            message = await _next_message(receive, timeout)
        except _ClientTooSlow as exc:
            broken.append(exc)
            raise
        if message["type"] == "http.disconnect":
            broken.append(_ClientGone())
            raise _ClientGone
        chunk: bytes = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                broken.append(_BodyTooLarge())
                raise _BodyTooLarge
            yield chunk
        if not message.get("more_body", False):
            return


def _connection_tokens(value: bytes) -> frozenset[bytes]:
    """Headers named in a Connection header are hop-by-hop too."""
    return frozenset(token.strip().lower() for token in value.split(b",") if token.strip())


class Proxy:
    """Forwards a request to its owning service. ``start``/``close`` bracket the lifespan."""

    def __init__(self, settings: GatewaySettings, routes: tuple[Route, ...] = ROUTES) -> None:
        self.settings = settings
        self.routes = routes
        self.session: aiohttp.ClientSession | None = None
        urls = settings.service_urls()
        self._bases: dict[str, str] = urls
        self._base_bytes: dict[str, bytes] = {name: url.encode() for name, url in urls.items()}
        self._max_body = settings.max_body_bytes
        self._max_upload = settings.max_upload_bytes
        self._body_timeout = settings.body_chunk_timeout
        self._trust_forwarded = settings.trust_forwarded_headers
        self._retry_after = {"Retry-After": str(settings.retry_after)}
        self._timeout = aiohttp.ClientTimeout(
            total=None,
            # Waiting for a pooled connection plus connecting; past it the service counts as
            # unavailable (503).
            connect=settings.read_timeout,
            sock_connect=settings.connect_timeout,
            # Silence between bytes of the answer; past it → 504.
            sock_read=settings.read_timeout,
        )

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(
            limit=self.settings.pool_limit_per_host * len(SERVICES),
            limit_per_host=self.settings.pool_limit_per_host,
            keepalive_timeout=self.settings.keepalive_timeout,
            # Resolving a service name on every new connection is wasted work; a minute keeps
            # address changes (redeploys) visible soon enough.
            use_dns_cache=self.settings.dns_cache_seconds > 0,
            ttl_dns_cache=self.settings.dns_cache_seconds or None,
        )
        self.session = aiohttp.ClientSession(
            connector=connector,
            # Never keep one user's cookies for another: cookies pass through as headers.
            cookie_jar=aiohttp.DummyCookieJar(),
            # Bodies pass through byte for byte, still encoded as the service sent them.
            auto_decompress=False,
            skip_auto_headers=_SKIP_AUTO_HEADERS,
            timeout=self._timeout,
        )

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Standalone ASGI app: forwards routed paths, 404 for the rest."""
        service = resolve(scope["path"], self.routes) if scope["type"] == "http" else None
        if service is None:
            response = problem_response(404, detail="No such resource", instance=scope["path"])
            await response(scope, receive, send)
            return
        await self.forward(scope, receive, send, service)

    async def _problem(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        status: int,
        detail: str,
        headers: dict[str, str] | None = None,
        service: str | None = None,
    ) -> None:
        response = problem_response(
            status, detail=detail, instance=scope["path"], headers=headers, service=service
        )
        await response(scope, receive, send)

    async def _body_problem(
        self, scope: Scope, receive: Receive, send: Send, status: int, limit: int
    ) -> None:
        if status == 413:
            detail = f"The request body is larger than {limit} bytes"
        else:
            detail = f"The request body did not arrive in time ({self._body_timeout:g} s a chunk)"
        if status == 413:
            # Without "Connection: close", which would close before the drain reads the rest.
            await self._problem(scope, receive, send, status, detail)
            await drain(receive)
        else:
            await self._problem(scope, receive, send, status, detail, {"Connection": "close"})

    async def forward(self, scope: Scope, receive: Receive, send: Send, service: str) -> None:
        session = self.session
        if session is None:
            await self._problem(
                scope, receive, send, 503, "The gateway is not started", self._retry_after
            )
            return

        # One pass over the request headers: keep end-to-end ones, note what the gateway needs.
        headers: list[tuple[str, str]] = []
        content_length: bytes | None = None
        chunked = False
        host = ""
        connection: bytes | None = None
        forwarded: dict[bytes, str] = {}
        for name, value in scope["headers"]:
            if name in _DROP_REQUEST or name.startswith(b"proxy-"):
                if name == b"host":
                    host = value.decode("latin-1")
                elif name == b"transfer-encoding":
                    chunked = True
                elif name == b"connection":
                    connection = value
                elif self._trust_forwarded and name.startswith(b"x-forwarded-"):
                    forwarded[name] = value.decode("latin-1")
                continue
            if name == b"content-length":
                content_length = value
            headers.append((name.decode("latin-1"), value.decode("latin-1")))
        if connection is not None:
            named = _connection_tokens(connection)
            headers = [h for h in headers if h[0].lower().encode("latin-1") not in named]

        client = scope.get("client")
        client_ip = client[0] if client else ""
        prior_for = forwarded.get(b"x-forwarded-for")
        headers.append(("X-Request-ID", request_id_var.get() or new_request_id()))
        headers.append(("traceparent", traceparent_var.get() or new_traceparent()))
        headers.append(("X-Forwarded-For", f"{prior_for}, {client_ip}" if prior_for else client_ip))
        proto = forwarded.get(b"x-forwarded-proto") or scope.get("scheme", "http")
        headers.append(("X-Forwarded-Proto", proto))
        headers.append(("X-Forwarded-Host", forwarded.get(b"x-forwarded-host") or host))

        # The body: refused before reading when the declared size is too big; read whole when
        # small or of unknown size (chunked, bounded by the limit); streamed when large.
        data: bytes | AsyncIterator[bytes] | None = None
        broken: list[Exception] = []  # why a streamed body stopped, if it did
        # Bulk uploads (registry imports) may be far larger than an API call; they stream
        # through and the owning service enforces its own limit while spooling.
        upload = scope["path"].startswith(_UPLOAD_PREFIXES)
        limit = self._max_upload if upload else self._max_body
        try:
            if content_length is not None:
                if not content_length.isdigit():
                    await self._problem(scope, receive, send, 400, "Invalid Content-Length")
                    return
                length = int(content_length)
                if length > limit:
                    raise _BodyTooLarge
                if length > _BUFFER_LIMIT:
                    data = _stream_body(receive, limit, self._body_timeout, broken)
                elif length:
                    data = await _read_body(receive, limit, self._body_timeout)
            elif chunked:
                data = (
                    _stream_body(receive, limit, self._body_timeout, broken)
                    if upload
                    else await _read_body(receive, limit, self._body_timeout)
                )
        except _BodyTooLarge:
            await self._body_problem(scope, receive, send, 413, limit)
            return
        except _ClientTooSlow:
            await self._body_problem(scope, receive, send, 408, limit)
            return
        except _ClientGone:
            return

        base = self._bases[service]
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        query: bytes = scope.get("query_string", b"")
        target = base + raw_path.decode("latin-1")
        if query:
            target += "?" + query.decode("latin-1")
        # encoded=True: pass the path exactly as the client encoded it (no re-quoting).
        url = URL(target, encoded=True)
        method: str = scope["method"]

        try:
            # aiohttp itself retries an idempotent request once when a pooled keep-alive
            # connection turns out to have been closed by the service meanwhile.
            try:
                resp = await session.request(
                    method, url, headers=headers, data=data, allow_redirects=False
                )
            except Exception:
                if broken:
                    raise broken[0] from None
                raise
            try:
                start, body = await self._response_start(resp, service)
            except BaseException:
                resp.release()
                raise
        except _ClientGone:
            return
        except (_BodyTooLarge, _ClientTooSlow) as exc:
            # A streamed body broke its limit on the way: the service saw a cut-off request.
            status = 413 if isinstance(exc, _BodyTooLarge) else 408
            await self._body_problem(scope, receive, send, status, limit)
            return
        except aiohttp.ConnectionTimeoutError:
            # No connection within the timeout: the service is unreachable (or the pool is
            # exhausted) — unavailable, worth retrying shortly.
            log.warning("service connect timeout", extra={"upstream": service})
            await self._problem(
                scope,
                receive,
                send,
                503,
                f"The {service} service is unavailable (connect timeout)",
                self._retry_after,
                service,
            )
            return
        except TimeoutError:
            log.warning("service timeout", extra={"upstream": service})
            await self._problem(
                scope,
                receive,
                send,
                504,
                f"The {service} service did not answer in time",
                service=service,
            )
            return
        except aiohttp.ClientConnectorError as exc:
            log.warning("service unavailable", extra={"upstream": service, "error": str(exc)})
            await self._problem(
                scope,
                receive,
                send,
                503,
                f"The {service} service is unavailable",
                self._retry_after,
                service,
            )
            return
        except aiohttp.ClientError as exc:
            log.warning(
                "bad answer from service",
                extra={"upstream": service, "error": f"{type(exc).__name__}: {exc}"},
            )
            await self._problem(
                scope,
                receive,
                send,
                502,
                f"The {service} service sent no valid response",
                service=service,
            )
            return

        if body is not None:
            await send(start)
            await send({"type": "http.response.body", "body": body})
            return
        try:
            await send(start)
            async for chunk in resp.content.iter_chunked(_CHUNK):
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        except (aiohttp.ClientError, TimeoutError) as exc:
            # The status is out; ending the body normally would pass a truncated body off as
            # complete, so fail and let the server cut the connection.
            log.warning("service failed mid-body", extra={"upstream": service})
            raise UpstreamAborted(f"{service}: {type(exc).__name__}") from exc
        finally:
            resp.release()

    async def _response_start(
        self, resp: aiohttp.ClientResponse, service: str
    ) -> tuple[Message, bytes | None]:
        """The ``http.response.start`` message, and the whole body when it is small."""
        headers: list[tuple[bytes, bytes]] = []
        content_length: bytes | None = None
        connection: bytes | None = None
        for name, value in resp.raw_headers:
            lname = name.lower()
            if lname in _DROP_RESPONSE or lname.startswith(b"proxy-"):
                if lname == b"connection":
                    connection = value
                continue
            if lname == b"content-length":
                content_length = value
            elif lname == b"location":
                value = self._public_location(value, service)
            headers.append((lname, value))
        if connection is not None:
            named = _connection_tokens(connection)
            headers = [h for h in headers if h[0] not in named]
        start: Message = {"type": "http.response.start", "status": resp.status, "headers": headers}
        if content_length is not None and content_length.isdigit():
            if int(content_length) <= _BUFFER_LIMIT:
                return start, await resp.read()
        return start, None

    def _public_location(self, value: bytes, service: str) -> bytes:
        # A service building an absolute URL uses its internal address; clients must only
        # see the gateway, so make it relative (RFC 9110 allows a relative Location).
        base = self._base_bytes[service]
        if value.startswith(base):
            rest = value[len(base) :]
            if not rest or rest[:1] in (b"/", b"?"):
                return rest or b"/"
        return value


class ProxyMiddleware:
    """Sends routed paths to :class:`Proxy` (after the edge guard), everything else to the
    gateway's own app."""

    def __init__(self, app: ASGIApp, proxy: Proxy, guard: EdgeGuard | None = None) -> None:
        self.app = app
        self.proxy = proxy
        self.routes = proxy.routes
        self.guard = guard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            service = resolve(scope["path"], self.routes)
            if service is not None:
                if self.guard is not None and (problem := await self.guard.problem_for(scope)):
                    response = problem_response(
                        problem.status,
                        problem.slug,
                        problem.title,
                        problem.detail,
                        instance=scope["path"],
                        headers=problem.headers,
                    )
                    await response(scope, receive, send)
                    return
                await self.proxy.forward(scope, receive, send, service)
                return
        await self.app(scope, receive, send)
