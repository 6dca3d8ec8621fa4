"""Worker lists: filters on county, status, track, target group and company; cursor paging."""

from __future__ import annotations

from typing import Any

import pytest

from tests.registry.test_parties_support import (
    OFFICER,
    Registry,
    bearer,
    error_fields,
    problem,
)


def ids(page: dict[str, Any]) -> list[str]:
    return [w["id"] for w in page["items"]]


async def test_filters(registry: Registry) -> None:
    company = await registry.company()
    a = await registry.worker(county="gaoyao", tracks=["maternal_infant"], target_groups=["4050"])
    b = await registry.worker(
        county="sihui",
        tracks=["elderly_care", "maternal_infant"],
        target_groups=["poverty_alleviation", "left_behind_woman"],
        employment={"company_id": company["id"]},
    )
    c = await registry.worker(county="sihui", tracks=["housekeeping"], target_groups=[])
    await registry.post(f"/api/v1/workers/{c['id']}/verify", None, OFFICER)

    async def listed(**params: Any) -> list[str]:
        return ids(await registry.get("/api/v1/workers", **params))

    assert await listed() == [a["id"], b["id"], c["id"]]
    assert await listed(county="sihui") == [b["id"], c["id"]]
    assert await listed(status="verified") == [c["id"]]
    assert await listed(status="registered", county="sihui") == [b["id"]]
    assert await listed(track="maternal_infant") == [a["id"], b["id"]]
    assert await listed(track="maternal_infant", county="sihui") == [b["id"]]
    assert await listed(target_group="left_behind_woman") == [b["id"]]
    assert await listed(target_group="4050", track="maternal_infant") == [a["id"]]
    assert await listed(company_id=company["id"]) == [b["id"]]
    assert await listed(track="medical_nursing") == []


@pytest.mark.parametrize(
    "params",
    [
        {"county": "tianhe"},
        {"status": "retired"},
        {"track": "cooking"},
        {"target_group": "veterans"},
        {"company_id": "not-a-uuid"},
        {"limit": 0},
        {"limit": 1000},
    ],
)
async def test_bad_filters_are_422(registry: Registry, params: dict[str, Any]) -> None:
    response = await registry.client.get("/api/v1/workers", params=params, headers=OFFICER)
    assert next(iter(params)) in error_fields(problem(response, 422))


async def test_cursor_pages_through_everyone_once(registry: Registry) -> None:
    created = [(await registry.worker(county="deqing"))["id"] for _ in range(7)]
    await registry.worker(county="fengkai")
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"county": "deqing", "limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = await registry.get("/api/v1/workers", **params)
        seen += ids(page)
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == created
    assert pages == 3
    bad = await registry.client.get("/api/v1/workers", params={"cursor": "xyz"}, headers=OFFICER)
    problem(bad, 400, "invalid-cursor")


async def test_company_lists_only_its_own_workers(registry: Registry) -> None:
    mine, theirs = await registry.company(), await registry.company()
    staff = bearer("company", mine["id"])
    own = await registry.worker(as_=staff)
    await registry.worker(as_=bearer("company", theirs["id"]))
    await registry.worker()
    page = await registry.get("/api/v1/workers", staff)
    assert ids(page) == [own["id"]]
    assert page["items"][0]["masked"] is True
    assert ids(await registry.get("/api/v1/workers", staff, company_id=mine["id"])) == [own["id"]]
    response = await registry.client.get(
        "/api/v1/workers", params={"company_id": theirs["id"]}, headers=staff
    )
    problem(response, 403)


async def test_partner_lists_masked_workers_with_the_scope_only(registry: Registry) -> None:
    worker = await registry.worker()
    partner = await registry.partner()
    reader = bearer("partner", partner["id"], scopes=["workers:read"])
    page = await registry.get("/api/v1/workers", reader)
    assert ids(page) == [worker["id"]]
    assert page["items"][0]["id_card_number"] != worker["id_card_number"]
    assert page["items"][0]["masked"] is True
    other_scope = bearer("partner", partner["id"], scopes=["jobs:write"])
    problem(await registry.client.get("/api/v1/workers", headers=other_scope), 403)


@pytest.mark.parametrize("role", ["worker", "employer", "institution"])
async def test_other_roles_cannot_list_workers(registry: Registry, role: str) -> None:
    problem(await registry.client.get("/api/v1/workers", headers=bearer(role)), 403)
