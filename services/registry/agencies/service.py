"""Agencies, their keys, clients and data-sharing agreements: the domain operations.

Each runs in the caller's transaction and does not authorise (the routes do). What an agency
may receive is decided here and only here: :func:`grants_in_force` (the token grant and every
feed read ask it), from the agreements whose validity period contains *now* and that were not
revoked — so an expired agreement stops a feed within the same request, not at token expiry.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.registry import AgencyKeyChanged, AgencyStatusChanged, AgreementChanged
from services.kit.errors import Conflict, InvalidField, NotFound
from services.kit.ids import new_id
from services.kit.outbox import publish, publish_many
from services.kit.principal import Principal
from services.kit.signed_imports import public_key
from services.kit.suspensions import record as record_standing
from services.kit.types import utcnow
from services.registry.agencies.datasets import scope_of
from services.registry.agencies.models import Agency, AgencyKey, SharingAgreement
from services.registry.agencies.schemas import AgencyCreate, AgencyKeyCreate, AgreementCreate
from services.registry.identity.models import CLIENT_ID_PREFIX, OAuthClient
from services.registry.identity.passwords import Passwords
from services.registry.parties.records import actor_id, credit_code_free, flush_unique

log = logging.getLogger(__name__)
AGENCY = "agency"


async def get_agency(session: AsyncSession, agency_id: uuid.UUID, *, lock: bool = False) -> Agency:
    agency = await session.get(Agency, agency_id, with_for_update=lock)
    if agency is None:
        raise NotFound("agency", agency_id)
    return agency


async def register_agency(session: AsyncSession, data: AgencyCreate, actor: Principal) -> Agency:
    """409 ``duplicate-agency`` for a known credit code."""
    detail = await credit_code_free(session, Agency, data.credit_code, AGENCY)
    now = utcnow()
    agency = Agency(
        id=new_id(),
        kind=data.kind,
        level=data.level,
        name=data.name,
        credit_code=data.credit_code,
        status="active",
        version=1,
        created_by=actor_id(actor),
        created_at=now,
        updated_at=now,
    )
    session.add(agency)
    await flush_unique(session, detail, "duplicate-agency")
    log.info("agency registered", extra={"agency_id": str(agency.id), "kind": agency.kind})
    return agency


async def set_agency_status(session: AsyncSession, agency: Agency, status: str) -> Agency:
    """Suspending revokes the agency's OAuth clients in this transaction (no new tokens); the
    change is published (AgencyStatusChanged) and kept in ``kit_party_standing``, so every
    service refuses the agency's unexpired tokens while it is suspended."""
    if agency.status == status:
        raise Conflict(f"The agency is already {status}", slug="invalid-transition")
    now = utcnow()
    agency.status = status
    agency.version += 1
    agency.updated_at = now
    await record_standing(session, "agency", str(agency.id), status, now)
    await publish(
        session,
        AgencyStatusChanged(agency_id=str(agency.id), status=status, changed_at=now),  # type: ignore[arg-type]
    )
    # Credit's and matching's read models of the agreements learn it with the agreements.
    standing = "active" if status == "active" else "agency_suspended"
    agreements = await session.scalars(
        select(SharingAgreement).where(
            SharingAgreement.agency_id == agency.id, SharingAgreement.revoked_at.is_(None)
        )
    )
    await publish_many(session, [agreement_changed(a, standing) for a in agreements])
    if status != "active":
        await session.execute(
            update(OAuthClient)
            .where(
                OAuthClient.partner_id == agency.id,
                OAuthClient.party_kind == AGENCY,
                OAuthClient.active.is_(True),
            )
            .values(active=False, revoked_at=utcnow())
        )
    await session.flush()
    return agency


def _public_key(jwk: dict[str, str]) -> Ed25519PublicKey:
    try:
        return public_key(jwk)
    except (ValueError, jwt.PyJWTError):
        raise InvalidField("x", "is not an Ed25519 public key") from None


def agency_key_changed(key: AgencyKey) -> AgencyKeyChanged:
    """The key's whole state, for the services that accept signed imports (matching)."""
    return AgencyKeyChanged(
        agency_id=str(key.agency_id),
        kid=key.kid,
        jwk=dict(key.jwk),
        status="active" if key.active else "revoked",
        changed_at=key.revoked_at or key.created_at,
    )


