"""Programme statistics rating answers (contracts/statistics.py): topic ``stars``.

Officers and admins only. One ``GROUP BY`` on rating's own levels; a worker's county comes from
rating's read model of registry workers (``worker_counties``, consumer ``rating-counties``).
The period selects assessment years: those the months ``from``..``to`` touch.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy import func, select

from contracts.statistics import Figure, StatisticsReport
from services.kit.app import ServiceContext, get_ctx
from services.kit.policy import STAFF, allow
from services.kit.principal import Principal
from services.kit.statistics import (
    RESPONSES,
    StatisticsFilters,
    figure,
    in_years,
    report,
    statistics_filters,
)
from services.rating.models import WorkerCounty, WorkerLevel

router = APIRouter(prefix="/api/v1/statistics", tags=["statistics"])


async def star_figures(ctx: ServiceContext, filters: StatisticsFilters) -> list[Figure]:
    async def distribution(provisional: bool) -> list[tuple[int, int, int]]:
        query = (
            select(WorkerLevel.year, WorkerLevel.stars, func.count())
            .where(WorkerLevel.provisional.is_(provisional), *in_years(WorkerLevel.year, filters))
            .group_by(WorkerLevel.year, WorkerLevel.stars)
            .order_by(WorkerLevel.year, WorkerLevel.stars)
        )
        if filters.county is not None:
            query = query.join(WorkerCounty, WorkerCounty.worker_id == WorkerLevel.worker_id).where(
                WorkerCounty.county == filters.county
            )
        async with ctx.db.read() as session:
            return [tuple(row) for row in (await session.execute(query)).all()]  # type: ignore[misc]

    return [
        figure(
            "stars_by_year",
            ("星级分布（已公布）", "星級分佈（已公佈）", "Star levels by assessment year"),
            unit="count",
            chart="stacked_bar",
            dimensions=["year", "stars"],
            rows=await distribution(False),
            filters_applied=["county", "period"],
        ),
        figure(
            "provisional_stars_by_year",
            ("星级分布（评定中，暂定）", "星級分佈（評定中，暫定）", "Provisional star levels"),
            unit="count",
            chart="stacked_bar",
            dimensions=["year", "stars"],
            rows=await distribution(True),
            filters_applied=["county", "period"],
        ),
    ]


@router.get("/stars", response_model=StatisticsReport, responses=RESPONSES)
async def star_statistics(
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow(*STAFF)),
    filters: StatisticsFilters = Depends(statistics_filters),
) -> StatisticsReport:
    """Published star levels by assessment year (and the provisional ones of open years).
    Officers, admins."""
    return report("stars", filters, await star_figures(ctx, filters))
