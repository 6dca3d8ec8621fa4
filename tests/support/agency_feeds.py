"""Helpers for the change feeds credit and matching serve agencies (issue 14): agreements as
the registry publishes them, waiting for a service's read model to hold one, reading a feed
page and checking its signature with the published keys."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from contracts.registry import AgreementChanged
from services.kit.agreements import agreements
from services.kit.signing import SIGNATURE_HEADER, public_keys_from_jwks, sha256_hex, verify
from tests.support.apps import context, eventually

PROBLEM = "application/problem+json"


def agreement_changed(
    agency_id: uuid.UUID,
    datasets: dict[str, list[str]],
    *,
    agreement_id: uuid.UUID | None = None,
    status: str = "active",
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    changed_at: datetime | None = None,
    retention_days: int = 365,
) -> AgreementChanged:
    now = datetime.now(UTC)
    return AgreementChanged(
        agreement_id=str(agreement_id or uuid.uuid4()),
        agency_id=str(agency_id),
        datasets=datasets,
        purpose="就业补贴审核",
        retention_days=retention_days,
        valid_from=valid_from or now - timedelta(days=1),
        valid_until=valid_until or now + timedelta(days=365),
        status=status,  # type: ignore[arg-type]
        changed_at=changed_at or now,
    )


async def agreement_applied(app: FastAPI, event: AgreementChanged) -> None:
    """Wait until the service's read model holds this change of the agreement."""

    async def stored() -> bool:
        async with context(app).db.read() as session:
            row = (
                await session.execute(
                    select(agreements.c.changed_at).where(
                        agreements.c.agreement_id == event.agreement_id
                    )
                )
            ).one_or_none()
        return row is not None and row.changed_at == event.changed_at

    await eventually(stored)


async def feed_page(
    client: httpx.AsyncClient,
    dataset: str,
    headers: dict[str, str],
    *,
    after: int = 0,
    limit: int = 500,
    count: int | None = None,
) -> tuple[httpx.Response, dict[str, Any]]:
    """A 200 page (polled until it holds ``count`` entries: on PostgreSQL a fresh row behind
    a seq gap is held back until the gap settles)."""

    async def fetch() -> tuple[httpx.Response, dict[str, Any]] | None:
        response = await client.get(
            f"/api/v1/feeds/{dataset}", params={"after": after, "limit": limit}, headers=headers
        )
        assert response.status_code == 200, response.text
        body = response.json()
        if count is not None and len(body["entries"]) != count:
            return None
        return response, body

    found: tuple[httpx.Response, dict[str, Any]] = await eventually(fetch)
    return found


def verified(app: FastAPI, response: httpx.Response) -> dict[str, Any]:
    """The manifest of a page's signature, checked with the service's published JWKS."""
    keys = public_keys_from_jwks(context(app).extras["exchange_signer"].jwks())
    return verify(
        response.headers[SIGNATURE_HEADER],
        keys,
        content_sha256=sha256_hex(response.content),
        size=len(response.content),
    )


async def refused(
    get: Callable[[], Awaitable[httpx.Response]], status: int = 403
) -> dict[str, Any]:
    response = await get()
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    return response.json()  # type: ignore[no-any-return]
