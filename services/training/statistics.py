"""Programme statistics training answers (contracts/statistics.py): topics ``training``,
``subsidies`` and ``training-bases``.

Officers and admins only. Each figure is one ``GROUP BY`` on training's own tables; a worker's
county comes from training's read model of registry workers (``known_workers``), so the county
filter counts the enrolments and claims of workers registered in that county.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from sqlalchemy import Select, case, func, select

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
from services.training.bases import service as bases
from services.training.bases.models import TrainingBase
from services.training.models import COMPLETED, Course, Enrollment, KnownWorker
from services.training.subsidies.models import SubsidyClaim

router = APIRouter(prefix="/api/v1/statistics", tags=["statistics"])

#: The programme's target when no training-base policy has been stored ("2 provincial, 6
#: municipal" demonstration bases); a stored policy's targets win and are reported with its
#: version.
DEFAULT_BASE_TARGETS = {"provincial_demonstration": 2, "municipal_demonstration": 6}


def _in_county(query: Select[Any], worker_id: Any, filters: StatisticsFilters) -> Select[Any]:
    if filters.county is None:
        return query
    return query.join(KnownWorker, KnownWorker.worker_id == worker_id).where(
        KnownWorker.county == filters.county
    )


async def training_figures(ctx: ServiceContext, filters: StatisticsFilters) -> list[Figure]:
    enrolled = year_month(Enrollment.enrolled_at)
    enrolments = _in_county(
        select(enrolled, Course.track, Course.training_type, func.count())
        .join(Course, Course.id == Enrollment.course_id)
        .where(*in_period(Enrollment.enrolled_at, filters)),
        Enrollment.worker_id,
        filters,
    ).group_by(enrolled, Course.track, Course.training_type)
    completed = year_month(Enrollment.completed_at)
    completions = _in_county(
        select(
            completed,
            Course.track,
            Course.training_type,
            func.count(),
            func.sum(case((Enrollment.passed.is_(True), 1), else_=0)),
        )
        .join(Course, Course.id == Enrollment.course_id)
        .where(Enrollment.status == COMPLETED, *in_period(Enrollment.completed_at, filters)),
        Enrollment.worker_id,
        filters,
    ).group_by(completed, Course.track, Course.training_type)
    order = (0, 1, 2)
    enrolment_rows = sorted(await query_rows(ctx, enrolments), key=lambda r: [r[i] for i in order])
    completion_rows = sorted(
        await query_rows(ctx, completions), key=lambda r: [r[i] for i in order]
    )
    dimensions = ["month", "track", "training_type"]
    return [
        figure(
            "enrolments_by_month",
            ("每月报名人次", "每月報名人次", "Enrolments per month"),
            unit="count",
            chart="stacked_bar",
            dimensions=dimensions,
            rows=enrolment_rows,
            filters_applied=["county", "period"],
        ),
        figure(
            "completions_by_month",
            ("每月结业人次", "每月結業人次", "Completions per month"),
            unit="count",
            chart="stacked_bar",
            dimensions=dimensions,
            rows=[(m, t, k, n) for m, t, k, n, _ in completion_rows],
            filters_applied=["county", "period"],
        ),
        figure(
            "pass_rate_by_month",
            ("每月结业合格率", "每月結業合格率", "Pass rate of completions per month"),
            unit="percent",
            chart="line",
            dimensions=dimensions,
            rows=[(m, t, k, round(100 * int(p) / n, 1)) for m, t, k, n, p in completion_rows],
            filters_applied=["county", "period"],
        ),
    ]


async def subsidy_figures(ctx: ServiceContext, filters: StatisticsFilters) -> list[Figure]:
    filed = year_month(SubsidyClaim.filed_at)
    claims = _in_county(
        select(filed, SubsidyClaim.status, func.count(), func.sum(SubsidyClaim.amount)).where(
            *in_period(SubsidyClaim.filed_at, filters)
        ),
        SubsidyClaim.worker_id,
        filters,
    ).group_by(filed, SubsidyClaim.status)
    rows = sorted(await query_rows(ctx, claims), key=lambda r: (r[0], r[1]))
    return [
        figure(
            "claims_by_month",
            ("每月补贴申请数（按状态）", "每月津貼申請數（按狀態）", "Subsidy claims per month"),
            unit="count",
            chart="stacked_bar",
            dimensions=["month", "state"],
            rows=[(m, s, n) for m, s, n, _ in rows],
            filters_applied=["county", "period"],
        ),
        figure(
            "amounts_by_month",
            ("每月补贴金额（元）", "每月津貼金額（元）", "Subsidy amounts per month (yuan)"),
            unit="yuan",
            chart="stacked_bar",
            dimensions=["month", "state"],
            rows=[(m, s, round(float(a), 2)) for m, s, _, a in rows],
            filters_applied=["county", "period"],
        ),
    ]


async def base_figures(ctx: ServiceContext, filters: StatisticsFilters) -> list[Figure]:
    """Bases recognised by the end of the period (all if open), in the county if given."""
    terms = [TrainingBase.county == filters.county] if filters.county else []
    if filters.end is not None:
        terms.append(TrainingBase.created_at < filters.end)
    by_level = (
        select(TrainingBase.level, func.count())
        .where(*terms)
        .group_by(TrainingBase.level)
        .order_by(TrainingBase.level)
    )
    async with ctx.db.read() as session:
        policy = await bases.current_policy(session)
        rows = list((await session.execute(by_level)).all())
    counts = dict(rows)
    targets = (
        {
            "provincial_demonstration": policy.provincial_target,
            "municipal_demonstration": policy.municipal_target,
        }
        if policy
        else DEFAULT_BASE_TARGETS
    )
    version = policy.version if policy else None
    applied: list[Any] = ["county", "period"]
    return [
        figure(
            "bases_by_level",
            ("按级别统计培训基地", "按級別統計培訓基地", "Training bases by level"),
            unit="count",
            chart="bar",
            dimensions=["level"],
            rows=rows,
            filters_applied=applied,
        ),
        figure(
            "provincial_demonstration_bases",
            (
                "省级示范基地（对照目标）",
                "省級示範基地（對照目標）",
                "Provincial demonstration bases",
            ),
            unit="count",
            chart="gauge",
            dimensions=[],
            rows=[(counts.get("provincial_demonstration", 0),)],
            filters_applied=applied,
            target=targets["provincial_demonstration"],
            policy_version=version,
        ),
        figure(
            "municipal_demonstration_bases",
            (
                "市级示范基地（对照目标）",
                "市級示範基地（對照目標）",
                "Municipal demonstration bases",
            ),
            unit="count",
            chart="gauge",
            dimensions=[],
            rows=[(counts.get("municipal_demonstration", 0),)],
            filters_applied=applied,
            target=targets["municipal_demonstration"],
            policy_version=version,
        ),
    ]


OFFICERS = allow(*STAFF)


@router.get("/training", response_model=StatisticsReport, responses=RESPONSES)
async def training_statistics(
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(OFFICERS),
    filters: StatisticsFilters = Depends(statistics_filters),
) -> StatisticsReport:
    """Enrolments, completions and pass rate by track and type per month. Officers, admins."""
    return report("training", filters, await training_figures(ctx, filters))


@router.get("/subsidies", response_model=StatisticsReport, responses=RESPONSES)
async def subsidy_statistics(
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(OFFICERS),
    filters: StatisticsFilters = Depends(statistics_filters),
) -> StatisticsReport:
    """Subsidy claims and amounts (yuan) per month by state. Officers, admins."""
    return report("subsidies", filters, await subsidy_figures(ctx, filters))


@router.get("/training-bases", response_model=StatisticsReport, responses=RESPONSES)
async def training_base_statistics(
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(OFFICERS),
    filters: StatisticsFilters = Depends(statistics_filters),
) -> StatisticsReport:
    """Training bases by level, demonstration bases against the policy's targets (by the end
    of the period). Officers, admins."""
    return report("training-bases", filters, await base_figures(ctx, filters))
