"""Mandatory checks (health certificate, no-criminal-record certificate): a worker whose check
has expired gets a ``mandatory_check_expired`` record; renewing it ends that record's effect
(``effective_until``), so the history stays."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.credit.files import service
from services.credit.files.models import CreditMandatoryCheck, CreditParty, CreditRecord
from services.credit.numbers import local_date
from services.kit.types import utcnow

CHECKS = ("health_check", "no_criminal_record")


async def observe(
    session: AsyncSession,
    worker_id: uuid.UUID,
    valid_until: dict[str, date | None],
    as_of: datetime,
) -> None:
    """Take the registry's dates of the worker's checks unless a newer state is stored."""
    today = local_date(utcnow())
    for check, until in valid_until.items():
        row = await session.get(CreditMandatoryCheck, (worker_id, check))
        if row is None:
            row = CreditMandatoryCheck(party_id=worker_id, check_kind=check, as_of=as_of)
            session.add(row)
        elif row.as_of > as_of:
            continue
        row.valid_until, row.as_of = until, as_of
        await session.flush()
        await _settle(session, row, today)


async def _settle(session: AsyncSession, row: CreditMandatoryCheck, today: date) -> None:
    expired = row.valid_until is not None and row.valid_until < today
    if expired and row.expired_record_id is None:
        record = await service.add_record(
            session,
            party_id=row.party_id,
            party_kind="worker",
            kind="mandatory_check_expired",
            severity=1,
            source="event",
            source_ref=f"registry:{row.check_kind}",
            reason=f"{row.check_kind} expired on {row.valid_until}",
            recorded_by="system",
        )
        row.expired_record_id = record.id if record is not None else None
    elif not expired and row.expired_record_id is not None:
        record = await session.get(CreditRecord, row.expired_record_id)
        row.expired_record_id = None
        if record is not None:
            record.effective_until = utcnow()
            party = await session.get(CreditParty, row.party_id)
            if party is not None:
                await service.recompute(session, party, await service.current_policy(session))


async def expire_due(session: AsyncSession, now: datetime | None = None) -> int:
    """Checks that expired since they were announced get their record; the number found."""
    today = local_date(now or utcnow())
    query = (
        select(CreditMandatoryCheck)
        .where(
            CreditMandatoryCheck.valid_until < today,
            CreditMandatoryCheck.expired_record_id.is_(None),
        )
        .limit(500)
    )
    rows = list((await session.scalars(query)).all())
    for row in rows:
        await _settle(session, row, today)
    return len(rows)
