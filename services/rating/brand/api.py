"""Brand routes under /api/v1/brand: typical cases and model workers with their photos, and
the nominations they come from. The roll, campaigns and counties are in roll_api.py.

Published cases are public; drafts and withdrawn cases exist only for officers and admins
(anyone else gets the same 404 as for an id that was never used), and the public view of a
case carries no worker or company id.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from sqlalchemy import select

from contracts.common import County
from services.kit.app import ServiceContext, get_ctx
from services.kit.errors import NotFound
from services.kit.http import conditional_json, etag_for
from services.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, keyset_page
from services.kit.policy import STAFF, allow, public
from services.kit.principal import Principal
from services.rating.brand import service
from services.rating.brand.models import BrandCase, BrandCasePhoto, BrandNomination
from services.rating.brand.roll_api import router as roll_router
from services.rating.brand.schemas import (
    CaseCreate,
    CaseKind,
    CaseOut,
    CaseState,
    Decision,
    NominationCreate,
    NominationOut,
    NominationStatus,
)

cases = APIRouter(prefix="/api/v1/brand", tags=["brand"])
OFFICERS = allow(*STAFF)


def case_out(case: BrandCase, has_photo: bool, principal: Principal | None) -> CaseOut:
    out = CaseOut(
        id=case.id,
        kind=case.kind,  # type: ignore[arg-type]
        state=case.state,  # type: ignore[arg-type]
        title=case.title,  # type: ignore[arg-type]
        body=case.body,  # type: ignore[arg-type]
        county=case.county,  # type: ignore[arg-type]
        source=case.source,  # type: ignore[arg-type]
        has_photo=has_photo,
        photo_url=f"/api/v1/brand/cases/{case.id}/photo" if has_photo else None,
        published_at=case.published_at,
    )
    if principal is not None and principal.is_privileged:
        out.worker_id, out.company_id = case.worker_id, case.company_id
        out.nomination_id, out.withdrawn_at = case.nomination_id, case.withdrawn_at
        out.created_at, out.updated_at = case.created_at, case.updated_at
    return out


async def _has_photo(ctx: ServiceContext, case_id: uuid.UUID) -> bool:
    async with ctx.db.read() as session:
        return (
            await session.scalar(
                select(BrandCasePhoto.case_id).where(BrandCasePhoto.case_id == case_id)
            )
            is not None
        )


@cases.post("/cases", status_code=201, response_model=CaseOut)
async def create_case(
    body: CaseCreate,
    response: Response,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(OFFICERS),
) -> CaseOut:
    """Write a typical case or model worker as a draft (officers, admins): its title and text
    in zh-CN, optionally zh-HK and English. A named worker must be registered (422)."""
    async with ctx.db.write() as session:
        case = await service.create_case(session, body, principal.subject)
    response.headers["Location"] = f"/api/v1/brand/cases/{case.id}"
    return case_out(case, False, principal)


@cases.get("/cases", response_model=Page[CaseOut])
async def list_cases(
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal | None = Depends(public()),
    kind: CaseKind | None = Query(None),
    county: County | None = Query(None),
    state: CaseState | None = Query(
        None, description="Only published cases exist for anyone but officers and admins"
    ),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[CaseOut]:
    """Cases, newest first. Public: published ones only; officers and admins see all of them.
    ``state`` narrows what the caller may see (for anyone else, only published cases exist)."""
    privileged = principal is not None and principal.is_privileged
    query = select(BrandCase, BrandCasePhoto.case_id).outerjoin(
        BrandCasePhoto, BrandCasePhoto.case_id == BrandCase.id
    )
    if not privileged:
        query = query.where(BrandCase.state == "published")
    if state is not None:
        query = query.where(BrandCase.state == state)
    if kind is not None:
        query = query.where(BrandCase.kind == kind)
    if county is not None:
        query = query.where(BrandCase.county == county)
    async with ctx.db.read() as session:
        rows, next_cursor = await keyset_page(
            session,
            query,
            BrandCase.id,
            cursor,
            limit,
            descending=True,
            whole_rows=True,
            key_of=lambda row: row[0].id,
        )
    return Page[CaseOut](
        items=[case_out(case, photo is not None, principal) for case, photo in rows],
        next_cursor=next_cursor,
    )


@cases.get("/cases/{case_id}", response_model=CaseOut)
async def get_case(
    case_id: uuid.UUID,
    request: Request,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal | None = Depends(public()),
) -> Response:
    """One case: public once published; drafts and withdrawn cases for officers only."""
    async with ctx.db.read() as session:
        case = await session.get(BrandCase, case_id)
    if case is None or not service.visible(case, principal):
        raise service.CaseNotFound(case_id)
    privileged = principal is not None and principal.is_privileged
    return conditional_json(
        request,
        case_out(case, await _has_photo(ctx, case_id), principal),
        etag_for(case.id, case.version, privileged),
    )


async def _set_state(
    ctx: ServiceContext, case_id: uuid.UUID, state: str, who: Principal
) -> CaseOut:
    async with ctx.db.write() as session:
        case = await service.set_state(session, case_id, state)
    return case_out(case, await _has_photo(ctx, case_id), who)


@cases.post("/cases/{case_id}/publish", response_model=CaseOut)
async def publish_case(
    case_id: uuid.UUID,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(OFFICERS),
) -> CaseOut:
    """Publish a draft or withdrawn case (officers, admins); 409 if it is published."""
    return await _set_state(ctx, case_id, "published", principal)


@cases.post("/cases/{case_id}/withdraw", response_model=CaseOut)
async def withdraw_case(
    case_id: uuid.UUID,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(OFFICERS),
) -> CaseOut:
    """Take a published case off the public pages (officers, admins); 409 otherwise."""
    return await _set_state(ctx, case_id, "withdrawn", principal)


#: Documented as bytes, the one binary type client generators support; image/jpeg and
#: image/png are accepted (and served to clients that accept images) too.
OCTET_STREAM = "application/octet-stream"
_BINARY = {OCTET_STREAM: {"schema": {"type": "string", "format": "binary"}}}
_PHOTO_BODY = {"requestBody": {"required": True, "content": _BINARY}}
_PHOTO_RESPONSE: dict[int | str, dict[str, object]] = {
    200: {"description": "The photo's bytes (JPEG or PNG)", "content": _BINARY}
}


def _accepts_image(request: Request, media_type: str) -> bool:
    """Whether the client's ``Accept`` names the photo's type or image/* (browsers do)."""
    accepted = [
        part.split(";")[0].strip().lower() for part in request.headers.get("accept", "").split(",")
    ]
    return media_type in accepted or "image/*" in accepted


@cases.put("/cases/{case_id}/photo", response_model=CaseOut, openapi_extra=_PHOTO_BODY)
async def put_case_photo(
    case_id: uuid.UUID,
    request: Request,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(OFFICERS),
) -> CaseOut:
    """Set (or replace) the case's photo (officers, admins): the raw bytes of a JPEG or PNG of
    at most 512 KiB, sent as ``image/jpeg``, ``image/png`` or ``application/octet-stream``
    (then told by its first bytes). Another type, or bytes that are not what the type says,
    is a 415; a larger file a 413."""
    declared = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if declared != OCTET_STREAM:
        service.check_photo_type(declared)  # before reading the body
    data = await request.body()
    media_type = service.sniff_photo(data) if declared == OCTET_STREAM else declared
    service.check_photo(media_type, data)
    async with ctx.db.write() as session:
        case = await service.put_photo(session, case_id, media_type, data, principal.subject)
    return case_out(case, True, principal)


@cases.get("/cases/{case_id}/photo", response_class=Response, responses=_PHOTO_RESPONSE)
async def get_case_photo(
    case_id: uuid.UUID,
    request: Request,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal | None = Depends(public()),
) -> Response:
    """The case's photo, with an ETag (304 for ``If-None-Match``): public once the case is
    published; 404 for a case without a photo or one the caller may not see. Served as
    ``image/jpeg`` or ``image/png`` when ``Accept`` names it or ``image/*`` (as browsers do),
    else as ``application/octet-stream``."""
    async with ctx.db.read() as session:
        case = await session.get(BrandCase, case_id)
        photo = (
            await session.get(BrandCasePhoto, case_id) if service.visible(case, principal) else None
        )
    if photo is None:
        raise NotFound("photo", case_id)
    etag = f'"{photo.sha256[:32]}"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    served = photo.media_type if _accepts_image(request, photo.media_type) else OCTET_STREAM
    return Response(photo.data, media_type=served, headers=headers)


# --- nominations ---------------------------------------------------------------------------


def nomination_out(n: BrandNomination) -> NominationOut:
    return NominationOut(
        id=n.id,
        kind=n.kind,  # type: ignore[arg-type]
        source=n.source,  # type: ignore[arg-type]
        title=n.title,  # type: ignore[arg-type]
        body=n.body,  # type: ignore[arg-type]
        county=n.county,  # type: ignore[arg-type]
        worker_id=n.worker_id,
        company_id=n.company_id,
        nominated_by=n.nominated_by,
        nominator_role=n.nominator_role,
        status=n.status,  # type: ignore[arg-type]
        created_at=n.created_at,
        decided_at=n.decided_at,
        decided_by=n.decided_by,
        decision_reason=n.decision_reason,
        case_id=n.case_id,
    )


@cases.post("/nominations", status_code=201, response_model=NominationOut)
async def nominate(
    body: NominationCreate,
    response: Response,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow("worker", "employer", "company")),
) -> NominationOut:
    """Nominate a typical case or a model worker. Workers and employers answer the open call;
    company staff recommend their own current workers (403 for another company's). The
    nominator comes from the token."""
    async with ctx.db.write() as session:
        nomination = await service.nominate(session, body, principal)
    response.headers["Location"] = f"/api/v1/brand/nominations/{nomination.id}"
    return nomination_out(nomination)


@cases.get("/nominations", response_model=Page[NominationOut], dependencies=[Depends(OFFICERS)])
async def list_nominations(
    ctx: ServiceContext = Depends(get_ctx),
    status: NominationStatus | None = Query(None),
    kind: CaseKind | None = Query(None),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[NominationOut]:
    """Nominations, oldest first (officers, admins), optionally by status and kind."""
    query = select(BrandNomination)
    if status is not None:
        query = query.where(BrandNomination.status == status)
    if kind is not None:
        query = query.where(BrandNomination.kind == kind)
    async with ctx.db.read() as session:
        rows, next_cursor = await keyset_page(session, query, BrandNomination.id, cursor, limit)
    return Page[NominationOut](items=[nomination_out(n) for n in rows], next_cursor=next_cursor)


async def _decide(
    ctx: ServiceContext, nomination_id: uuid.UUID, accept: bool, body: Decision | None, who: str
) -> NominationOut:
    async with ctx.db.write() as session:
        nomination = await service.decide(
            session, nomination_id, accept, body.reason if body else None, who
        )
    return nomination_out(nomination)


@cases.post("/nominations/{nomination_id}/accept", response_model=NominationOut)
async def accept_nomination(
    nomination_id: uuid.UUID,
    body: Decision | None = Body(None),
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(OFFICERS),
) -> NominationOut:
    """Accept a pending nomination: a draft case is written from it (its id in ``case_id``)
    for an officer to edit and publish. 409 once decided."""
    return await _decide(ctx, nomination_id, True, body, principal.subject)


@cases.post("/nominations/{nomination_id}/reject", response_model=NominationOut)
async def reject_nomination(
    nomination_id: uuid.UUID,
    body: Decision | None = Body(None),
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(OFFICERS),
) -> NominationOut:
    """Reject a pending nomination, with an optional reason. 409 once decided."""
    return await _decide(ctx, nomination_id, False, body, principal.subject)


router = APIRouter()
router.include_router(cases)
router.include_router(roll_router)
