"""Programme statistics credit answers (contracts/statistics.py): topics ``cards``, ``credit``
and ``insurance``.

Officers and admins only. Each figure is one ``GROUP BY`` on credit's own tables. A worker's
county and registry status come from credit's read model of registry workers
(``card_worker_facts``), so the county filter keeps workers registered in that county (and,
for figures about parties of every kind, only workers: companies and employers have no county
there; such figures say so in ``filters_applied`` only when the county is honoured).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from sqlalchemy import Select, distinct, func, literal_column, select

from contracts.statistics import Figure, StatisticsReport
from services.credit.credentials.cards import today
from services.credit.credentials.models import CardWorkerFacts, HomeServiceCard, InsurancePolicy
from services.credit.files.complaints import OPEN
from services.credit.files.models import CreditComplaint, CreditListEntry, CreditParty
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
from services.kit.types import utcnow

router = APIRouter(prefix="/api/v1/statistics", tags=["statistics"])

#: The programme's goal: every worker on the job holds a home-service card (持证上岗).
COVERAGE_GOAL = 100.0


def _workers_in(query: Select[Any], worker_id: Any, filters: StatisticsFilters) -> Select[Any]:
    """Only workers of the filter's county (from the read model), if one is given."""
    if filters.county is None:
        return query
    return query.join(CardWorkerFacts, CardWorkerFacts.worker_id == worker_id).where(
        CardWorkerFacts.county == filters.county
    )


