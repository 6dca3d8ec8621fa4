"""The pages' calls to the services: through the gateway's own pooled client (the proxy's
aiohttp session), to the service the routing table names for the path, with the caller's token
(from the session cookie, never from the page), the page's language and the request id.

Pages never read another service's database: they use the same public API as any client.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from gateway.proxy import Proxy
from gateway.routes import resolve
from services.kit.logging import request_id_var

log = logging.getLogger(__name__)

#: Largest answer a page reads from a service (a photo or one page of a list).
MAX_ANSWER_BYTES = 8 * 1024 * 1024


class UpstreamUnavailable(Exception):
    """The service could not be reached or did not answer in time."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes
    content_type: str

    def json(self) -> Any:
        return orjson.loads(self.body) if self.body else None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def problem_detail(self) -> str:
        """The problem+json detail (or title) a service answered with, for showing."""
        try:
            body = self.json()
        except orjson.JSONDecodeError:
            return f"HTTP {self.status}"
        if isinstance(body, dict):
            return str(body.get("detail") or body.get("title") or f"HTTP {self.status}")
        return f"HTTP {self.status}"


class Upstream:
    def __init__(self, proxy: Proxy) -> None:
        self._proxy = proxy
        self._bases = proxy.settings.service_urls()
        self._routes = proxy.routes

    def url(self, path: str) -> str:
        service = resolve(path, self._routes)
        if service is None:
            raise LookupError(f"no service routes {path}")
        return self._bases[service] + path

    async def request(
        self,
        method: str,
        path: str,
        *,
        lang: str,
        token: str | None = None,
        params: dict[str, str] | None = None,
        json: Any = None,
    ) -> Answer:
        session = self._proxy.session
        if session is None:
            raise UpstreamUnavailable("the gateway's HTTP client is not started")
        headers = {"Accept": "application/json", "Accept-Language": lang}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if (request_id := request_id_var.get()) is not None:
            headers["X-Request-ID"] = request_id
        data: bytes | None = None
        if json is not None:
            headers["Content-Type"] = "application/json"
            data = orjson.dumps(json)
        try:
            async with session.request(
                method, self.url(path), params=params, data=data, headers=headers
            ) as resp:
                body = await resp.content.read(MAX_ANSWER_BYTES + 1)
                if len(body) > MAX_ANSWER_BYTES:
                    raise UpstreamUnavailable(f"{path}: answer too large")
                return Answer(resp.status, body, resp.headers.get("Content-Type", ""))
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("page upstream failed", extra={"path": path, "error": repr(exc)})
            raise UpstreamUnavailable(f"{path}: {type(exc).__name__}") from exc

    async def get(self, path: str, *, lang: str, **kwargs: Any) -> Answer:
        return await self.request("GET", path, lang=lang, **kwargs)

    async def post(self, path: str, *, lang: str, **kwargs: Any) -> Answer:
        return await self.request("POST", path, lang=lang, **kwargs)
