"""``python -m services.credit audit verify`` and ``python -m services.matching audit verify``:
each service that exchanges data keeps its own audit chain, and the command walks it in a fresh
process, on SQLite and PostgreSQL; a single changed byte of an entry is detected (exit 1)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select, update

from services.kit import audit_chain
from services.kit.db import Database
from tests.support.databases import service_database


async def _append(url: str, count: int) -> None:
    db = Database(url)
    try:
        for n in range(count):
            async with db.write() as session:
                await audit_chain.append(
                    session,
                    audit_chain.Exchange(
                        action="feed_read",
                        dataset="certificates",
                        actor="client-1",
                        actor_role="agency",
                        party_id="agency-1",
                        purpose="就业补贴审核",
                        record_count=n,
                        content_sha256="0" * 64,
                        signature_sha256=None,
                        detail={"after": n},
                    ),
                )
    finally:
        await db.dispose()


async def _tamper(url: str) -> None:
    db = Database(url)
    log = audit_chain.audit_log
    try:
        async with db.write() as session:
            body = await session.scalar(select(log.c.body).where(log.c.seq == 2))
            assert body is not None and '"record_count":1' in body
            changed = body.replace('"record_count":1', '"record_count":7')
            await session.execute(update(log).where(log.c.seq == 2).values(body=changed))
    finally:
        await db.dispose()


def _verify(service: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, f"{service.upper()}_DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", f"services.{service}", "audit", "verify"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("service", ["credit", "matching"])
def test_a_services_audit_chain_verifies_and_a_changed_byte_is_found(
    service: str, backend: str, tmp_path: Path
) -> None:
    with service_database(service, backend, tmp_path) as url:
        asyncio.run(_append(url, 3))
        good = _verify(service, url)
        assert good.returncode == 0, good.stderr
        assert f"{service} audit chain ok: 3 entries" in good.stdout
        asyncio.run(_tamper(url))
        bad = _verify(service, url)
        assert bad.returncode == 1, bad.stdout
        assert "BROKEN at entry 2" in bad.stderr
