"""Helpers for the bulk exchange tests (no tests here): uploads, waiting for jobs, reports,
CSV builders. Named ``test_exchange_*`` to sit with the exchange tests."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Mapping
from typing import Any

import httpx
import orjson
from sqlalchemy import func, select

from services.kit.tables import outbox
from services.registry.exchange.formats import SPECS
from services.registry.exchange.jobs import ExchangeRuntime
from services.registry.parties.models import Worker
from tests.registry.test_parties_support import (
    OFFICER,
    Registry,
    new_credit_code,
    new_id_card,
    new_phone,
)

CSV = "text/csv"
NDJSON = "application/x-ndjson"
WORKER_COLUMNS = [c.name for c in SPECS["workers"].columns]
COMPANY_COLUMNS = [c.name for c in SPECS["companies"].columns]
INSTITUTION_COLUMNS = [c.name for c in SPECS["institutions"].columns]


def runtime(registry: Registry) -> ExchangeRuntime:
    return registry.ctx.extras["exchange"]  # type: ignore[no-any-return]


def csv_bytes(
    header: list[str], rows: list[Mapping[str, str] | list[str]], *, bom: bool = False
) -> bytes:
    """A CSV file: rows as dicts (by column, missing = empty) or as raw cell lists."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(row if isinstance(row, list) else [row.get(h, "") for h in header])
    return (("\ufeff" if bom else "") + buffer.getvalue()).encode()


def jsonl_bytes(objects: list[Any]) -> bytes:
    return b"".join(orjson.dumps(o) + b"\n" for o in objects)


def worker_row(**overrides: str) -> dict[str, str]:
    row = {
        "name": "梁美玲",
        "id_card_number": new_id_card(),
        "phone": new_phone(),
        "county": "duanzhou",
        "languages": "cantonese|mandarin",
        "education": "junior_high",
        "tracks": "housekeeping|elderly_care",
        "target_groups": "4050",
    }
    row.update(overrides)
    return row


def company_row(**overrides: str) -> dict[str, str]:
    row = {
        "credit_code": new_credit_code(),
        "name": "肇庆市好家政服务有限公司",
        "legal_representative": "梁志强",
        "county": "duanzhou",
        "address": "端州区天宁北路 2 号",
        "contact_name": "黄丽",
        "contact_phone": new_phone(),
        "kind": "employee_based",
        "honours": "全国家政服务业千户百强",
    }
    row.update(overrides)
    return row


def institution_object(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "credit_code": new_credit_code(),
        "name": "肇庆市南粤家政职业培训学校",
        "legal_representative": "何建华",
        "county": "sihui",
        "address": "四会市东城街道 8 号",
        "contact": {"name": "罗敏", "phone": new_phone()},
        "level": "provincial_demonstration",
        "tracks": ["maternal_infant", "elderly_care"],
    }
    body.update(overrides)
    return body


def wrong_check_digit(number: str) -> str:
    return number[:17] + ("0" if number[17] != "0" else "1")


def wrong_check_char(code: str) -> str:
    return code[:17] + ("0" if code[17] != "0" else "1")


async def submit(
    registry: Registry,
    kind: str,
    body: bytes,
    content_type: str | None = CSV,
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    sent = dict(headers if headers is not None else OFFICER)
    if content_type is not None:
        sent["Content-Type"] = content_type
    return await registry.client.post(f"/api/v1/imports/{kind}", content=body, headers=sent)


async def finished(registry: Registry, job_id: str) -> dict[str, Any]:
    """The job once its background task (in this process) has ended."""
    await runtime(registry).wait(uuid.UUID(job_id))
    job: dict[str, Any] = await registry.get(f"/api/v1/imports/{job_id}")
    assert job["status"] in ("done", "failed", "interrupted"), job
    return job


async def imported(
    registry: Registry, kind: str, body: bytes, content_type: str = CSV
) -> dict[str, Any]:
    """Submit a file as an officer and wait for the job to end; returns the final job."""
    response = await submit(registry, kind, body, content_type)
    assert response.status_code == 202, response.text
    job = response.json()
    assert response.headers["location"] == f"/api/v1/imports/{job['id']}"
    assert job["status"] in ("queued", "running", "done")
    return await finished(registry, job["id"])


async def report(registry: Registry, job_id: str, fmt: str = "jsonl") -> list[dict[str, Any]]:
    response = await registry.client.get(
        f"/api/v1/imports/{job_id}/report", params={"format": fmt}, headers=OFFICER
    )
    assert response.status_code == 200, response.text
    if fmt == "jsonl":
        return [orjson.loads(line) for line in response.content.splitlines() if line]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    return [{**r, "line": int(r["line"]), "key": r["key"] or None} for r in rows]


def counts(job: dict[str, Any]) -> dict[str, int]:
    return {k: v for k, v in job["counts"].items() if v}


async def outbox_rows(registry: Registry) -> int:
    async with registry.ctx.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(outbox)) or 0)


async def worker_count(registry: Registry) -> int:
    async with registry.ctx.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(Worker)) or 0)


async def api_errors(registry: Registry, path: str, body: dict[str, Any]) -> dict[str, str]:
    """What the API answers (field → message) for an invalid body: the report must agree. The
    report is stored once, in English (a background job has no caller's language), so compare
    with the API's English answer."""
    response = await registry.client.post(
        path, json=body, headers={**OFFICER, "Accept-Language": "en"}
    )
    assert response.status_code == 422, response.text
    return {e["field"]: e["message"] for e in response.json()["errors"]}


async def lookup(registry: Registry, id_card_number: str) -> dict[str, Any]:
    response = await registry.client.post(
        "/api/v1/workers/lookup", json={"id_card_number": id_card_number}, headers=OFFICER
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def download(
    registry: Registry, kind: str, headers: Mapping[str, str] | None = None, **params: Any
) -> httpx.Response:
    return await registry.client.get(
        f"/api/v1/exports/{kind}", params=params, headers=headers or OFFICER
    )


def parse_csv(response: httpx.Response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.text)))
