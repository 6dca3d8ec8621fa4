"""Masked views never carry what rebuilds the masked ID-card number.

A GB 11643 number is region (6) + birth date (8) + order (3) + check (1). A masked view that
shows the region and the last four beside the birth date gives the whole number away, so a
masked view shows the birth year only, and only the last four characters of the number. Checked
in every masked view a caller can get: the worker API (read, list, registration by company
staff) and exports (CSV and JSON Lines), for partners with ``workers:read`` and the worker's
company; another company or an employer gets no view at all.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from typing import Any

from services.registry.agencies.datasets import FEED_DATASETS
from tests.registry.test_parties_support import (
    OFFICER,
    Registry,
    bearer,
    new_id_card,
    problem,
)

BORN = date(1978, 5, 4)
REGION = slice(0, 6)


def known_positions(view: dict[str, Any]) -> set[int]:
    """Positions of the 18-character number a reader of ``view`` knows for certain."""
    masked = str(view["id_card_number"])
    known = {i for i, char in enumerate(masked) if char != "*"}
    if view.get("birth_date"):
        known |= set(range(6, 14))
    if view.get("birth_year"):
        known |= set(range(6, 10))
    return known


def assert_cannot_rebuild(view: dict[str, Any], raw: str, number: str) -> None:
    assert view["masked"] in (True, "True", "true"), view
    known = known_positions(view)
    # Region and month/day stay hidden: 10 unknown characters, which the check character
    # narrows by a factor of 11 at most.
    assert not known & set(range(0, 6)), known
    assert not known & set(range(10, 14)), known
    assert len(known) <= 8, known
    for leak in (number, number[:17], number[6:14], BORN.isoformat(), number[REGION] + "19"):
        assert leak not in raw, leak


def _rows(response_text: str, fmt: str) -> list[dict[str, Any]]:
    if fmt == "csv":
        return list(csv.DictReader(io.StringIO(response_text)))
    return [json.loads(line) for line in response_text.splitlines() if line.strip()]


async def test_no_masked_view_rebuilds_the_id_number(registry: Registry) -> None:
    company = await registry.company()
    staff = bearer("company", company["id"])
    reader = bearer("partner", scopes=["workers:read"])
    number = new_id_card(born=BORN)
    created = await registry.client.post(
        "/api/v1/workers",
        json={
            "name": "陈秀英",
            "id_card_number": number,
            "phone": "13800138000",
            "county": "duanzhou",
        },
        headers=staff,
    )
    assert created.status_code == 201, created.text
    worker = created.json()
    assert_cannot_rebuild(worker, created.text, number)
    assert worker["birth_date"] is None and worker["birth_year"] == BORN.year
    assert worker["id_card_number"] == "*" * 14 + number[-4:]
    path = f"/api/v1/workers/{worker['id']}"

    checked = 0
    for caller in (staff, reader):
        one = await registry.client.get(path, headers=caller)
        assert one.status_code == 200, one.text
        assert_cannot_rebuild(one.json(), one.text, number)
        listed = await registry.client.get("/api/v1/workers", headers=caller)
        assert listed.status_code == 200, listed.text
        [item] = [w for w in listed.json()["items"] if w["id"] == worker["id"]]
        assert_cannot_rebuild(item, listed.text, number)
        checked += 2
    for fmt in ("csv", "jsonl"):
        export = await registry.client.get(
            "/api/v1/exports/workers", params={"format": fmt}, headers=reader
        )
        assert export.status_code == 200, export.text
        [row] = [r for r in _rows(export.text, fmt) if r["id"] == worker["id"]]
        assert_cannot_rebuild({**row, "masked": True}, export.text, number)
        assert int(row["birth_year"]) == BORN.year and not row["birth_date"]
        checked += 1
    assert checked == 6

    # Another company and employers see no view of this worker at all.
    other = bearer("company", (await registry.company())["id"])
    problem(await registry.client.get(path, headers=other), 404)
    employer = bearer("employer", (await registry.employer())["id"])
    problem(await registry.client.get(path, headers=employer), 403)
    problem(await registry.client.get("/api/v1/exports/workers", headers=employer), 403)
    problem(await registry.client.get("/api/v1/exports/workers", headers=other), 403)


async def test_unmasked_views_keep_the_birth_date(registry: Registry) -> None:
    number = new_id_card(born=BORN)
    worker = await registry.worker(id_card_number=number)
    for caller in (OFFICER, bearer("worker", worker["id"])):
        view = await registry.get(f"/api/v1/workers/{worker['id']}", caller)
        assert view["masked"] is False
        assert view["id_card_number"] == number
        assert view["birth_date"] == BORN.isoformat() and view["birth_year"] == BORN.year


async def test_no_agency_agreement_can_pair_the_birth_date_with_the_masked_number(
    registry: Registry,
) -> None:
    """The workers feed carries ``id_card_masked``; an agreement cannot add ``birth_date``
    beside it (nor on its own: the feed offers the birth year only)."""
    from tests.registry.test_agencies import agreement_body
    from tests.registry.test_parties_support import ADMIN, new_credit_code

    assert "birth_date" not in FEED_DATASETS["workers"]
    assert {"id_card_masked", "birth_year"} <= set(FEED_DATASETS["workers"])
    body = {"kind": "hrss", "level": "city", "name": "肇庆人社", "credit_code": new_credit_code()}
    created = await registry.client.post("/api/v1/agencies", json=body, headers=ADMIN)
    assert created.status_code == 201, created.text
    agency_id = created.json()["id"]
    for fields in (["id_card_masked", "birth_date"], ["name", "birth_date"]):
        refused = await registry.client.post(
            f"/api/v1/agencies/{agency_id}/agreements",
            json=agreement_body(workers=fields),
            headers=ADMIN,
        )
        problem_body = problem(refused, 422)
        assert "birth_date" in problem_body["errors"][0]["message"], problem_body
    allowed = await registry.client.post(
        f"/api/v1/agencies/{agency_id}/agreements",
        json=agreement_body(workers=["id_card_masked", "birth_year"]),
        headers=ADMIN,
    )
    assert allowed.status_code == 201, allowed.text
