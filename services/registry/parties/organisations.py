"""Routes for companies, training institutions, employers and partner platforms.

Registration and lists: officers and admins. Reading one record: officers and admins, plus the
organisation's own staff (company / institution role with that party id) or the employer
themself; anyone else whose role may read some records of the kind gets 404. Partner records
are for officers and admins only. Contact phones are masked except for those same people.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import Select, select

from contracts.common import City, County, EmploymentKind
from contracts.registry import InstitutionLevel, PartnerKind
from services.kit.app import ServiceContext, get_ctx
from services.kit.http import conditional_json
from services.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, encode_cursor
from services.kit.principal import Principal
from services.registry.parties import access, companies, employers, partners, records, views
from services.registry.parties.access import Action
from services.registry.parties.api import cipher_of
from services.registry.parties.models import (
    COMPANY_CONTACT_PHONE_CONTEXT,
    INSTITUTION_CONTACT_PHONE_CONTEXT,
    Company,
    Employer,
    Institution,
    Partner,
)
from services.registry.parties.schemas.employers import EmployerCreate, EmployerOut
from services.registry.parties.schemas.organisations import (
    CompanyCreate,
    CompanyOut,
    InstitutionCreate,
    InstitutionOut,
    OrganisationPatch,
)
from services.registry.parties.schemas.partners import (
    PartnerCreate,
    PartnerOut,
    PartnerStatus,
    PartnerStatusRequest,
)

router = APIRouter(prefix="/api/v1", tags=["organisations"])


async def _page(
    ctx: ServiceContext, query: Select[Any], model: Any, cursor: str | None, limit: int
) -> tuple[list[Any], str | None]:
    query = query.order_by(model.id).limit(limit + 1)
    if (after := decode_cursor(cursor)) is not None:
        query = query.where(model.id > after)
    async with ctx.db.read() as session:
        rows = list((await session.scalars(query)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1].id) if more else None


def _created(response: Response, path: str, record: Any) -> None:
    response.headers["Location"] = f"/api/v1/{path}/{record.id}"
    response.headers["ETag"] = views.etag(record)


# --- companies -----------------------------------------------------------------------------


@router.post("/companies", status_code=201, response_model=CompanyOut)
async def register_company(
    body: CompanyCreate,
    response: Response,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(access.policy(Action.COMPANY_REGISTER)),
) -> CompanyOut:
    """Register a household-service company (409 for a known credit code). Officers, admins."""
    access.require(principal, Action.COMPANY_REGISTER)
    cipher = cipher_of(ctx)
    async with ctx.db.write() as session:
        company = await companies.register_company(session, cipher, body, principal)
    _created(response, "companies", company)
    return views.company_out(company, cipher, full=True)


@router.get("/companies", response_model=Page[CompanyOut])
async def list_companies(
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(access.policy(Action.COMPANY_LIST)),
    county: County | None = Query(None),
    kind: EmploymentKind | None = Query(None),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[CompanyOut]:
    """Household-service companies, oldest first, filtered by county and kind. Officers, admins."""
    access.require(principal, Action.COMPANY_LIST)
    query = select(Company)
    if county is not None:
        query = query.where(Company.county == county)
    if kind is not None:
        query = query.where(Company.kind == kind)
    rows, next_cursor = await _page(ctx, query, Company, cursor, limit)
    cipher = cipher_of(ctx)
    return Page[CompanyOut](
        items=[
            views.company_out(c, cipher, full=access.sees_party_numbers(principal, "company", c))
            for c in rows
        ],
        next_cursor=next_cursor,
    )


@router.get("/companies/{company_id}", response_model=CompanyOut)
async def get_company(
    company_id: uuid.UUID,
    request: Request,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(access.policy(Action.COMPANY_READ)),
) -> Response:
    """A company's record; contact numbers in full only for its own staff, officers and admins."""
    access.require(principal, Action.COMPANY_READ)
    async with ctx.db.read() as session:
        company = await records.get_party(session, Company, company_id, "company")
    access.ensure_party(principal, "company", company)
    full = access.sees_party_numbers(principal, "company", company)
    out = views.company_out(company, cipher_of(ctx), full=full)
    return conditional_json(request, out, views.etag(company))


