"""The trace context lives in kit.tracing: the gateway sets it without importing NATS or
SQLAlchemy, and the outbox and inbox read the very same context variable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from services.kit import inbox, middleware, outbox, tracing

ROOT = Path(__file__).resolve().parents[2]


def test_the_outbox_inbox_and_middleware_share_one_context_variable() -> None:
    assert outbox.traceparent_var is tracing.traceparent_var
    assert inbox.traceparent_var is tracing.traceparent_var
    assert middleware.traceparent_var is tracing.traceparent_var


def test_the_gateway_imports_neither_nats_nor_sqlalchemy() -> None:
    probe = (
        "import sys, gateway.app, gateway.proxy, services.kit.middleware, services.kit.tracing\n"
        "heavy = {'nats', 'sqlalchemy', 'asyncpg', 'aiosqlite'}\n"
        "print(sorted(heavy & {name.split('.')[0] for name in sys.modules}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