async def add_key(
    session: AsyncSession, agency: Agency, data: AgencyKeyCreate, actor: Principal
) -> AgencyKey:
    """Register a signing key; 409 ``duplicate-key`` for a kid in use, 422 for a bad key."""
    jwk = {"kty": data.kty, "crv": data.crv, "x": data.x}
    _public_key(jwk)
    if await session.get(AgencyKey, data.kid) is not None:
        raise Conflict(f"Key id {data.kid} is already registered", slug="duplicate-key")
    key = AgencyKey(
        kid=data.kid,
        agency_id=agency.id,
        jwk=jwk,
        active=True,
        created_by=actor_id(actor),
        created_at=utcnow(),
        revoked_at=None,
    )
    session.add(key)
    await flush_unique(session, f"Key id {data.kid} is already registered", "duplicate-key")
    await publish(session, agency_key_changed(key))
    return key


async def public_keys(session: AsyncSession, agency_id: uuid.UUID) -> dict[str, Ed25519PublicKey]:
    """The agency's active signing keys by kid."""
    keys = await session.scalars(
        select(AgencyKey).where(AgencyKey.agency_id == agency_id, AgencyKey.active.is_(True))
    )
    return {k.kid: _public_key(k.jwk) for k in keys}


async def create_agreement(
    session: AsyncSession, agency: Agency, data: AgreementCreate, actor: Principal
) -> SharingAgreement:
    agreement = SharingAgreement(
        id=new_id(),
        agency_id=agency.id,
        reference=data.reference,
        legal_basis=data.legal_basis,
        purpose=data.purpose,
        datasets={name: list(fields) for name, fields in data.datasets.items()},
        retention_days=data.retention_days,
        valid_from=data.valid_from,
        valid_until=data.valid_until,
        created_by=actor_id(actor),
        created_at=utcnow(),
        revoked_at=None,
    )
    session.add(agreement)
    await session.flush()
    await publish(session, agreement_changed(agreement, _standing(agency)))
    log.info(
        "sharing agreement created",
        extra={"agency_id": str(agency.id), "agreement_id": str(agreement.id)},
    )
    return agreement


def _standing(agency: Agency) -> str:
    return "active" if agency.status == "active" else "agency_suspended"


def agreement_changed(agreement: SharingAgreement, standing: str) -> AgreementChanged:
    """The agreement's whole state, for the services that serve agencies their data."""
    return AgreementChanged(
        agreement_id=str(agreement.id),
        agency_id=str(agreement.agency_id),
        datasets={name: list(fields) for name, fields in agreement.datasets.items()},
        purpose=agreement.purpose,
        retention_days=agreement.retention_days,
        valid_from=agreement.valid_from,
        valid_until=agreement.valid_until,
        status="revoked" if agreement.revoked_at is not None else standing,  # type: ignore[arg-type]
        changed_at=utcnow(),
    )


async def get_agreement(
    session: AsyncSession, agency_id: uuid.UUID, agreement_id: uuid.UUID, *, lock: bool = False
) -> SharingAgreement:
    agreement = await session.get(SharingAgreement, agreement_id, with_for_update=lock)
    if agreement is None or agreement.agency_id != agency_id:
        raise NotFound("agreement", agreement_id)
    return agreement


async def revoke_agreement(
    session: AsyncSession, agency: Agency, agreement: SharingAgreement, actor: Principal
) -> SharingAgreement:
    """End an agreement now (409 ``invalid-transition`` when already revoked). The registry's
    feeds and token grant stop at once (they read this row); credit and matching stop as soon
    as they apply the event published in this transaction."""
    if agreement.revoked_at is not None:
        raise Conflict("The agreement is already revoked", slug="invalid-transition")
    agreement.revoked_at = utcnow()
    await session.flush()
    await publish(session, agreement_changed(agreement, _standing(agency)))
    log.info(
        "sharing agreement revoked",
        extra={
            "agency_id": str(agency.id),
            "agreement_id": str(agreement.id),
            "by": actor_id(actor),
        },
    )
    return agreement