@router.patch("/companies/{company_id}", response_model=CompanyOut)
async def update_company(
    company_id: uuid.UUID,
    body: OrganisationPatch,
    request: Request,
    response: Response,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(access.policy(Action.COMPANY_UPDATE)),
) -> CompanyOut:
    """Representative, address, contact. The company's own staff, officers, admins; If-Match."""
    access.require(principal, Action.COMPANY_UPDATE)
    if_match = views.require_if_match(request)
    cipher = cipher_of(ctx)
    async with ctx.db.write() as session:
        company = await records.get_party(session, Company, company_id, "company")
        access.ensure_party(principal, "company", company)
        views.check_if_match(if_match, views.etag(company))
        await companies.update_organisation(
            session, cipher, company, body, COMPANY_CONTACT_PHONE_CONTEXT
        )
    response.headers["ETag"] = views.etag(company)
    return views.company_out(company, cipher, full=True)


# --- institutions --------------------------------------------------------------------------


@router.post("/institutions", status_code=201, response_model=InstitutionOut)
async def register_institution(
    body: InstitutionCreate,
    response: Response,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(access.policy(Action.INSTITUTION_REGISTER)),
) -> InstitutionOut:
    """Register a training institution (409 for a known credit code). Officers, admins."""
    access.require(principal, Action.INSTITUTION_REGISTER)
    cipher = cipher_of(ctx)
    async with ctx.db.write() as session:
        institution = await companies.register_institution(session, cipher, body, principal)
    _created(response, "institutions", institution)
    return views.institution_out(institution, cipher, full=True)


