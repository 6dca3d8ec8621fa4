"""Data-sharing agreements as a read model, for services that serve agencies their data.

The registry owns agreements and publishes each change (``registry.agreement.changed``, the
agreement's whole state). A service that serves a dataset to agencies (credit, matching) keeps
them in ``kit_agency_agreements`` (:func:`handle_agreement_changed`, its consumer) and asks
:func:`grant_in_force` at every read: the fields of the dataset the agency's agreements name,
from the agreements whose status is ``active`` and whose validity contains *now*. So an
expired agreement stops a read at the second it expires (no event needed), a revoked one as
soon as the revocation's event is applied, whatever scopes the agency's token still carries.

The table is a read model (rebuilt by replaying the registry's stream); its metadata is its
own, so only the services that declare it in their alembic environment carry it.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, Text, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.envelope import CloudEvent, EventData
from contracts.registry import AgreementChanged
from services.kit.types import UtcDateTime, utcnow

agreement_metadata = MetaData()
TABLE = "kit_agency_agreements"

agreements = Table(
    TABLE,
    agreement_metadata,
    Column("agreement_id", String(36), primary_key=True),
    Column("agency_id", String(36), nullable=False, index=True),
    #: dataset → fields (JSON object).
    Column("datasets", Text, nullable=False),
    Column("purpose", String(500), nullable=False),
    Column("retention_days", Integer, nullable=False),
    Column("valid_from", UtcDateTime, nullable=False),
    Column("valid_until", UtcDateTime, nullable=False),
    Column("status", String(20), nullable=False),
    Column("changed_at", UtcDateTime, nullable=False),
)


async def record(session: AsyncSession, data: AgreementChanged) -> None:
    """Keep the agreement's latest state (an older change arriving late is ignored)."""
    values: dict[str, Any] = {
        "agency_id": data.agency_id.lower(),
        "datasets": json.dumps(data.datasets, ensure_ascii=False, sort_keys=True),
        "purpose": data.purpose,
        "retention_days": data.retention_days,
        "valid_from": data.valid_from,
        "valid_until": data.valid_until,
        "status": data.status,
        "changed_at": data.changed_at,
    }
    key = data.agreement_id.lower()
    query = select(agreements.c.changed_at).where(agreements.c.agreement_id == key)
    if session.bind is not None and session.bind.dialect.name != "sqlite":
        query = query.with_for_update()
    known = (await session.execute(query)).one_or_none()
    if known is None:
        await session.execute(insert(agreements).values(agreement_id=key, **values))
    elif known.changed_at <= data.changed_at:
        await session.execute(
            update(agreements).where(agreements.c.agreement_id == key).values(**values)
        )


async def handle_agreement_changed(
    session: AsyncSession, envelope: CloudEvent[Any], data: EventData
) -> None:
    """The consumer's handler (``<service>-agreements`` on ``registry.agreement.changed``)."""
    if not isinstance(data, AgreementChanged):
        raise TypeError(f"agreements consumer got {envelope.type}")  # a wiring bug: dead-letter
    await record(session, data)


@dataclass(frozen=True)
class Grant:
    """What an agency may receive of one dataset now, and under which agreements."""

    dataset: str
    fields: frozenset[str]
    agreement_ids: tuple[str, ...]
    purposes: tuple[str, ...]
    #: The longest retention among them (the agency keeps what it received at most this long).
    retention_days: int


async def grant_in_force(
    session: AsyncSession, agency_id: uuid.UUID, dataset: str, now: datetime | None = None
) -> Grant | None:
    """The agency's grant of ``dataset`` from its agreements in force now; None without one."""
    now = now or utcnow()
    rows = (
        await session.execute(
            select(agreements)
            .where(
                agreements.c.agency_id == str(agency_id).lower(),
                agreements.c.status == "active",
                agreements.c.valid_from <= now,
                agreements.c.valid_until > now,
            )
            .order_by(agreements.c.valid_from, agreements.c.agreement_id)
        )
    ).all()
    fields: set[str] = set()
    ids: list[str] = []
    purposes: list[str] = []
    retention = 0
    for row in rows:
        named = json.loads(row.datasets).get(dataset)
        if not named:
            continue
        fields.update(named)
        ids.append(row.agreement_id)
        purposes.append(row.purpose)
        retention = max(retention, row.retention_days)
    if not ids:
        return None
    return Grant(dataset, frozenset(fields), tuple(ids), tuple(purposes), retention)
