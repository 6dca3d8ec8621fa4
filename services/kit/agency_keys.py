"""Agencies' signing keys as a read model, for services that accept signed imports.

The registry owns the keys and publishes each change (``registry.agency_key.changed``: the
key's whole state, active or revoked). A service that accepts files from agencies (matching's
job import) keeps them in ``kit_agency_keys`` (:func:`handle_agency_key_changed`, its
consumer) and checks a file's signature with :func:`verify_agency_signature` — the calling
agency's active keys, no call to the registry on the request path; a revoked key stops being
accepted as soon as the revocation's event is applied.

The table is a read model (rebuilt by replaying the registry's stream); its metadata is its
own, so only the services that declare it in their alembic environment carry it.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Column, MetaData, String, Table, Text, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.envelope import CloudEvent, EventData
from contracts.registry import AgencyKeyChanged
from services.kit.signed_imports import public_key, verify_signed_body
from services.kit.types import UtcDateTime

agency_key_metadata = MetaData()
TABLE = "kit_agency_keys"

agency_keys = Table(
    TABLE,
    agency_key_metadata,
    Column("kid", String(64), primary_key=True),
    Column("agency_id", String(36), nullable=False, index=True),
    #: The public JWK (JSON object).
    Column("jwk", Text, nullable=False),
    Column("status", String(20), nullable=False),
    Column("changed_at", UtcDateTime, nullable=False),
)


async def record(session: AsyncSession, data: AgencyKeyChanged) -> None:
    """Keep the key's latest state (an older change arriving late is ignored)."""
    values: dict[str, Any] = {
        "agency_id": data.agency_id.lower(),
        "jwk": json.dumps(data.jwk, sort_keys=True),
        "status": data.status,
        "changed_at": data.changed_at,
    }
    query = select(agency_keys.c.changed_at).where(agency_keys.c.kid == data.kid)
    if session.bind is not None and session.bind.dialect.name != "sqlite":
        query = query.with_for_update()
    known = (await session.execute(query)).one_or_none()
    if known is None:
        await session.execute(insert(agency_keys).values(kid=data.kid, **values))
    elif known.changed_at <= data.changed_at:
        await session.execute(
            update(agency_keys).where(agency_keys.c.kid == data.kid).values(**values)
        )


async def handle_agency_key_changed(
    session: AsyncSession, envelope: CloudEvent[Any], data: EventData
) -> None:
    """The consumer's handler (``<service>-agency-keys`` on ``registry.agency_key.changed``)."""
    if not isinstance(data, AgencyKeyChanged):
        raise TypeError(f"agency keys consumer got {envelope.type}")  # a wiring bug: dead-letter
    await record(session, data)


async def active_keys(session: AsyncSession, agency_id: uuid.UUID) -> dict[str, Ed25519PublicKey]:
    """The agency's active signing keys by kid (a key that does not parse is skipped)."""
    rows = (
        await session.execute(
            select(agency_keys.c.kid, agency_keys.c.jwk).where(
                agency_keys.c.agency_id == str(agency_id).lower(),
                agency_keys.c.status == "active",
            )
        )
    ).all()
    out: dict[str, Ed25519PublicKey] = {}
    for row in rows:
        try:
            out[row.kid] = public_key(json.loads(row.jwk))
        except (ValueError, jwt.PyJWTError):
            continue
    return out


async def verify_agency_signature(
    session: AsyncSession, agency_id: uuid.UUID, jws: str | None, body: bytes
) -> str:
    """The kid of a valid signature of ``body`` by an active key of the agency; else the
    problem of :func:`services.kit.signed_imports.verify_signed_body`."""
    keys = await active_keys(session, agency_id)

    async def known(kid: str) -> bool:
        found = await session.execute(select(agency_keys.c.kid).where(agency_keys.c.kid == kid))
        return found.first() is not None

    return await verify_signed_body(body, jws, keys, known)
