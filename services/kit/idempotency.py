"""``Idempotency-Key`` on POST: a retried request gets the first answer, not a second effect.

Mobile clients on flaky networks retry. A POST that carries ``Idempotency-Key`` is recorded
per caller — the verified token's role and subject, so a retry after a token refresh is still
the same caller — before it runs; its response is stored after (:mod:`.idempotency_store`).
A retry with the same key and the same request replays the stored response (with
``Idempotent-Replayed: true``); the same key with a different request is a 422; a retry while
the first is still running is a 409; a retry of a request whose answer held credentials is a
409 naming the original status and ``Location`` (credentials are never stored). Server errors
(5xx) are not stored, so they can be retried. Anonymous requests (login, token) have no stable
caller to key on and run as sent. If the process handling a key dies, the key is released as
soon as a retry finds its owner dead (:mod:`.liveness`).
"""

from __future__ import annotations

import hashlib
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.kit.errors import Problem, problem_response
from services.kit.idempotency_store import IdempotencyStore, Stored, withholds
from services.kit.middleware import header
from services.kit.principal import PRINCIPAL_SCOPE_KEY, Principal

KEY_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{8,200}$")
MAX_BODY = 1024 * 1024
_REPLAYABLE_TYPES = ("application/json", "application/x-www-form-urlencoded", "")


async def _caller(scope: Scope) -> str | None:
    """The verified caller's stable id, or None (anonymous or an invalid token: the route
    answers that itself). The principal is left in the scope so the route does not verify the
    token a second time."""
    authorization = header(scope, b"authorization")
    if authorization is None:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    try:
        principal: Principal = await scope["app"].state.token_verifier.verify(token.strip())
    except Problem:
        return None
    scope[PRINCIPAL_SCOPE_KEY] = principal
    return hashlib.sha256(f"{principal.role}\0{principal.subject}".encode()).hexdigest()


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        key = header(scope, b"idempotency-key")
        content_type = (header(scope, b"content-type") or "").split(";")[0].strip().lower()
        if key is None or content_type not in _REPLAYABLE_TYPES:
            # Bulk uploads (CSV, JSON Lines) are jobs with their own identity; not buffered here.
            await self.app(scope, receive, send)
            return
        if not KEY_PATTERN.match(key):
            await problem_response(
                400,
                "invalid-idempotency-key",
                "Invalid Idempotency-Key",
                "Use 8-200 characters of letters, digits and . _ : - (a UUID is ideal)",
                instance=scope["path"],
            )(scope, receive, send)
            return
        caller = await _caller(scope)
        if caller is None:
            await self.app(scope, receive, send)
            return
        body = b""
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > MAX_BODY:
                await problem_response(
                    413, detail="Idempotent requests are limited to 1 MiB", instance=scope["path"]
                )(scope, receive, send)
                return
        await self._handle(scope, send, caller, key, body)

    async def _handle(self, scope: Scope, send: Send, caller: str, key: str, body: bytes) -> None:
        store: IdempotencyStore = scope["app"].state.idempotency
        request_hash = hashlib.sha256(
            b"\0".join([scope["path"].encode(), scope.get("query_string", b""), body])
        ).hexdigest()
        existing = await store.claim(caller, key, request_hash)
        if existing is not None:
            await self._answer_existing(scope, send, existing, request_hash)
            return
        try:
            status, headers, chunks = await self._run(scope, send, body)
        except BaseException:
            await store.release(caller, key)  # the request may be retried
            raise
        answer = b"".join(chunks)
        found = dict(headers)
        await store.finish(
            caller,
            key,
            status,
            found.get(b"content-type", b"").decode("latin-1") or None,
            found.get(b"location", b"").decode("latin-1") or None,
            None if withholds(headers, answer) else answer,
        )

    async def _answer_existing(
        self, scope: Scope, send: Send, row: Stored, request_hash: str
    ) -> None:
        if row.request_hash != request_hash:
            response = problem_response(
                422,
                "idempotency-key-reused",
                "Idempotency-Key reused",
                "This Idempotency-Key was used for a different request; use a new key",
                instance=scope["path"],
            )
        elif row.in_progress:
            response = problem_response(
                409,
                "request-in-progress",
                "Request in progress",
                "The first request with this Idempotency-Key is still running; retry shortly",
                instance=scope["path"],
                headers={"Retry-After": "1"},
            )
        elif row.withheld:
            response = problem_response(
                409,
                "idempotent-response-withheld",
                "Request already done",
                f"The first request with this Idempotency-Key succeeded (status {row.status}); "
                "its answer held credentials or personal data that are never stored",
                instance=scope["path"],
                original_status=row.status,
                location=row.location,
                headers={"Location": row.location} if row.location else None,
            )
        else:
            headers = [(b"idempotent-replayed", b"true")]
            if row.content_type:
                headers.append((b"content-type", row.content_type.encode()))
            if row.location:
                headers.append((b"location", row.location.encode()))
            payload = row.body or b""
            headers.append((b"content-length", str(len(payload)).encode()))
            await send({"type": "http.response.start", "status": row.status, "headers": headers})
            await send({"type": "http.response.body", "body": payload})
            return

        async def no_body() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        await response(scope, no_body, send)

    async def _run(
        self, scope: Scope, send: Send, body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], list[bytes]]:
        delivered = False

        async def replay_body() -> Message:
            nonlocal delivered
            if delivered:
                return {"type": "http.disconnect"}
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        status = 500
        headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers.extend((name.lower(), value) for name, value in message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        await self.app(scope, replay_body, capture)
        return status, headers, chunks
