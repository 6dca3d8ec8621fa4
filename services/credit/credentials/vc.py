"""The VC 2.0 documents the platform issues, their status list entries, and the published
Bitstring Status List credentials.

A credential is minted (index drawn, document signed, stored) the first time someone asks for
it; after that its document never changes and only its status bits do. Status list credentials
are built and signed when fetched, so they always show the current bits.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.credit.credentials import statuslist
from services.credit.credentials.dataintegrity import VC_V2, sign
from services.credit.credentials.issuer import Issuer
from services.credit.credentials.models import HomeServiceCard, IssuedCredential
from services.credit.models import Certificate, CreditWorker
from services.credit.numbers import CHINA_TZ, next_seq
from services.kit.ids import new_id
from services.kit.types import utcnow

#: Counter series of status list indexes (one sequence, "year" 0).
STATUS_SERIES = "VCSL"
ISSUER_NAME = "肇庆市人力资源和社会保障局（肇庆家嫂工程）"
#: Status list credentials are valid from the start of the hour they are fetched in, this long.
STATUS_LIST_TTL = timedelta(hours=2)


def timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def end_of_day(day: date) -> datetime:
    """The last second of ``day`` in China time (validity dates are local)."""
    return datetime.combine(day + timedelta(days=1), time(), CHINA_TZ) - timedelta(seconds=1)


def _status_entries(issuer: Issuer, index: int) -> list[dict[str, Any]]:
    list_no, offset = divmod(index, statuslist.LIST_SIZE)
    entries = []
    for purpose in statuslist.PURPOSES:
        url = issuer.status_list_url(purpose, list_no)
        entries.append(
            {
                "id": f"{url}#{offset}",
                "type": "BitstringStatusListEntry",
                "statusPurpose": purpose,
                "statusListIndex": str(offset),
                "statusListCredential": url,
            }
        )
    return entries


def _envelope(
    issuer: Issuer,
    credential_id: uuid.UUID,
    kind_type: str,
    name: str,
    issued_at: datetime,
    valid_until: date | None,
    subject: dict[str, Any],
    index: int,
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "@context": [VC_V2],
        "id": f"urn:uuid:{credential_id}",
        "type": ["VerifiableCredential", kind_type],
        "issuer": {"id": issuer.did, "name": ISSUER_NAME},
        "name": name,
        "validFrom": timestamp(issued_at),
        "credentialSubject": subject,
        "credentialStatus": _status_entries(issuer, index),
    }
    if valid_until is not None:
        document["validUntil"] = timestamp(end_of_day(valid_until))
    return document


async def _latest(
    session: AsyncSession, kind: str, subject_id: uuid.UUID
) -> IssuedCredential | None:
    return await session.scalar(
        select(IssuedCredential)
        .where(
            IssuedCredential.kind == kind,
            IssuedCredential.subject_id == subject_id,
            IssuedCredential.revoked_at.is_(None),
        )
        .order_by(IssuedCredential.id.desc())
        .limit(1)
    )


async def _store(
    session: AsyncSession,
    issuer: Issuer,
    kind: str,
    subject_id: uuid.UUID,
    worker_id: uuid.UUID,
    build: Any,
    suspended: bool = False,
) -> IssuedCredential:
    credential_id = new_id()
    index = await next_seq(session, 0, STATUS_SERIES) - 1
    now = utcnow()
    document = sign(build(credential_id, index), issuer.signer, created=now)
    row = IssuedCredential(
        id=credential_id,
        kind=kind,
        subject_id=subject_id,
        worker_id=worker_id,
        status_index=index,
        document=json.dumps(document, ensure_ascii=False),
        issued_at=now,
        suspended=suspended,
    )
    session.add(row)
    await session.flush()
    return row


#: Per certificate kind: the VC type, its name, and the subject's type.
CERTIFICATE_TYPES: dict[str, tuple[str, str, str]] = {
    "training": ("TrainingCertificate", "培训合格证书", "TrainingCertificateHolder"),
    "skill_title": ("SkillTitleCertificate", "肇庆市技术能手", "SkillTitleHolder"),
}


async def training_credential(
    session: AsyncSession, issuer: Issuer, certificate: Certificate
) -> IssuedCredential:
    """The VC of a training or 技术能手 certificate, minted on first request."""
    existing = await _latest(session, "training", certificate.id)
    if existing is not None:
        return existing
    worker = await session.get(CreditWorker, certificate.worker_id)
    vc_type, vc_name, holder_type = CERTIFICATE_TYPES[certificate.kind]
    skill_title = certificate.kind == "skill_title"

    def build(credential_id: uuid.UUID, index: int) -> dict[str, Any]:
        subject = {
            "id": f"urn:uuid:{certificate.worker_id}",
            "type": holder_type,
            "name": worker.name if worker else None,
            "certificateNumber": certificate.number,
            "competition" if skill_title else "course": certificate.course_title,
            "track": certificate.track,
            "trainingType": certificate.training_type,
        }
        return _envelope(
            issuer,
            credential_id,
            vc_type,
            vc_name,
            certificate.issued_at,
            certificate.valid_until,
            {key: value for key, value in subject.items() if value is not None},
            index,
        )

    # Stored under kind "training" (a certificate's credential) whatever the certificate's kind.
    row = await _store(session, issuer, "training", certificate.id, certificate.worker_id, build)
    if certificate.revoked_at is not None:
        row.revoked_at = certificate.revoked_at
    return row


async def card_credential(
    session: AsyncSession, issuer: Issuer, card: HomeServiceCard, tracks: list[str]
) -> IssuedCredential:
    """The VC of a home-service card (one per validity period), minted on first request."""
    existing = await _latest(session, "home_service", card.id)
    if existing is not None:
        return existing
    worker = await session.get(CreditWorker, card.worker_id)

    def build(credential_id: uuid.UUID, index: int) -> dict[str, Any]:
        subject: dict[str, Any] = {
            "id": f"urn:uuid:{card.worker_id}",
            "type": "HomeServiceWorker",
            "cardNumber": card.number,
            "tracks": sorted(tracks),
            "verificationUrl": issuer.verification_url(card.verify_code),
        }
        if worker is not None:
            subject["name"] = worker.name
        return _envelope(
            issuer,
            credential_id,
            "HomeServiceCertificate",
            "居家上门服务证",
            utcnow(),
            card.valid_until,
            subject,
            index,
        )

    row = await _store(
        session, issuer, "home_service", card.id, card.worker_id, build, card.state == "suspended"
    )
    if card.state == "revoked":
        row.revoked_at = card.changed_at
    card.credential_id = row.id
    return row


async def set_card_status(
    session: AsyncSession,
    card_id: uuid.UUID,
    *,
    suspended: bool | None = None,
    revoke: bool = False,
) -> None:
    """Flip the status bits of the card's live credentials (none minted yet: nothing to do)."""
    rows = await session.scalars(
        select(IssuedCredential).where(
            IssuedCredential.kind == "home_service",
            IssuedCredential.subject_id == card_id,
            IssuedCredential.revoked_at.is_(None),
        )
    )
    for row in rows:
        if suspended is not None:
            row.suspended = suspended
        if revoke:
            row.revoked_at = utcnow()


async def status_list_credential(
    session: AsyncSession, issuer: Issuer, purpose: str, list_no: int
) -> dict[str, Any]:
    low = list_no * statuslist.LIST_SIZE
    query = select(IssuedCredential.status_index).where(
        IssuedCredential.status_index >= low,
        IssuedCredential.status_index < low + statuslist.LIST_SIZE,
    )
    if purpose == "revocation":
        query = query.where(IssuedCredential.revoked_at.is_not(None))
    else:
        query = query.where(
            IssuedCredential.suspended.is_(True), IssuedCredential.revoked_at.is_(None)
        )
    indexes = [index - low for index in (await session.scalars(query)).all()]
    url = issuer.status_list_url(purpose, list_no)
    # Whole hours: the same bits within an hour give the very same signed document (Ed25519 is
    # deterministic), so ETags and caches work and validUntil never lies about a cached copy.
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    document = {
        "@context": [VC_V2],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer.did,
        "validFrom": timestamp(now),
        "validUntil": timestamp(now + STATUS_LIST_TTL),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": purpose,
            "encodedList": statuslist.encode(indexes),
        },
    }
    return sign(document, issuer.signer, created=now)
