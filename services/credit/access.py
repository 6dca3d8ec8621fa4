"""Who may read a worker's credit data, and the log of such reads the worker can see.

Officers and admins read everything; the worker reads their own; their current company (from
EmploymentChanged) reads its employees'; employers and partner platforms (the latter also need
the ``credit:read`` scope, checked by the route's policy) read only a worker who gave them a
valid ``credit_data`` consent (from ConsentChanged). Anyone else gets ``None`` here, and the
route answers 404 so the caller learns nothing about which workers exist.

Reads by a company, employer or partner are logged in ``credit_access_log``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.credit.models import CreditAccessLog, CreditConsent
from services.credit.workers import current_company
from services.kit.dialect import dialect_insert
from services.kit.ids import new_id
from services.kit.principal import Principal
from services.kit.types import utcnow

#: The consent scope (as the registry names it) that opens a worker's credit data.
CONSENT_SCOPE = "credit_data"
#: The partner scope that lets a partner platform ask at all.
CREDIT_READ_SCOPE = "credit:read"

View = Literal["staff", "owner", "company", "consented"]


@dataclass(frozen=True)
class Reader:
    """A caller entitled to one worker's credit data, and how much of it they see."""

    principal: Principal
    view: View

    @property
    def sees_check_code(self) -> bool:
        """The check code is printed on the certificate: its holder and the staff only."""
        return self.view in ("staff", "owner")

    @property
    def sees_id_card(self) -> bool:
        # Employers and partners need no part of the ID number to weigh a certificate.
        return self.view in ("staff", "owner", "company")

    @property
    def is_logged(self) -> bool:
        return self.view in ("company", "consented")


async def reader_of(
    session: AsyncSession, principal: Principal, worker_id: uuid.UUID
) -> Reader | None:
    """How ``principal`` may read ``worker_id``'s credit data; None when not at all."""
    if principal.is_privileged:
        return Reader(principal, "staff")
    if principal.party_id is None:
        return None
    if principal.role == "worker":
        return Reader(principal, "owner") if principal.party_id == worker_id else None
    if principal.role == "company":
        company = await current_company(session, worker_id)
        return Reader(principal, "company") if company == principal.party_id else None
    if principal.role in ("employer", "partner"):
        if await has_valid_consent(session, worker_id, str(principal.party_id)):
            return Reader(principal, "consented")
    return None


async def has_valid_consent(
    session: AsyncSession, worker_id: uuid.UUID, recipient: str, now: datetime | None = None
) -> bool:
    moment = now or utcnow()
    query = select(
        exists().where(
            CreditConsent.worker_id == worker_id,
            CreditConsent.recipient == recipient,
            CreditConsent.scope == CONSENT_SCOPE,
            CreditConsent.granted.is_(True),
            or_(CreditConsent.expires_at.is_(None), CreditConsent.expires_at > moment),
        )
    )
    return bool(await session.scalar(query))


async def record_consent(
    session: AsyncSession,
    consent_id: uuid.UUID,
    *,
    worker_id: uuid.UUID,
    scope: str,
    recipient: str,
    granted: bool,
    expires_at: datetime | None,
    changed_at: datetime,
) -> None:
    """Store a consent's state unless a newer change of it is stored (events may reorder)."""
    stmt = dialect_insert(session, CreditConsent).values(
        consent_id=consent_id,
        worker_id=worker_id,
        scope=scope,
        recipient=_canonical_recipient(recipient),
        granted=granted,
        expires_at=expires_at,
        changed_at=changed_at,
    )
    new = stmt.excluded
    stmt = stmt.on_conflict_do_update(
        index_elements=[CreditConsent.consent_id],
        set_={"granted": new.granted, "expires_at": new.expires_at, "changed_at": new.changed_at},
        where=new.changed_at > CreditConsent.changed_at,
    )
    await session.execute(stmt)


def _canonical_recipient(recipient: str) -> str:
    """Ids in their canonical text form, so they compare equal to ``str(party_id)``."""
    try:
        return str(uuid.UUID(recipient))
    except ValueError:
        return recipient


async def log_read(
    session: AsyncSession,
    reader: Reader,
    worker_id: uuid.UUID,
    *,
    resource: Literal[
        "certificate", "certificates", "card", "credit", "credit_file", "credit_records"
    ],
    items: int,
    certificate_id: uuid.UUID | None = None,
) -> None:
    session.add(
        CreditAccessLog(
            id=new_id(),
            worker_id=worker_id,
            reader_role=reader.principal.role,
            reader_party_id=reader.principal.party_id,
            reader_subject=reader.principal.subject[:128],
            resource=resource,
            certificate_id=certificate_id,
            items=items,
            read_at=utcnow(),
        )
    )
