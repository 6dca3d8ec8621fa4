"""Uploading a file to import: who may, which media types, how big; the spool is private."""

from __future__ import annotations

import stat
import uuid
from collections.abc import AsyncIterator

import pytest

from tests.registry.test_exchange_support import (
    CSV,
    WORKER_COLUMNS,
    csv_bytes,
    finished,
    jsonl_bytes,
    runtime,
    submit,
    worker_count,
    worker_row,
)
from tests.registry.test_parties_support import (
    ADMIN,
    OFFICER,
    Registry,
    bearer,
    problem,
    worker_body,
)


def _file(rows: int = 1) -> bytes:
    return csv_bytes(WORKER_COLUMNS, [worker_row() for _ in range(rows)])


async def test_only_officers_and_admins_import(registry: Registry) -> None:
    company = await registry.company()
    for who in (
        bearer("worker", uuid.uuid4()),
        bearer("company", company["id"]),
        bearer("institution", uuid.uuid4()),
        bearer("employer", uuid.uuid4()),
        bearer("partner", scopes=["workers:read"]),
    ):
        problem(await submit(registry, "workers", _file(), headers=who), 403, "forbidden")
    problem(await submit(registry, "workers", _file(), headers={}), 401)
    response = await submit(registry, "workers", _file(), headers=ADMIN)
    assert response.status_code == 202, response.text
    assert (await finished(registry, response.json()["id"]))["counts"]["created"] == 1
    # Jobs and reports are the programme's: not for other roles either.
    job_id = response.json()["id"]
    for path in (f"/api/v1/imports/{job_id}", f"/api/v1/imports/{job_id}/report"):
        problem(await registry.client.get(path, headers=bearer("worker", uuid.uuid4())), 403)
    problem(await registry.client.get(f"/api/v1/imports/{uuid.uuid4()}", headers=OFFICER), 404)
    assert await worker_count(registry) == 1


@pytest.mark.parametrize(
    "content_type",
    [None, "application/json", "text/plain", "multipart/form-data", "text/csv; charset=gbk"],
)
async def test_other_media_types_are_415(registry: Registry, content_type: str | None) -> None:
    body = problem(
        await submit(registry, "workers", _file(), content_type), 415, "unsupported-media-type"
    )
    assert "text/csv" in body["detail"] or "UTF-8" in body["detail"]
    assert await worker_count(registry) == 0


async def test_a_file_that_is_not_utf8_is_415_and_nothing_is_kept(registry: Registry) -> None:
    gbk = "name,id_card_number,phone,county\n陈秀英,1,2,duanzhou\n".encode("gbk")
    body = problem(await submit(registry, "workers", gbk), 415)
    assert "not UTF-8" in body["detail"]
    spool = runtime(registry).spool_dir
    assert spool is not None
    assert list(spool.iterdir()) == []


async def test_unknown_kind_is_404_and_empty_body_400(registry: Registry) -> None:
    problem(await submit(registry, "employers", _file()), 404)
    problem(await submit(registry, "workers", b""), 400, "empty-upload")


async def test_too_large_is_413_whether_declared_or_streamed(registry: Registry) -> None:
    runtime(registry).settings.max_bytes = 300
    big = _file(5)
    assert len(big) > 300
    problem(await submit(registry, "workers", big), 413, "payload-too-large")

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted while spooling
        for start in range(0, len(big), 100):
            yield big[start : start + 100]

    response = await registry.client.post(
        "/api/v1/imports/workers", content=chunks(), headers={**OFFICER, "Content-Type": CSV}
    )
    problem(response, 413)
    spool = runtime(registry).spool_dir
    assert spool is not None
    assert list(spool.iterdir()) == []
    assert await worker_count(registry) == 0


async def test_the_spool_is_private_and_emptied_after_the_import(registry: Registry) -> None:
    spool = runtime(registry).spool_dir
    assert spool is not None
    assert stat.S_IMODE(spool.stat().st_mode) == 0o700
    body = _file(3)
    response = await submit(registry, "workers", body)
    job = await finished(registry, response.json()["id"])
    assert job["status"] == "done"
    assert job["size_bytes"] == len(body)
    assert list(spool.iterdir()) == []


async def test_octet_stream_uploads_are_told_apart_by_their_first_character(
    registry: Registry,
) -> None:
    """What a generated API client sends: bytes, no text/csv. CSV (with or without a BOM)
    and JSON Lines both import."""
    csv_file = csv_bytes(WORKER_COLUMNS, [worker_row()], bom=True)
    jsonl_file = b"\n" + jsonl_bytes([worker_body()])
    for body in (csv_file, jsonl_file):
        response = await submit(registry, "workers", body, "application/octet-stream")
        assert response.status_code == 202, response.text
        job = await finished(registry, response.json()["id"])
        assert job["counts"]["created"] == 1, job
    assert await worker_count(registry) == 2
