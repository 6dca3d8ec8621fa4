"""W3C trace context (``traceparent``) of the request or event being handled.

Kept apart from the outbox and inbox so that the gateway and the request middleware, which only
set and read the context, import neither NATS nor SQLAlchemy. Events written while handling a
request or an event inherit the value.
"""

from __future__ import annotations

from contextvars import ContextVar

#: W3C trace context of the request or event being handled; new events inherit it.
traceparent_var: ContextVar[str | None] = ContextVar("traceparent", default=None)