@router.get("/institutions", response_model=Page[InstitutionOut])
async def list_institutions(
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(access.policy(Action.INSTITUTION_LIST)),
    county: County | None = Query(None),
    level: InstitutionLevel | None = Query(None),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[InstitutionOut]:
    """Training institutions, oldest first, by county and demonstration level. Officers, admins."""
    access.require(principal, Action.INSTITUTION_LIST)
    query = select(Institution)
    if county is not None:
        query = query.where(Institution.county == county)
    if level is not None:
        query = query.where(Institution.level == level)
    rows, next_cursor = await _page(ctx, query, Institution, cursor, limit)
    cipher = cipher_of(ctx)
    return Page[InstitutionOut](
        items=[
            views.institution_out(
                i, cipher, full=access.sees_party_numbers(principal, "institution", i)
            )
            for i in rows
        ],
        next_cursor=next_cursor,
    )


@router.get("/institutions/{institution_id}", response_model=InstitutionOut)
async def get_institution(
    institution_id: uuid.UUID,
    request: Request,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(access.policy(Action.INSTITUTION_READ)),
) -> Response:
    """A training institution's record; contact numbers in full only for its own staff and
    officers."""
    access.require(principal, Action.INSTITUTION_READ)
    async with ctx.db.read() as session:
        institution = await records.get_party(session, Institution, institution_id, "institution")
    access.ensure_party(principal, "institution", institution)
    full = access.sees_party_numbers(principal, "institution", institution)
    out = views.institution_out(institution, cipher_of(ctx), full=full)
    return conditional_json(request, out, views.etag(institution))


@router.patch("/institutions/{institution_id}", response_model=InstitutionOut)
async def update_institution(
    institution_id: uuid.UUID,
    body: OrganisationPatch,
    request: Request,
    response: Response,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(access.policy(Action.INSTITUTION_UPDATE)),
) -> InstitutionOut:
    """Change an institution's contact and address (merge patch); its own staff, officers,
    admins; If-Match."""
    access.require(principal, Action.INSTITUTION_UPDATE)
    if_match = views.require_if_match(request)
    cipher = cipher_of(ctx)
    async with ctx.db.write() as session:
        institution = await records.get_party(session, Institution, institution_id, "institution")
        access.ensure_party(principal, "institution", institution)
        views.check_if_match(if_match, views.etag(institution))
        await companies.update_organisation(
            session, cipher, institution, body, INSTITUTION_CONTACT_PHONE_CONTEXT
        )
    response.headers["ETag"] = views.etag(institution)
    return views.institution_out(institution, cipher, full=True)


# --- employers -----------------------------------------------------------------------------


@router.post("/employers", status_code=201, response_model=EmployerOut)
async def register_employer(
    body: EmployerCreate,
    response: Response,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(access.policy(Action.EMPLOYER_REGISTER)),
) -> EmployerOut:
    """Register an employer household (409 for a known mobile number). Officers, admins."""
    access.require(principal, Action.EMPLOYER_REGISTER)
    cipher = cipher_of(ctx)
    async with ctx.db.write() as session:
        employer = await employers.register_employer(session, cipher, body, principal)
    _created(response, "employers", employer)
    return views.employer_out(employer, cipher, full=True)


@router.get("/employers", response_model=Page[EmployerOut])
async def list_employers(
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(access.policy(Action.EMPLOYER_LIST)),
    city: City | None = Query(None),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[EmployerOut]:
    """Registered employers (households), oldest first, filtered by city. Officers and admins."""
    access.require(principal, Action.EMPLOYER_LIST)
    query = select(Employer)
    if city is not None:
        query = query.where(Employer.city == city)
    rows, next_cursor = await _page(ctx, query, Employer, cursor, limit)
    cipher = cipher_of(ctx)
    return Page[EmployerOut](
        items=[
            views.employer_out(e, cipher, full=access.sees_party_numbers(principal, "employer", e))
            for e in rows
        ],
        next_cursor=next_cursor,
    )


@router.get("/employers/{employer_id}", response_model=EmployerOut)
async def get_employer(
    employer_id: uuid.UUID,
    request: Request,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(access.policy(Action.EMPLOYER_READ)),
) -> Response:
    """An employer's record: the employer themself, officers and admins."""
    access.require(principal, Action.EMPLOYER_READ)
    async with ctx.db.read() as session:
        employer = await records.get_party(session, Employer, employer_id, "employer")
    access.ensure_party(principal, "employer", employer)
    full = access.sees_party_numbers(principal, "employer", employer)
    out = views.employer_out(employer, cipher_of(ctx), full=full)
    return conditional_json(request, out, views.etag(employer))


# --- partners ------------------------------------------------------------------------------


@router.post("/partners", status_code=201, response_model=PartnerOut)
async def register_partner(
    body: PartnerCreate,
    response: Response,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(access.policy(Action.PARTNER_REGISTER)),
) -> PartnerOut:
    """Register a partner platform (its OAuth clients are made by identity). Officers, admins."""
    access.require(principal, Action.PARTNER_REGISTER)
    cipher = cipher_of(ctx)
    async with ctx.db.write() as session:
        partner = await partners.register_partner(session, cipher, body, principal)
    _created(response, "partners", partner)
    return views.partner_out(partner, cipher, full=True)


@router.get("/partners", response_model=Page[PartnerOut])
async def list_partners(
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(access.policy(Action.PARTNER_LIST)),
    city: City | None = Query(None),
    kind: PartnerKind | None = Query(None),
    status: PartnerStatus | None = Query(None),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[PartnerOut]:
    """Partner recruitment platforms, oldest first, by city, kind and status. Officers, admins."""
    access.require(principal, Action.PARTNER_LIST)
    query = select(Partner)
    if city is not None:
        query = query.where(Partner.city == city)
    if kind is not None:
        query = query.where(Partner.kind == kind)
    if status is not None:
        query = query.where(Partner.status == status)
    rows, next_cursor = await _page(ctx, query, Partner, cursor, limit)
    cipher = cipher_of(ctx)
    return Page[PartnerOut](
        items=[
            views.partner_out(p, cipher, full=access.sees_party_numbers(principal, "partner", p))
            for p in rows
        ],
        next_cursor=next_cursor,
    )


@router.get("/partners/{partner_id}", response_model=PartnerOut)
async def get_partner(
    partner_id: uuid.UUID,
    request: Request,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(access.policy(Action.PARTNER_READ)),
) -> Response:
    """A partner platform's record and status. Officers and admins."""
    access.require(principal, Action.PARTNER_READ)
    async with ctx.db.read() as session:
        partner = await records.get_party(session, Partner, partner_id, "partner")
    out = views.partner_out(partner, cipher_of(ctx), full=True)
    return conditional_json(request, out, views.etag(partner))


@router.post("/partners/{partner_id}/status", response_model=PartnerOut)
async def set_partner_status(
    partner_id: uuid.UUID,
    body: PartnerStatusRequest,
    response: Response,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(access.policy(Action.PARTNER_STATUS)),
) -> PartnerOut:
    """Suspend or reactivate a partner. Officers, admins."""
    access.require(principal, Action.PARTNER_STATUS)
    async with ctx.db.write() as session:
        partner = await records.get_party(session, Partner, partner_id, "partner")
        await partners.set_partner_status(session, partner, body.to)
    response.headers["ETag"] = views.etag(partner)
    return views.partner_out(partner, cipher_of(ctx), full=True)
