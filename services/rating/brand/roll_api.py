"""Public brand lists under /api/v1/brand: the 技术能手 roll (from training's awards), the
百户十强 companies of each campaign year and the county sub-brands. Officers and admins write
the campaigns and county brands; everyone reads them."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy import func, select

from contracts.common import County, Track
from services.kit.app import ServiceContext, get_ctx
from services.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, keyset_page
from services.kit.policy import STAFF, allow, public
from services.kit.principal import Principal
from services.rating.brand import service
from services.rating.brand.models import BrandWorker, CountyBrand, SkillMaster, TopCompany
from services.rating.brand.schemas import (
    BrandCounty,
    CountyBrandOut,
    CountyBrandPut,
    SkillMasterOut,
    TopCompaniesPut,
    TopCompanyOut,
)
from services.rating.schemas import MAX_YEAR, MIN_YEAR

router = APIRouter(prefix="/api/v1/brand", tags=["brand"])
OFFICERS = allow(*STAFF)


@router.get("/skill-masters", response_model=Page[SkillMasterOut], dependencies=[Depends(public())])
async def list_skill_masters(
    ctx: ServiceContext = Depends(get_ctx),
    year: int | None = Query(None, ge=MIN_YEAR, le=MAX_YEAR),
    track: Track | None = Query(None),
    county: County | None = Query(None),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[SkillMasterOut]:
    """The 肇庆市技术能手 roll, newest award first: each winner's masked name, competition,
    track, rank, year and county (once the registry has told us). Public."""
    query = select(SkillMaster, BrandWorker).outerjoin(
        BrandWorker, BrandWorker.worker_id == SkillMaster.worker_id
    )
    if year is not None:
        query = query.where(SkillMaster.year == year)
    if track is not None:
        query = query.where(SkillMaster.track == track)
    if county is not None:
        query = query.where(BrandWorker.county == county)
    async with ctx.db.read() as session:
        rows, next_cursor = await keyset_page(
            session,
            query,
            SkillMaster.id,
            cursor,
            limit,
            descending=True,
            whole_rows=True,
            key_of=lambda row: row[0].id,
        )
    return Page[SkillMasterOut](
        items=[
            SkillMasterOut(
                name=worker.masked_name if worker else None,
                competition=award.competition_title,
                track=award.track,
                rank=award.rank,
                year=award.year,
                county=worker.county if worker else None,
            )
            for award, worker in rows
        ],
        next_cursor=next_cursor,
    )


def top_out(row: TopCompany) -> TopCompanyOut:
    return TopCompanyOut(
        year=row.year,
        rank=row.rank,
        name=row.name,  # type: ignore[arg-type]
        county=row.county,  # type: ignore[arg-type]
        company_id=row.company_id,
        citation=row.citation,  # type: ignore[arg-type]
    )


@router.put("/top-companies/{year}", response_model=list[TopCompanyOut])
async def put_top_companies(
    body: TopCompaniesPut,
    year: int = Path(ge=MIN_YEAR, le=MAX_YEAR),
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(OFFICERS),
) -> list[TopCompanyOut]:
    """Record a campaign year's 百户十强: exactly ten companies, ranks 1 to 10 once each
    (officers, admins). Replaces what the year had."""
    async with ctx.db.write() as session:
        rows = await service.put_top_companies(session, year, body, principal.subject)
    return [top_out(row) for row in rows]


@router.get("/top-companies", response_model=Page[TopCompanyOut], dependencies=[Depends(public())])
async def list_top_companies(
    ctx: ServiceContext = Depends(get_ctx),
    year: int | None = Query(
        None, ge=MIN_YEAR, le=MAX_YEAR, description="Default: the latest year recorded"
    ),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[TopCompanyOut]:
    """A campaign year's 百户十强 companies in rank order. Public."""
    async with ctx.db.read() as session:
        if year is None:
            year = await session.scalar(select(func.max(TopCompany.year)))
        if year is None:
            return Page[TopCompanyOut](items=[], next_cursor=None)
        query = select(TopCompany).where(TopCompany.year == year)
        rows, next_cursor = await keyset_page(session, query, TopCompany.id, cursor, limit)
    return Page[TopCompanyOut](items=[top_out(row) for row in rows], next_cursor=next_cursor)


def county_out(row: CountyBrand) -> CountyBrandOut:
    return CountyBrandOut(
        county=row.county,  # type: ignore[arg-type]
        name=row.name,  # type: ignore[arg-type]
        slogan=row.slogan,  # type: ignore[arg-type]
        description=row.description,  # type: ignore[arg-type]
        updated_at=row.updated_at,
    )


@router.put("/counties/{county}", response_model=CountyBrandOut)
async def put_county_brand(
    county: BrandCounty,
    body: CountyBrandPut,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(OFFICERS),
) -> CountyBrandOut:
    """Set a county's sub-brand: name, slogan and description (officers, admins)."""
    async with ctx.db.write() as session:
        row = await service.put_county(session, county, body, principal.subject)
    return county_out(row)


@router.get("/counties", response_model=Page[CountyBrandOut], dependencies=[Depends(public())])
async def list_county_brands(
    ctx: ServiceContext = Depends(get_ctx),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[CountyBrandOut]:
    """The county sub-brands of the city's brand matrix. Public."""
    async with ctx.db.read() as session:
        rows, next_cursor = await keyset_page(
            session, select(CountyBrand), CountyBrand.id, cursor, limit
        )
    return Page[CountyBrandOut](items=[county_out(row) for row in rows], next_cursor=next_cursor)