async def revoke_key(
    session: AsyncSession, agency_id: uuid.UUID, kid: str, actor: Principal
) -> AgencyKey:
    """Stop accepting files signed with a key, from this commit on (409 when already)."""
    key = await session.get(AgencyKey, kid, with_for_update=True)
    if key is None or key.agency_id != agency_id:
        raise NotFound("agency key", kid)
    if not key.active:
        raise Conflict(f"Key {kid} is already revoked", slug="invalid-transition")
    key.active = False
    key.revoked_at = utcnow()
    await session.flush()
    await publish(session, agency_key_changed(key))
    log.info("agency key revoked", extra={"kid": kid, "by": actor_id(actor)})
    return key


async def republish_keys(session: AsyncSession) -> int:
    """Publish every key's current state again (keys registered before the event existed, or
    a consumer to seed); the consumers keep the latest change, so a repeat is harmless."""
    keys = (await session.scalars(select(AgencyKey).order_by(AgencyKey.created_at))).all()
    await publish_many(session, [agency_key_changed(key) for key in keys])
    return len(keys)


def in_force(agreement: SharingAgreement, now: datetime) -> bool:
    return agreement.revoked_at is None and agreement.valid_from <= now < agreement.valid_until


@dataclass(frozen=True)
class Grant:
    """What an agency may exchange of one dataset now, and under which agreements."""

    dataset: str
    fields: frozenset[str]
    agreement_ids: tuple[str, ...]
    purposes: tuple[str, ...]
    #: The longest retention among them (stated on each page sent; None: not stated).
    retention_days: int | None = None


async def grants_in_force(
    session: AsyncSession, agency_id: uuid.UUID, now: datetime | None = None
) -> dict[str, Grant]:
    """Dataset → grant, from the agency's agreements in force (none if it is not active)."""
    now = now or utcnow()
    status = await session.scalar(select(Agency.status).where(Agency.id == agency_id))
    if status != "active":
        return {}
    agreements = await session.scalars(
        select(SharingAgreement)
        .where(
            SharingAgreement.agency_id == agency_id,
            SharingAgreement.revoked_at.is_(None),
            SharingAgreement.valid_from <= now,
            SharingAgreement.valid_until > now,
        )
        .order_by(SharingAgreement.created_at)
    )
    fields: dict[str, set[str]] = {}
    ids: dict[str, list[str]] = {}
    purposes: dict[str, list[str]] = {}
    retention: dict[str, int] = {}
    for agreement in agreements:
        for dataset, names in agreement.datasets.items():
            fields.setdefault(dataset, set()).update(names)
            ids.setdefault(dataset, []).append(str(agreement.id))
            purposes.setdefault(dataset, []).append(agreement.purpose)
            retention[dataset] = max(retention.get(dataset, 0), agreement.retention_days)
    return {
        d: Grant(d, frozenset(fields[d]), tuple(ids[d]), tuple(purposes[d]), retention[d])
        for d in fields
    }


async def scopes_in_force(session: AsyncSession, agency_id: uuid.UUID) -> set[str]:
    return {scope_of(d) for d in await grants_in_force(session, agency_id)}


async def new_secret(passwords: Passwords) -> tuple[str, str]:
    """(secret, its hash); hash outside the write transaction (argon2 is slow)."""
    secret = secrets.token_urlsafe(32)
    return secret, await passwords.hash(secret)


async def create_client(
    session: AsyncSession, secret_hash: str, agency_id: uuid.UUID, name: str, actor: Principal
) -> OAuthClient:
    """An OAuth client for an active agency (409 when suspended). Its scopes are not stored:
    each token gets those of the agreements in force when it is issued."""
    agency = await get_agency(session, agency_id, lock=True)
    if agency.status != "active":
        raise Conflict(
            f"The agency is {agency.status}; reactivate it before giving it clients",
            slug="agency-not-active",
        )
    client = OAuthClient(
        client_id=CLIENT_ID_PREFIX + secrets.token_hex(12),
        secret_hash=secret_hash,
        partner_id=agency.id,
        party_kind=AGENCY,
        name=name,
        scopes=[],
        active=True,
        created_by=actor_id(actor),
        created_at=utcnow(),
        last_used_at=None,
        revoked_at=None,
    )
    session.add(client)
    await session.flush()
    return client