def _percent(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


# --- cards ----------------------------------------------------------------------------------


async def card_figures(ctx: ServiceContext, filters: StatisticsFilters) -> list[Figure]:
    """Coverage now: active workers (registry status) holding an active, unexpired card."""
    day = today()
    county = [CardWorkerFacts.county == filters.county] if filters.county else []
    active = [CardWorkerFacts.registry_status == "active", *county]
    workers = (
        select(CardWorkerFacts.county, func.count()).where(*active).group_by(CardWorkerFacts.county)
    )
    holders = (
        select(CardWorkerFacts.county, func.count())
        .join(HomeServiceCard, HomeServiceCard.worker_id == CardWorkerFacts.worker_id)
        .where(*active, HomeServiceCard.state == "active", HomeServiceCard.valid_until >= day)
        .group_by(CardWorkerFacts.county)
    )
    by_state = _workers_in(
        select(HomeServiceCard.state, func.count()).group_by(HomeServiceCard.state),
        HomeServiceCard.worker_id,
        filters,
    )
    issued = year_month(HomeServiceCard.issued_at)
    by_month = _workers_in(
        select(issued, func.count())
        .where(*in_period(HomeServiceCard.issued_at, filters))
        .group_by(issued),
        HomeServiceCard.worker_id,
        filters,
    )
    active_by_county = {c or "other": n for c, n in await query_rows(ctx, workers)}
    held = {c or "other": n for c, n in await query_rows(ctx, holders)}
    counties = sorted(active_by_county)
    total_active, total_held = sum(active_by_county.values()), sum(held.values())
    return [
        figure(
            "card_coverage",
            ("持证上岗率", "持證上崗率", "Certified on the job (card holders / active workers)"),
            unit="percent",
            chart="gauge",
            dimensions=[],
            rows=[(_percent(total_held, total_active),)],
            filters_applied=["county"],
            target=COVERAGE_GOAL,
        ),
        figure(
            "card_coverage_by_county",
            ("各县区持证上岗率", "各縣區持證上崗率", "Certified on the job by county"),
            unit="percent",
            chart="bar",
            dimensions=["county"],
            rows=[(c, _percent(held.get(c, 0), active_by_county[c])) for c in counties],
            filters_applied=["county"],
            target=COVERAGE_GOAL,
        ),
        figure(
            "card_holders_and_active_workers_by_county",
            ("各县区在岗人数与持卡人数", "各縣區在崗人數與持卡人數", "Active workers and holders"),
            unit="count",
            chart="bar",
            dimensions=["county", "measure"],
            rows=[
                row
                for c in counties
                for row in (
                    (c, "active_workers", active_by_county[c]),
                    (c, "card_holders", held.get(c, 0)),
                )
            ],
            filters_applied=["county"],
        ),
        figure(
            "cards_by_state",
            ("家政服务证状态分布", "家務服務證狀態分佈", "Home-service cards by state"),
            unit="count",
            chart="pie",
            dimensions=["state"],
            rows=sorted(await query_rows(ctx, by_state)),
            filters_applied=["county"],
        ),
        figure(
            "cards_issued_by_month",
            ("每月发证数", "每月發證數", "Cards issued per month"),
            unit="count",
            chart="line",
            dimensions=["month"],
            rows=sorted(await query_rows(ctx, by_month)),
            filters_applied=["county", "period"],
        ),
    ]


# --- credit ---------------------------------------------------------------------------------


async def credit_figures(ctx: ServiceContext, filters: StatisticsFilters) -> list[Figure]:
    now = utcnow()
    levels = _workers_in(
        select(CreditParty.party_kind, CreditParty.level, func.count()).group_by(
            CreditParty.party_kind, CreditParty.level
        ),
        CreditParty.party_id,
        filters,
    )
    listed = _workers_in(
        select(CreditListEntry.list_kind, CreditListEntry.party_kind, func.count())
        .where(
            CreditListEntry.ended_at.is_(None),
            CreditListEntry.starts_at <= now,
            CreditListEntry.publish_until > now,
        )
        .group_by(CreditListEntry.list_kind, CreditListEntry.party_kind),
        CreditListEntry.party_id,
        filters,
    )
    started = year_month(CreditListEntry.starts_at)
    listings = _workers_in(
        select(started, CreditListEntry.list_kind, func.count())
        .where(*in_period(CreditListEntry.starts_at, filters))
        .group_by(started, CreditListEntry.list_kind),
        CreditListEntry.party_id,
        filters,
    )
    opened = year_month(CreditComplaint.created_at)
    closed = year_month(CreditComplaint.decided_at)
    complaints_opened = _workers_in(
        select(opened, literal_column("'opened'"), func.count())
        .where(*in_period(CreditComplaint.created_at, filters))
        .group_by(opened),
        CreditComplaint.target_id,
        filters,
    )
    complaints_closed = _workers_in(
        select(closed, literal_column("'closed'"), func.count())
        .where(
            CreditComplaint.decided_at.is_not(None),
            *in_period(CreditComplaint.decided_at, filters),
        )
        .group_by(closed),
        CreditComplaint.target_id,
        filters,
    )
    still_open = _workers_in(
        select(CreditComplaint.status, func.count())
        .where(CreditComplaint.status.in_(OPEN))
        .group_by(CreditComplaint.status),
        CreditComplaint.target_id,
        filters,
    )
    flows = [*await query_rows(ctx, complaints_opened), *await query_rows(ctx, complaints_closed)]
    return [
        figure(
            "credit_levels_by_party_kind",
            ("信用等级分布（按主体类型）", "信用等級分佈（按主體類型）", "Credit levels by party"),
            unit="count",
            chart="stacked_bar",
            dimensions=["party_kind", "level"],
            rows=sorted(await query_rows(ctx, levels)),
            filters_applied=["county"],
        ),
        figure(
            "list_entries_now",
            ("红黑名单在册数", "紅黑名單在冊數", "On the red and black lists now"),
            unit="count",
            chart="bar",
            dimensions=["list_kind", "party_kind"],
            rows=sorted(await query_rows(ctx, listed)),
            filters_applied=["county"],
        ),
        figure(
            "list_entries_by_month",
            ("每月列入红黑名单数", "每月列入紅黑名單數", "Red and black listings per month"),
            unit="count",
            chart="stacked_bar",
            dimensions=["month", "list_kind"],
            rows=sorted(await query_rows(ctx, listings)),
            filters_applied=["county", "period"],
        ),
        figure(
            "complaints_by_month",
            ("每月受理与办结投诉数", "每月受理與辦結投訴數", "Complaints opened and closed"),
            unit="count",
            chart="bar",
            dimensions=["month", "flow"],
            rows=sorted(flows, key=lambda r: (r[0], r[1] != "opened")),
            filters_applied=["county", "period"],
        ),
        figure(
            "complaints_open_now",
            ("在办投诉（按环节）", "在辦投訴（按環節）", "Complaints open now by stage"),
            unit="count",
            chart="bar",
            dimensions=["status"],
            rows=sorted(await query_rows(ctx, still_open)),
            filters_applied=["county"],
        ),
    ]


# --- insurance ------------------------------------------------------------------------------


async def insurance_figures(ctx: ServiceContext, filters: StatisticsFilters) -> list[Figure]:
    day = today()
    starts = year_month(InsurancePolicy.starts_on)
    per_month = _workers_in(
        select(starts, func.count(), func.count(distinct(InsurancePolicy.worker_id)))
        .where(*in_period(InsurancePolicy.starts_on, filters))
        .group_by(starts),
        InsurancePolicy.worker_id,
        filters,
    )
    insured_now = (
        select(CardWorkerFacts.county, func.count(distinct(InsurancePolicy.worker_id)))
        .join(CardWorkerFacts, CardWorkerFacts.worker_id == InsurancePolicy.worker_id)
        .where(
            InsurancePolicy.starts_on <= day,
            InsurancePolicy.ends_on >= day,
            *([CardWorkerFacts.county == filters.county] if filters.county else []),
        )
        .group_by(CardWorkerFacts.county)
    )
    months = sorted(await query_rows(ctx, per_month))
    return [
        figure(
            "policies_by_month",
            ("每月新增保单数", "每月新增保單數", "Insurance policies starting per month"),
            unit="count",
            chart="bar",
            dimensions=["month"],
            rows=[(m, policies) for m, policies, _ in months],
            filters_applied=["county", "period"],
        ),
        figure(
            "insured_workers_by_month",
            ("每月新增参保人数", "每月新增投保人數", "Workers insured per month"),
            unit="count",
            chart="line",
            dimensions=["month"],
            rows=[(m, workers) for m, _, workers in months],
            filters_applied=["county", "period"],
        ),
        figure(
            "insured_workers_now_by_county",
            ("各县区在保人数", "各縣區在保人數", "Workers insured today by county"),
            unit="count",
            chart="bar",
            dimensions=["county"],
            rows=sorted(((c or "other", n) for c, n in await query_rows(ctx, insured_now))),
            filters_applied=["county"],
        ),
    ]


OFFICERS = allow(*STAFF)


@router.get("/cards", response_model=StatisticsReport, responses=RESPONSES)
async def card_statistics(
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(OFFICERS),
    filters: StatisticsFilters = Depends(statistics_filters),
) -> StatisticsReport:
    """Certified-on-the-job coverage against the 100 % goal (overall and by county), cards by
    state, cards issued per month. Officers, admins."""
    return report("cards", filters, await card_figures(ctx, filters))


@router.get("/credit", response_model=StatisticsReport, responses=RESPONSES)
async def credit_statistics(
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(OFFICERS),
    filters: StatisticsFilters = Depends(statistics_filters),
) -> StatisticsReport:
    """Credit levels by party kind, red/black list counts, complaints opened and closed per
    month. With a county, only workers of that county count. Officers, admins."""
    return report("credit", filters, await credit_figures(ctx, filters))


@router.get("/insurance", response_model=StatisticsReport, responses=RESPONSES)
async def insurance_statistics(
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(OFFICERS),
    filters: StatisticsFilters = Depends(statistics_filters),
) -> StatisticsReport:
    """Insurance policies and insured workers per month, workers insured today by county.
    Officers, admins."""
    return report("insurance", filters, await insurance_figures(ctx, filters))
