"""Programme statistics the registry answers (contracts/statistics.py): topic ``workers``.

Officers and admins only. Every figure is one ``GROUP BY`` on the registry's own tables.
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
    in_period,
    query_rows,
    report,
    statistics_filters,
    year_month,
)
from services.registry.parties.models import Company, Institution, Worker

router = APIRouter(prefix="/api/v1/statistics", tags=["statistics"])


async def workers_figures(ctx: ServiceContext, filters: StatisticsFilters) -> list[Figure]:
    county = [Worker.county == filters.county] if filters.county else []
    by_status = (
        select(Worker.county, Worker.status, func.count())
        .where(*county)
        .group_by(Worker.county, Worker.status)
        .order_by(Worker.county, Worker.status)
    )
    month = year_month(Worker.created_at)
    registrations = (
        select(month, func.count())
        .where(*county, *in_period(Worker.created_at, filters))
        .group_by(month)
        .order_by(month)
    )
    organisations = []
    for model in (Company, Institution):
        organisations.append(
            select(model.county, func.count())
            .where(*([model.county == filters.county] if filters.county else []))
            .group_by(model.county)
            .order_by(model.county)
        )
    return [
        figure(
            "workers_by_status_county",
            (
                "按状态和县区统计家政服务员",
                "按狀態和縣區統計家務助理",
                "Workers by status and county",
            ),
            unit="count",
            chart="stacked_bar",
            dimensions=["county", "status"],
            rows=await query_rows(ctx, by_status),
            filters_applied=["county"],
        ),
        figure(
            "registrations_by_month",
            ("每月登记人数", "每月登記人數", "Registrations per month"),
            unit="count",
            chart="line",
            dimensions=["month"],
            rows=await query_rows(ctx, registrations),
            filters_applied=["county", "period"],
        ),
        figure(
            "companies_by_county",
            ("按县区统计家政企业", "按縣區統計家務服務公司", "Companies by county"),
            unit="count",
            chart="bar",
            dimensions=["county"],
            rows=await query_rows(ctx, organisations[0]),
            filters_applied=["county"],
        ),
        figure(
            "institutions_by_county",
            ("按县区统计培训机构", "按縣區統計培訓機構", "Training institutions by county"),
            unit="count",
            chart="bar",
            dimensions=["county"],
            rows=await query_rows(ctx, organisations[1]),
            filters_applied=["county"],
        ),
    ]


@router.get("/workers", response_model=StatisticsReport, responses=RESPONSES)
async def workers_statistics(
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow(*STAFF)),
    filters: StatisticsFilters = Depends(statistics_filters),
) -> StatisticsReport:
    """Workers by status and county, registrations per month (county, period), companies and
    institutions by county. Officers and admins."""
    return report("workers", filters, await workers_figures(ctx, filters))
