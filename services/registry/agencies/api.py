"""Routes of agencies as parties: ``/api/v1/agencies`` with their OAuth clients, signing keys
and data-sharing agreements. Officers and admins manage them (clients: admins only, as for
partner platforms); an agency may read its own record, keys and agreements."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Path, Query, Response
from sqlalchemy import select

from services.kit.app import ServiceContext, get_ctx
from services.kit.errors import NotFound
from services.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, keyset_page
from services.kit.policy import STAFF, allow
from services.kit.principal import Principal
from services.kit.types import utcnow
from services.registry.agencies import service
from services.registry.agencies.models import Agency, AgencyKey, SharingAgreement
from services.registry.agencies.schemas import (
    AgencyClientCreate,
    AgencyClientCreated,
    AgencyClientOut,
    AgencyCreate,
    AgencyKeyCreate,
    AgencyKeyOut,
    AgencyKind,
    AgencyOut,
    AgencyStatusChange,
    AgreementCreate,
    AgreementOut,
)
from services.registry.identity.models import OAuthClient

router = APIRouter(prefix="/api/v1", tags=["agencies"])
NO_STORE = {"Cache-Control": "no-store"}


def agency_out(agency: Agency) -> AgencyOut:
    return AgencyOut.model_validate(agency, from_attributes=True)


def agreement_out(agreement: SharingAgreement) -> AgreementOut:
    return AgreementOut(
        id=agreement.id,
        agency_id=agreement.agency_id,
        reference=agreement.reference,
        legal_basis=agreement.legal_basis,
        purpose=agreement.purpose,
        datasets=agreement.datasets,
        retention_days=agreement.retention_days,
        valid_from=agreement.valid_from,
        valid_until=agreement.valid_until,
        in_force=service.in_force(agreement, utcnow()),
        created_by=agreement.created_by,
        created_at=agreement.created_at,
        revoked_at=agreement.revoked_at,
    )


def key_out(key: AgencyKey) -> AgencyKeyOut:
    return AgencyKeyOut.model_validate(key, from_attributes=True)


def client_out(client: OAuthClient) -> AgencyClientOut:
    return AgencyClientOut(
        client_id=client.client_id,
        agency_id=client.partner_id,
        name=client.name,
        active=client.active,
        created_at=client.created_at,
        last_used_at=client.last_used_at,
        revoked_at=client.revoked_at,
    )


def _staff_or_self(principal: Principal, agency_id: uuid.UUID) -> None:
    """Officers, admins, or the agency itself; anyone else is told it does not exist."""
    if principal.is_privileged or (principal.role == "agency" and principal.acts_for(agency_id)):
        return
    raise NotFound("agency", agency_id)


@router.post("/agencies", status_code=201, response_model=AgencyOut)
async def register_agency(
    body: AgencyCreate,
    response: Response,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow(*STAFF)),
) -> AgencyOut:
    """Register a government agency or public employment service platform (officers, admins).
    It gets data only through data-sharing agreements."""
    async with ctx.db.write() as session:
        agency = await service.register_agency(session, body, principal)
    response.headers["Location"] = f"/api/v1/agencies/{agency.id}"
    return agency_out(agency)


@router.get("/agencies", response_model=Page[AgencyOut])
async def list_agencies(
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow(*STAFF)),
    kind: AgencyKind | None = Query(None),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[AgencyOut]:
    """Agencies, oldest first (officers, admins)."""
    query = select(Agency)
    if kind is not None:
        query = query.where(Agency.kind == kind)
    async with ctx.db.read() as session:
        rows, next_cursor = await keyset_page(session, query, Agency.id, cursor, limit)
    return Page[AgencyOut](items=[agency_out(a) for a in rows], next_cursor=next_cursor)


@router.get("/agencies/{agency_id}", response_model=AgencyOut)
async def get_agency(
    agency_id: uuid.UUID,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow(*STAFF, "agency")),
) -> AgencyOut:
    """An agency's record: officers, admins and the agency itself."""
    _staff_or_self(principal, agency_id)
    async with ctx.db.read() as session:
        return agency_out(await service.get_agency(session, agency_id))


@router.post("/agencies/{agency_id}/status", response_model=AgencyOut)
async def change_agency_status(
    agency_id: uuid.UUID,
    body: AgencyStatusChange,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow(*STAFF)),
) -> AgencyOut:
    """Suspend (revokes its OAuth clients and stops its feeds at once) or reactivate."""
    async with ctx.db.write() as session:
        agency = await service.get_agency(session, agency_id, lock=True)
        await service.set_agency_status(session, agency, body.status)
    return agency_out(agency)


@router.post("/agencies/{agency_id}/clients", status_code=201, response_model=AgencyClientCreated)
async def create_agency_client(
    agency_id: uuid.UUID,
    body: AgencyClientCreate,
    response: Response,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow("admin")),
) -> AgencyClientCreated:
    """An OAuth2 client (client credentials at ``POST /api/v1/auth/token``) for an active
    agency. Admins. Its tokens carry the scopes of the agreements in force when issued. The
    secret is in this response only."""
    passwords = ctx.extras["partner_clients"].passwords
    secret, secret_hash = await service.new_secret(passwords)
    async with ctx.db.write() as session:
        client = await service.create_client(session, secret_hash, agency_id, body.name, principal)
    response.headers.update(NO_STORE)
    response.headers["Location"] = f"/api/v1/agencies/{agency_id}/clients/{client.client_id}"
    return AgencyClientCreated(**client_out(client).model_dump(), client_secret=secret)


