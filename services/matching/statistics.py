"""Programme statistics matching answers (contracts/statistics.py): topics ``jobs`` and
``fairs``.

Officers and admins only. Each figure is one ``GROUP BY`` on matching's own tables. Jobs carry
a city, not a county, so job figures honour the period only; fair hires honour the county
through matching's read model of registry workers (``candidates.county``): the hires of
workers registered in that county.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy import and_, func, select

from contracts.statistics import Figure, StatisticsReport
from services.kit.app import ServiceContext, get_ctx
from services.kit.policy import STAFF, allow
from services.kit.principal import Principal
from services.kit.statistics import (
    RESPONSES,
    StatisticsFilters,
    days_between,
    figure,
    in_period,
    query_rows,
    report,
    statistics_filters,
    year_month,
)
from services.matching.models import Candidate
from services.matching.recruitment.models import Application, Fair, HistoryEntry, Job

router = APIRouter(prefix="/api/v1/statistics", tags=["statistics"])


async def job_figures(ctx: ServiceContext, filters: StatisticsFilters) -> list[Figure]:
    posted = year_month(Job.created_at)
    jobs_posted = (
        select(posted, Job.city, func.count())
        .where(*in_period(Job.created_at, filters))
        .group_by(posted, Job.city)
    )
    # A job is filled when it first reaches "filled" (it may be reopened and filled again).
    first_filled = (
        select(HistoryEntry.entity_id.label("job_id"), func.min(HistoryEntry.at).label("at"))
        .where(HistoryEntry.entity == "job", HistoryEntry.to_status == "filled")
        .group_by(HistoryEntry.entity_id)
        .subquery()
    )
    filled_month = year_month(first_filled.c.at)
    filled = (
        select(
            filled_month,
            Job.city,
            func.count(),
            func.avg(days_between(first_filled.c.at, Job.created_at)),
        )
        .join(first_filled, first_filled.c.job_id == Job.id)
        .where(*in_period(first_filled.c.at, filters))
        .group_by(filled_month, Job.city)
    )
    filled_rows = sorted(await query_rows(ctx, filled))
    return [
        figure(
            "jobs_posted_by_month",
            ("每月发布岗位数", "每月發佈職位數", "Jobs posted per month"),
            unit="count",
            chart="stacked_bar",
            dimensions=["month", "city"],
            rows=sorted(await query_rows(ctx, jobs_posted)),
            filters_applied=["period"],
        ),
        figure(
            "jobs_filled_by_month",
            ("每月招满岗位数", "每月招滿職位數", "Jobs filled per month"),
            unit="count",
            chart="stacked_bar",
            dimensions=["month", "city"],
            rows=[(m, c, n) for m, c, n, _ in filled_rows],
            filters_applied=["period"],
        ),
        figure(
            "time_to_fill_by_month",
            ("平均招满用时（天）", "平均招滿用時（天）", "Mean time to fill (days)"),
            unit="days",
            chart="line",
            dimensions=["month", "city"],
            rows=[(m, c, round(float(days), 1)) for m, c, _, days in filled_rows],
            filters_applied=["period"],
        ),
    ]


async def fair_figures(ctx: ServiceContext, filters: StatisticsFilters) -> list[Figure]:
    held = year_month(Fair.fair_date)
    in_period_terms = in_period(Fair.fair_date, filters)
    fairs = select(held, Fair.city, func.count()).where(*in_period_terms).group_by(held, Fair.city)
    hire_terms = [Application.fair_id == Fair.id, Application.status == "hired"]
    if filters.county is not None:
        hire_terms.append(
            Application.worker_id.in_(
                select(Candidate.worker_id).where(Candidate.county == filters.county)
            )
        )
    hires = (
        select(Fair.title, Fair.fair_date, Fair.city, func.count(Application.id))
        .outerjoin(Application, and_(*hire_terms))
        .where(*in_period_terms)
        .group_by(Fair.id, Fair.title, Fair.fair_date, Fair.city)
        .order_by(Fair.fair_date, Fair.title)
    )
    return [
        figure(
            "fairs_by_month",
            ("每月招聘会场次", "每月招聘會場次", "Recruitment fairs per month"),
            unit="count",
            chart="bar",
            dimensions=["month", "city"],
            rows=sorted(await query_rows(ctx, fairs)),
            filters_applied=["period"],
        ),
        figure(
            "fair_hires",
            ("招聘会及其录用人数", "招聘會及其錄用人數", "Fairs and their hires"),
            unit="count",
            chart="table",
            dimensions=["fair", "fair_date", "city"],
            rows=await query_rows(ctx, hires),
            filters_applied=["county", "period"],
        ),
    ]


OFFICERS = allow(*STAFF)


@router.get("/jobs", response_model=StatisticsReport, responses=RESPONSES)
async def job_statistics(
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(OFFICERS),
    filters: StatisticsFilters = Depends(statistics_filters),
) -> StatisticsReport:
    """Jobs posted and filled per month by city, and the mean days from posting to filled.
    Officers, admins."""
    return report("jobs", filters, await job_figures(ctx, filters))


@router.get("/fairs", response_model=StatisticsReport, responses=RESPONSES)
async def fair_statistics(
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(OFFICERS),
    filters: StatisticsFilters = Depends(statistics_filters),
) -> StatisticsReport:
    """Fairs per month by city, and each fair with its hires. Officers, admins."""
    return report("fairs", filters, await fair_figures(ctx, filters))
