"""Exports: masked like the API by default, unmasked for officers (audited), partners masked
only; an unmasked export imports into a fresh registry and exports back identically."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import orjson

from devtools.nats import NatsServer
from tests.registry.test_exchange_support import (
    CSV,
    NDJSON,
    WORKER_COLUMNS,
    counts,
    download,
    imported,
    parse_csv,
    runtime,
)
from tests.registry.test_parties_support import (
    ADMIN,
    OFFICER,
    Registry,
    bearer,
    captured_logs,
    mask_mobile,
    problem,
    running_registry,
)

PARTNER_SCOPES = ["workers:read"]


async def _workers(registry: Registry, n: int, **overrides: Any) -> list[dict[str, Any]]:
    """Register ``n`` workers; returns their bodies with the ids the API gave them."""
    from tests.registry.test_parties_support import worker_body

    made = []
    for _ in range(n):
        body = worker_body(**overrides)
        response = await registry.post("/api/v1/workers", body, OFFICER)
        assert response.status_code == 201, response.text
        made.append({**body, "id": response.json()["id"]})
    return made


async def test_masked_by_default_exactly_as_the_api_masks(registry: Registry) -> None:
    workers = await _workers(registry, 3)
    partner = bearer("partner", scopes=PARTNER_SCOPES)
    for who in (OFFICER, ADMIN, partner):
        response = await download(registry, "workers", who)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        assert "-masked.csv" in response.headers["content-disposition"]
        rows = {r["id"]: r for r in parse_csv(response)}
        assert list(parse_csv(response)[0]) == [*WORKER_COLUMNS, "id", "status", "birth_year"]
        assert set(rows) == {w["id"] for w in workers}
        for worker in workers:
            api = await registry.get(f"/api/v1/workers/{worker['id']}", partner)
            assert api["masked"] is True
            row = rows[worker["id"]]
            assert row["id_card_number"] == api["id_card_number"]
            assert row["phone"] == api["phone"]
            assert row["id_card_number"] == "*" * 14 + worker["id_card_number"][-4:]
            assert row["birth_date"] == ""
            assert row["birth_year"] == worker["id_card_number"][6:10]
            assert row["phone"] == mask_mobile(worker["phone"])
            assert worker["id_card_number"] not in response.text


async def test_officers_may_export_unmasked_and_it_is_audit_logged(registry: Registry) -> None:
    workers = await _workers(registry, 2)
    officer = bearer("officer", subject="officer-zhaoqing-7")
    with captured_logs() as logs:
        response = await download(registry, "workers", officer, unmasked="true", format="jsonl")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == NDJSON
    records = [orjson.loads(line) for line in response.content.splitlines()]
    assert {(r["id_card_number"], r["phone"]) for r in records} == {
        (w["id_card_number"], w["phone"]) for w in workers
    }
    audit = [orjson.loads(line) for line in logs.getvalue().splitlines()]
    [entry] = [e for e in audit if e.get("message") == "records exported"]
    assert entry["actor"] == "officer-zhaoqing-7"
    assert entry["unmasked"] is True
    assert entry["rows"] == 2
    assert entry["export_kind"] == "workers"
    for worker in workers:  # the log says who and how many, never the numbers
        assert worker["id_card_number"] not in logs.getvalue()
        assert worker["phone"] not in logs.getvalue()


async def test_who_may_export_what(registry: Registry) -> None:
    company = await registry.company()
    partner = bearer("partner", scopes=PARTNER_SCOPES)
    problem(await download(registry, "workers", partner, unmasked="true"), 403)
    problem(await download(registry, "companies", partner), 403)
    problem(await download(registry, "workers", bearer("partner", scopes=["jobs:write"])), 403)
    for who in (
        bearer("worker", uuid.uuid4()),
        bearer("company", company["id"]),
        bearer("institution", uuid.uuid4()),
        bearer("employer", uuid.uuid4()),
    ):
        for kind in ("workers", "companies", "institutions"):
            problem(await download(registry, kind, who), 403)
    problem(await registry.client.get("/api/v1/exports/workers"), 401)
    problem(await download(registry, "employers"), 404)
    problem(await download(registry, "workers", format="xlsx"), 422)
    problem(await download(registry, "companies", status="active"), 422)
    companies = await download(registry, "companies", unmasked="true")
    assert [r["credit_code"] for r in parse_csv(companies)] == [company["credit_code"]]
    assert parse_csv(companies)[0]["contact_phone"].isdigit()
    masked = parse_csv(await download(registry, "companies"))[0]
    assert masked["contact_phone"] == mask_mobile(company["contact"]["phone"])


async def test_filters_and_pages(registry: Registry) -> None:
    runtime(registry).settings.export_page_size = 2
    gaoyao = await _workers(registry, 3, county="gaoyao", tracks=["elderly_care"])
    sihui = await _workers(registry, 2, county="sihui", tracks=["housekeeping"])
    await registry.status(sihui[0]["id"], "left")

    everyone = parse_csv(await download(registry, "workers"))
    assert [r["id"] for r in everyone] == sorted(w["id"] for w in gaoyao + sihui)
    by_county = parse_csv(await download(registry, "workers", county="gaoyao"))
    assert {r["id"] for r in by_county} == {w["id"] for w in gaoyao}
    left = parse_csv(await download(registry, "workers", status="left"))
    assert [(r["id"], r["status"]) for r in left] == [(sihui[0]["id"], "left")]
    care = await download(registry, "workers", track="housekeeping", format="jsonl")
    assert len(care.content.splitlines()) == 2
    empty = await download(registry, "workers", county="deqing")
    assert empty.text.splitlines() == [",".join([*WORKER_COLUMNS, "id", "status", "birth_year"])]
    bom = await download(registry, "workers", bom="true", county="deqing")
    assert bom.content.startswith(b"\xef\xbb\xbf")


def _comparable(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """Rows without the read-only fields (ids and statuses are the registry's own)."""
    kept = [{k: v for k, v in r.items() if k not in ("id", "status")} for r in rows]
    return sorted(kept, key=lambda r: str(r[key]))


async def test_an_unmasked_export_round_trips_through_a_fresh_registry(
    registry: Registry, backend: str, tmp_path: Path, nats_server: NatsServer
) -> None:
    first = await registry.company(honours=["全国家政服务业千户百强", "广东省家政服务示范企业"])
    second = await registry.company(kind="agency_based", honours=[])
    await registry.institution()
    await _workers(
        registry,
        1,
        name="=HYPERLINK(1)",  # exported behind a formula guard, imported back unchanged
        employment={"company_id": first["id"]},
        health_check={
            "date": "2025-03-01",
            "institution": "肇庆市第一人民医院",
            "valid_until": "2026-02-28",
        },
        no_criminal_record={"date": "2025-01-05", "result": "clear", "valid_until": "2026-01-04"},
    )
    await _workers(registry, 1, employment={"company_id": second["id"], "kind": "employee_based"})
    await _workers(registry, 2, languages=[], tracks=[], target_groups=[], education=None)

    exported = {
        "companies": await download(registry, "companies", unmasked="true"),
        "institutions": await download(registry, "institutions", unmasked="true", format="jsonl"),
        "workers": await download(registry, "workers", unmasked="true"),
    }
    assert "'=HYPERLINK(1)" in exported["workers"].text

    target = tmp_path / "second"
    target.mkdir()
    async with running_registry(backend, target, nats_server.url) as fresh:
        for kind, response in exported.items():
            media = NDJSON if kind == "institutions" else CSV
            job = await imported(fresh, kind, response.content, media)
            assert job["status"] == "done", job
            assert counts(job) == {
                "total": job["counts"]["total"],
                "created": job["counts"]["total"],
            }
        again = {
            "companies": await download(fresh, "companies", unmasked="true"),
            "institutions": await download(fresh, "institutions", unmasked="true", format="jsonl"),
            "workers": await download(fresh, "workers", unmasked="true"),
        }
        lookup = await fresh.client.post(
            "/api/v1/workers/lookup",
            json={"id_card_number": parse_csv(exported["workers"])[0]["id_card_number"]},
            headers=OFFICER,
        )
        assert lookup.json()["name"] == "=HYPERLINK(1)"

    for kind in ("companies", "workers"):
        before, after = parse_csv(exported[kind]), parse_csv(again[kind])
        key = "credit_code" if kind == "companies" else "id_card_number"
        assert len(before) == len(after) > 0
        assert _comparable(after, key) == _comparable(before, key)
    before_jsonl = [orjson.loads(x) for x in exported["institutions"].content.splitlines()]
    after_jsonl = [orjson.loads(x) for x in again["institutions"].content.splitlines()]
    assert _comparable(after_jsonl, "credit_code") == _comparable(before_jsonl, "credit_code")
    employed = [r for r in parse_csv(again["workers"]) if r["company_credit_code"]]
    assert {(r["company_credit_code"], r["employment_kind"]) for r in employed} == {
        (first["credit_code"], "employee_based"),
        (second["credit_code"], "employee_based"),
    }
