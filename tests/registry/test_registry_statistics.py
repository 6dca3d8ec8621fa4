"""GET /api/v1/statistics/workers: exact figures from workers, companies and institutions
registered through the API; county and period filters; bad filters; officers only."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update

from services.kit.types import utcnow
from services.registry.parties.models import Worker
from tests.registry.test_parties_support import (
    ADMIN,
    OFFICER,
    Registry,
    bearer,
    problem,
)

PATH = "/api/v1/statistics/workers"


def figures(report: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    return {f["key"]: f["rows"] for f in report["figures"]}


async def test_workers_statistics(registry: Registry) -> None:
    """Exact figures, the county and period filters, the languages, then the refusals."""
    first = await registry.worker(county="gaoyao")
    await registry.worker(county="gaoyao")
    left = await registry.worker(county="duanzhou")
    assert (await registry.status(left["id"], "left")).status_code == 200
    await registry.company(county="duanzhou")
    await registry.company(county="sihui")
    await registry.institution(county="sihui")
    # The first worker registered in January 2026.
    async with registry.ctx.db.write() as session:
        await session.execute(
            update(Worker)
            .where(Worker.id == uuid.UUID(first["id"]))
            .values(created_at=datetime(2026, 1, 15, 23, 30, tzinfo=UTC))
        )
    now = utcnow().strftime("%Y-%m")

    report = await registry.get(PATH, as_=ADMIN)
    assert report["topic"] == "workers"
    assert report["filters"] == {"county": None, "from": None, "to": None}
    got = figures(report)
    assert got["workers_by_status_county"] == [
        {"county": "duanzhou", "status": "left", "value": 1},
        {"county": "gaoyao", "status": "registered", "value": 2},
    ]
    assert got["registrations_by_month"] == [
        {"month": "2026-01", "value": 1},
        {"month": now, "value": 2},
    ]
    assert got["companies_by_county"] == [
        {"county": "duanzhou", "value": 1},
        {"county": "sihui", "value": 1},
    ]
    assert got["institutions_by_county"] == [{"county": "sihui", "value": 1}]
    by_key = {f["key"]: f for f in report["figures"]}
    assert by_key["workers_by_status_county"]["dimensions"] == ["county", "status"]
    assert by_key["registrations_by_month"]["filters_applied"] == ["county", "period"]
    assert by_key["registrations_by_month"]["title"] == "每月登记人数"  # zh-CN by default

    # County filter.
    got = figures(await registry.get(PATH, county="gaoyao"))
    assert got["workers_by_status_county"] == [
        {"county": "gaoyao", "status": "registered", "value": 2}
    ]
    assert got["registrations_by_month"] == [
        {"month": "2026-01", "value": 1},
        {"month": now, "value": 1},
    ]
    assert got["companies_by_county"] == []
    assert got["institutions_by_county"] == []

    # Period filter: months bucket on the registration time.
    params = {"from": "2026-01", "to": "2026-01"}
    report = await registry.get(PATH, **params)
    assert report["filters"] == {"county": None, "from": "2026-01", "to": "2026-01"}
    assert figures(report)["registrations_by_month"] == [{"month": "2026-01", "value": 1}]
    got = figures(await registry.get(PATH, **{"from": "2026-02"}))
    assert got["registrations_by_month"] == [{"month": now, "value": 2}]

    # Titles in the request's language.
    response = await registry.client.get(PATH, headers={**OFFICER, "Accept-Language": "en"})
    titles = {f["key"]: f["title"] for f in response.json()["figures"]}
    assert titles["registrations_by_month"] == "Registrations per month"
    response = await registry.client.get(PATH, headers={**OFFICER, "Accept-Language": "zh-HK"})
    titles = {f["key"]: f["title"] for f in response.json()["figures"]}
    assert titles["registrations_by_month"] == "每月登記人數"

    await refusals(registry)


async def refusals(registry: Registry) -> None:
    client = registry.client
    problem(await client.get(PATH, params={"county": "atlantis"}, headers=OFFICER), 422)
    problem(await client.get(PATH, params={"from": "2026-13"}, headers=OFFICER), 422)
    problem(await client.get(PATH, params={"to": "2026-1"}, headers=OFFICER), 422)
    body = problem(
        await client.get(PATH, params={"from": "2026-05", "to": "2026-03"}, headers=OFFICER),
        400,
        "bad-request",
    )
    assert "2026-05" in body["detail"]
    problem(await client.get(PATH), 401)
    for role in ("worker", "company", "institution", "employer"):
        problem(await client.get(PATH, headers=bearer(role)), 403)
    problem(await client.get("/api/v1/statistics/nothing", headers=OFFICER), 404)