@router.get("/agencies/{agency_id}/clients", response_model=list[AgencyClientOut])
async def list_agency_clients(
    agency_id: uuid.UUID,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow("admin")),
) -> list[AgencyClientOut]:
    """An agency's OAuth clients (never the secrets). Admins."""
    async with ctx.db.read() as session:
        await service.get_agency(session, agency_id)
        clients = await session.scalars(
            select(OAuthClient)
            .where(OAuthClient.partner_id == agency_id, OAuthClient.party_kind == "agency")
            .order_by(OAuthClient.created_at, OAuthClient.client_id)
        )
        return [client_out(c) for c in clients]


@router.post("/agencies/{agency_id}/keys", status_code=201, response_model=AgencyKeyOut)
async def add_agency_key(
    agency_id: uuid.UUID,
    body: AgencyKeyCreate,
    response: Response,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow(*STAFF)),
) -> AgencyKeyOut:
    """Register an Ed25519 public key (JWK) the agency signs its files with (officers,
    admins): imports from the agency are accepted only with a valid signature by one."""
    async with ctx.db.write() as session:
        agency = await service.get_agency(session, agency_id)
        key = await service.add_key(session, agency, body, principal)
    response.headers["Location"] = f"/api/v1/agencies/{agency_id}/keys/{key.kid}"
    return key_out(key)


@router.get("/agencies/{agency_id}/keys", response_model=list[AgencyKeyOut])
async def list_agency_keys(
    agency_id: uuid.UUID,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow(*STAFF, "agency")),
) -> list[AgencyKeyOut]:
    """The agency's registered signing keys: officers, admins and the agency itself."""
    _staff_or_self(principal, agency_id)
    async with ctx.db.read() as session:
        await service.get_agency(session, agency_id)
        keys = await session.scalars(
            select(AgencyKey).where(AgencyKey.agency_id == agency_id).order_by(AgencyKey.kid)
        )
        return [key_out(k) for k in keys]


@router.post("/agencies/{agency_id}/agreements", status_code=201, response_model=AgreementOut)
async def create_agreement(
    agency_id: uuid.UUID,
    body: AgreementCreate,
    response: Response,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow(*STAFF)),
) -> AgreementOut:
    """Record a data-sharing agreement (officers, admins): the datasets and the fields of
    each the agency may receive or send, legal basis, purpose, retention and validity."""
    async with ctx.db.write() as session:
        agency = await service.get_agency(session, agency_id)
        agreement = await service.create_agreement(session, agency, body, principal)
    response.headers["Location"] = f"/api/v1/agencies/{agency_id}/agreements/{agreement.id}"
    return agreement_out(agreement)


@router.get("/agencies/{agency_id}/agreements", response_model=list[AgreementOut])
async def list_agreements(
    agency_id: uuid.UUID,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow(*STAFF, "agency")),
) -> list[AgreementOut]:
    """The agency's agreements, in force or not: officers, admins and the agency itself."""
    _staff_or_self(principal, agency_id)
    async with ctx.db.read() as session:
        await service.get_agency(session, agency_id)
        rows = await session.scalars(
            select(SharingAgreement)
            .where(SharingAgreement.agency_id == agency_id)
            .order_by(SharingAgreement.created_at)
        )
        return [agreement_out(a) for a in rows]


@router.post("/agencies/{agency_id}/agreements/{agreement_id}/revoke", response_model=AgreementOut)
async def revoke_agreement(
    agency_id: uuid.UUID,
    agreement_id: uuid.UUID,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow(*STAFF)),
) -> AgreementOut:
    """End a data-sharing agreement now (officers, admins): from this commit the registry's
    feeds and imports refuse what only it granted, and new tokens lack its scopes; credit and
    matching refuse their feeds as soon as they apply its ``registry.agreement.changed``
    event. Tokens already issued keep their scopes but every read checks the agreement."""
    async with ctx.db.write() as session:
        agency = await service.get_agency(session, agency_id)
        agreement = await service.get_agreement(session, agency_id, agreement_id, lock=True)
        await service.revoke_agreement(session, agency, agreement, principal)
    return agreement_out(agreement)


@router.post("/agencies/{agency_id}/keys/{kid}/revoke", response_model=AgencyKeyOut)
async def revoke_agency_key(
    agency_id: uuid.UUID,
    kid: str = Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$"),
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow(*STAFF)),
) -> AgencyKeyOut:
    """Revoke an agency's signing key (officers, admins): files signed with it are refused
    from this commit on (a key suspected lost or leaked)."""
    async with ctx.db.write() as session:
        await service.get_agency(session, agency_id)
        key = await service.revoke_key(session, agency_id, kid, principal)
    return key_out(key)
