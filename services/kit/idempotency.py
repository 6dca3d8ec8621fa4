"""``Idempotency-Key`` on POST: a retried request gets the first answer, not a second effect.

Mobile clients on flaky networks retry. A POST that carries ``Idempotency-Key`` is recorded
per caller (a hash of its Authorization header) before it runs; its response is stored after.
A retry with the same key and the same request replays the stored response (with
``Idempotent-Replayed: true``); the same key with a different request is a 422; a retry while
the first is still running is a 409. Server errors (5xx) are not stored, so they can be retried.
Keys expire after a day. If a process dies between the operation's commit and storing the
response, the key counts as abandoned after ``ABANDONED_AFTER`` and the request runs again
(domain uniqueness rules still refuse true duplicates).
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.kit.errors import problem_response
from services.kit.middleware import header
from services.kit.tables import idempotency_keys
from services.kit.types import utcnow

KEY_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{8,200}$")
MAX_BODY = 1024 * 1024
_REPLAYABLE_TYPES = ("application/json", "application/x-www-form-urlencoded", "")
TTL = timedelta(hours=24)
ABANDONED_AFTER = timedelta(seconds=60)


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
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > MAX_BODY:
                await problem_response(
                    413, detail="Idempotent requests are limited to 1 MiB", instance=scope["path"]
                )(scope, receive, send)
                return
        await self._handle(scope, send, key, body)

    async def _handle(self, scope: Scope, send: Send, key: str, body: bytes) -> None:
        db = scope["app"].state.ctx.db
        caller = hashlib.sha256(
            (header(scope, b"authorization") or "anonymous").encode()
        ).hexdigest()
        request_hash = hashlib.sha256(
            b"\0".join([scope["path"].encode(), scope.get("query_string", b""), body])
        ).hexdigest()
        now = utcnow()
        where = (idempotency_keys.c.caller == caller) & (idempotency_keys.c.key == key)
        async with db.write() as session:
            existing = (await session.execute(select(idempotency_keys).where(where))).first()
            stale = existing is not None and (
                existing.created_at < now - TTL
                or (existing.status is None and existing.created_at < now - ABANDONED_AFTER)
            )
            if existing is None or stale:
                if stale:
                    await session.execute(delete(idempotency_keys).where(where))
                try:
                    await session.execute(
                        insert(idempotency_keys).values(
                            caller=caller, key=key, request_hash=request_hash, created_at=now
                        )
                    )
                    existing = None
                except IntegrityError:  # pragma: no cover - a racing twin inserted first
                    existing = (await session.execute(select(idempotency_keys).where(where))).one()
        if existing is not None:
            await self._answer_existing(scope, send, existing, request_hash)
            return
        try:
            status, content_type, location, chunks = await self._run(scope, send, body)
        except BaseException:
            async with db.write() as session:  # free the key: the request may be retried
                await session.execute(delete(idempotency_keys).where(where))
            raise
        async with db.write() as session:
            if status >= 500:
                await session.execute(delete(idempotency_keys).where(where))
            else:
                await session.execute(
                    update(idempotency_keys)
                    .where(where)
                    .values(
                        status=status,
                        content_type=content_type,
                        location=location,
                        body=b"".join(chunks),
                    )
                )

    async def _answer_existing(self, scope: Scope, send: Send, row: Any, request_hash: str) -> None:
        """``row`` is the stored ``kit_idempotency_keys`` row for this caller and key."""
        if row.request_hash != request_hash:
            response = problem_response(
                422,
                "idempotency-key-reused",
                "Idempotency-Key reused",
                "This Idempotency-Key was used for a different request; use a new key",
                instance=scope["path"],
            )
        elif row.status is None:
            response = problem_response(
                409,
                "request-in-progress",
                "Request in progress",
                "The first request with this Idempotency-Key is still running; retry shortly",
                instance=scope["path"],
                headers={"Retry-After": "1"},
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
    ) -> tuple[int, str | None, str | None, list[bytes]]:
        delivered = False

        async def replay_body() -> Message:
            nonlocal delivered
            if delivered:
                return {"type": "http.disconnect"}
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        status = 500
        content_type: str | None = None
        location: str | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal status, content_type, location
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", []):
                    if name == b"content-type":
                        content_type = value.decode("latin-1")
                    elif name == b"location":
                        location = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        await self.app(scope, replay_body, capture)
        return status, content_type, location, chunks
