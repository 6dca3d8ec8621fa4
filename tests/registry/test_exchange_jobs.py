"""Import jobs: batches, abandoned jobs marked interrupted, shutdown, recovery by re-import;
and the format details (line numbers, formula guard, long lines)."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from devtools.nats import NatsServer
from services.kit.db import Database
from services.kit.migrate import sync_url
from services.kit.pii import load_pii_cipher
from services.kit.principal import Principal
from services.registry.app import create_app
from services.registry.exchange import formats
from services.registry.exchange.formats import SPECS, RawRow, read_csv, read_jsonl
from services.registry.exchange.importer import Counts, Importer
from services.registry.exchange.jobs import create_job, get_job
from services.registry.exchange.models import ImportJob
from tests.registry.test_exchange_support import (
    CSV,
    WORKER_COLUMNS,
    counts,
    csv_bytes,
    finished,
    imported,
    report,
    runtime,
    submit,
    worker_row,
)
from tests.registry.test_parties_support import Registry
from tests.support.apps import running_app, settings_for
from tests.support.databases import service_database

HOST = socket.gethostname()[:60]


@pytest.fixture
def database(backend: str, tmp_path: Path) -> Iterator[str]:
    with service_database("registry", backend, tmp_path) as url:
        yield url


@asynccontextmanager
async def registry_on(url: str, nats_url: str) -> AsyncIterator[Registry]:
    """The registry app on an existing database (so a test can prepare or inspect it)."""
    settings, platform = settings_for("registry", url, nats_url)
    app = create_app(settings, platform)
    async with running_app(app) as client:
        yield Registry(app, client, url, nats_url)


def _dead_pid() -> int:
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(child.stdout)


def _insert_job(url: str, status: str, runner: str, heartbeat: datetime) -> uuid.UUID:
    job_id = uuid.uuid4()
    engine = sa.create_engine(sync_url(url))
    values = dict(
        id=job_id,
        kind="workers",
        format="csv",
        status=status,
        submitted_by="officer",
        submitted_role="officer",
        size_bytes=10,
        total=0,
        created=0,
        unchanged=0,
        conflict=0,
        duplicate=0,
        invalid=0,
        runner=runner,
        heartbeat_at=heartbeat,
        created_at=heartbeat,
        started_at=heartbeat if status == "running" else None,
    )
    with engine.begin() as connection:
        connection.execute(sa.insert(ImportJob.__table__).values(**values))
    engine.dispose()
    return job_id


async def test_jobs_of_a_dead_process_are_interrupted_at_start(
    database: str, nats_server: NatsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGISTRY_IMPORT_HEARTBEAT_SECONDS", "0.2")
    monkeypatch.setenv("REGISTRY_IMPORT_STALE_AFTER_SECONDS", "1.5")
    now = datetime.now(UTC)
    dead = _insert_job(database, "running", f"{HOST}:{_dead_pid()}:0001", now)
    earlier_me = _insert_job(database, "running", f"{HOST}:{os.getpid()}:0002", now)
    stale = _insert_job(database, "queued", "elsewhere:41:0003", now - timedelta(minutes=5))
    alive = _insert_job(database, "running", "elsewhere:42:0004", now + timedelta(seconds=1))
    finished_job = _insert_job(database, "done", f"{HOST}:{_dead_pid()}:0005", now)

    async with registry_on(database, nats_server.url) as registry:
        for job_id in (dead, earlier_me, stale):
            job = await registry.get(f"/api/v1/imports/{job_id}")
            assert job["status"] == "interrupted", job
            assert "submit the file again" in job["error"]
            assert job["finished_at"] is not None
        # Another replica's job with a fresh heartbeat is left alone ...
        assert (await registry.get(f"/api/v1/imports/{alive}"))["status"] == "running"
        assert (await registry.get(f"/api/v1/imports/{finished_job}"))["status"] == "done"

        # ... until its heartbeat goes stale.
        async def interrupted() -> bool:
            job = await registry.get(f"/api/v1/imports/{alive}")
            return job["status"] == "interrupted"

        for _ in range(100):
            if await interrupted():
                break
            await asyncio.sleep(0.1)
        assert await interrupted()


async def test_stopping_interrupts_an_import_and_importing_again_finishes_it(
    database: str, nats_server: NatsServer
) -> None:
    total = 400
    body = csv_bytes(WORKER_COLUMNS, [worker_row() for _ in range(total)])
    async with registry_on(database, nats_server.url) as registry:
        runtime(registry).settings.batch_size = 1  # slow: one transaction per row
        response = await submit(registry, "workers", body)
        assert response.status_code == 202
        job_id = response.json()["id"]
        for _ in range(200):  # stop as soon as some rows are in
            if (await registry.get(f"/api/v1/imports/{job_id}"))["counts"]["created"]:
                break
            await asyncio.sleep(0.02)
    # Stopped mid-import: the job says so, and the rows committed so far are stored.
    async with registry_on(database, nats_server.url) as registry:
        job = await registry.get(f"/api/v1/imports/{job_id}")
        assert job["status"] == "interrupted", job
        stored = job["counts"]["created"]
        assert 0 < stored < total
        spool = runtime(registry).spool_dir
        assert spool is not None and list(spool.iterdir()) == []

        again = await imported(registry, "workers", body)
        assert counts(again) == {"total": total, "unchanged": stored, "created": total - stored}


async def test_the_report_streams_every_page(registry: Registry) -> None:
    rows = [worker_row(county="nowhere") for _ in range(1250)]
    job = await imported(registry, "workers", csv_bytes(WORKER_COLUMNS, rows))
    assert counts(job) == {"total": 1250, "invalid": 1250}
    lines = await report(registry, job["id"], "csv")
    assert [r["line"] for r in lines] == list(range(2, 1252))
    assert {r["field"] for r in lines} == {"county"}


async def test_rows_are_processed_a_batch_at_a_time(database: str, tmp_path: Path) -> None:
    path = tmp_path / "workers.csv"
    path.write_bytes(csv_bytes(WORKER_COLUMNS, [worker_row() for _ in range(35)]))
    db = Database(database)
    actor = Principal(subject="test", role="admin")
    job_id = uuid.uuid4()
    seen: list[Counts] = []

    async def progress(counts: Counts) -> None:
        seen.append(Counts(**counts.as_dict()))
        stored = await get_job(db, job_id)  # committed with the batch
        assert stored is not None and stored.created == counts.created

    try:
        await create_job(
            db, job_id=job_id, kind="workers", fmt="csv", size=1, actor=actor, runner=None
        )
        importer = Importer(
            db,
            load_pii_cipher(),
            job_id=job_id,
            kind="workers",
            fmt="csv",
            actor=actor,
            batch_size=10,
            on_batch=progress,
        )
        result = await importer.run(path)
    finally:
        await db.dispose()
    assert [c.created for c in seen] == [10, 20, 30, 35]
    assert result.created == 35


async def test_queued_jobs_wait_for_a_free_slot(registry: Registry) -> None:
    runtime(registry).settings.batch_size = 5
    first = await submit(
        registry, "workers", csv_bytes(WORKER_COLUMNS, [worker_row() for _ in range(40)])
    )
    second = await submit(registry, "workers", csv_bytes(WORKER_COLUMNS, [worker_row()]))
    assert second.json()["status"] == "queued"
    done_first = await finished(registry, first.json()["id"])
    done_second = await finished(registry, second.json()["id"])
    assert done_first["finished_at"] <= done_second["started_at"]
    assert counts(done_second) == {"total": 1, "created": 1}


# --- formats -------------------------------------------------------------------------------


def test_csv_line_numbers_follow_the_file(tmp_path: Path) -> None:
    path = tmp_path / "w.csv"
    path.write_text(
        "name,id_card_number,phone,county\n"
        '"two\nlines",1,2,duanzhou\n'
        "\n"
        "plain,3,4,sihui\n"
        "'=SUM(A1),5,6,dinghu\n",
        encoding="utf-8",
    )
    rows = list(read_csv(path, SPECS["workers"]))
    assert [r.line for r in rows] == [2, 5, 6]
    assert rows[0].data is not None and rows[0].data["name"] == "two\nlines"
    assert rows[2].data is not None and rows[2].data["name"] == "=SUM(A1)"


def test_error_locations_name_csv_columns() -> None:
    spec = SPECS["companies"]
    assert spec.column_for(("contact", "phone")) == "contact_phone"
    assert spec.column_for(("honours", 2)) == "honours"
    workers = SPECS["workers"]
    assert workers.column_for(("health_check", "valid_until")) == "health_check_valid_until"
    assert workers.column_for(("nickname",)) == "nickname"


def test_formula_guard_round_trips() -> None:
    writer = formats.CsvWriter(SPECS["workers"])
    text = writer.page([{"name": "=1+1", "county": "-x", "languages": ["@a", "b"]}]).decode()
    line = text.splitlines()[1]
    assert line.startswith("'=1+1,")
    assert "'@a|b" in line
    assert formats._unescape("'=1+1") == "=1+1"
    assert formats._unescape("'quoted") == "'quoted"


def test_an_overlong_json_line_is_skipped_not_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(formats, "MAX_JSON_LINE", 64)
    path = tmp_path / "w.jsonl"
    path.write_bytes(b'{"name": "' + b"x" * 500 + b'"}\n{"name": "ok"}\n')
    rows: list[RawRow] = list(read_jsonl(path, SPECS["workers"]))
    assert [(r.line, r.data, r.error) for r in rows] == [
        (1, None, "is longer than 64 bytes"),
        (2, {"name": "ok"}, None),
    ]


async def test_the_openapi_document_describes_the_upload(registry: Registry) -> None:
    response: httpx.Response = await registry.client.get("/openapi.json")
    paths = response.json()["paths"]
    assert "/api/v1/imports/{kind}" not in paths  # one literal path per kind
    operation = paths["/api/v1/imports/workers"]["post"]
    # Bytes: the upload type client generators support; the description names the others.
    assert set(operation["requestBody"]["content"]) == {"application/octet-stream"}
    for media in (CSV, "application/x-ndjson", "application/jsonl"):
        assert media in operation["description"]
