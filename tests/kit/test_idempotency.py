"""Idempotency-Key on POST: a retry replays the first answer and does the work once.

On SQLite and PostgreSQL: callers are keyed by token subject, answers are stored encrypted,
credentials are never stored, concurrent twins get 409 (never 500), and a key held by a
process that was killed is released as soon as a retry finds its owner dead.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import func, select, update

from devtools.nats import NatsServer
from devtools.ports import free_port
from services.kit.db import Database
from services.kit.idempotency_store import TTL
from services.kit.tables import idempotency_keys
from services.kit.types import utcnow
from tests.kit.idempotency_app import make_app
from tests.kit.kit_harness import create_schema
from tests.support.apps import context, running_app
from tests.support.databases import postgres_database
from tests.support.tokens import bearer

WORKER = "0190a000-0000-7000-8000-000000000001"


@contextmanager
def database(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'i.db'}"
        return
    with postgres_database("jiasao_kit") as url:
        yield url


async def stored_rows(db: Database) -> list[dict[str, object]]:
    async with db.read() as session:
        return [dict(r) for r in (await session.execute(select(idempotency_keys))).mappings()]


async def test_retry_replays_first_response_per_token_subject(
    backend: str, tmp_path: Path, nats_server: NatsServer
) -> None:
    with database(backend, tmp_path) as url:
        app = make_app(url, nats_server.url)
        async with running_app(app) as client:
            await create_schema(context(app).db)
            key = {"Idempotency-Key": "order-7f3a9c21"}
            me = bearer("worker", WORKER, subject="account-1")
            first = await client.post("/api/v1/orders", json={"item": "mop"}, headers=key | me)
            # A fresh token for the same account (after a refresh) is the same caller.
            later = bearer("worker", WORKER, subject="account-1")
            assert later != me
            again = await client.post("/api/v1/orders", json={"item": "mop"}, headers=key | later)
            assert first.status_code == again.status_code == 201
            assert again.json() == first.json()
            assert again.headers["location"] == first.headers["location"]
            assert again.headers["idempotent-replayed"] == "true"
            assert "idempotent-replayed" not in first.headers

            # Another caller may use the same key for its own request.
            other = await client.post(
                "/api/v1/orders",
                json={"item": "mop"},
                headers=key | bearer("worker", WORKER, subject="account-2"),
            )
            assert other.json()["number"] != first.json()["number"]

            reused = await client.post("/api/v1/orders", json={"item": "x"}, headers=key | me)
            assert reused.status_code == 422
            assert reused.json()["type"].endswith("/idempotency-key-reused")

            without = await client.post("/api/v1/orders", json={"item": "mop"}, headers=me)
            assert without.json()["number"] != first.json()["number"]

            # Stored answers are sealed: the body's text is not in the database.
            rows = await stored_rows(context(app).db)
            assert len(rows) == 2
            assert all(b"mop" not in (row["body"] or b"") for row in rows)
            assert all(len(str(row["caller"])) == 64 for row in rows)


async def test_bad_key_is_400_server_errors_not_remembered_anonymous_not_keyed(
    backend: str, tmp_path: Path, nats_server: NatsServer
) -> None:
    with database(backend, tmp_path) as url:
        app = make_app(url, nats_server.url)
        async with running_app(app) as client:
            await create_schema(context(app).db)
            me = bearer("worker", WORKER)
            short = await client.post(
                "/api/v1/orders", json={}, headers={"Idempotency-Key": "x"} | me
            )
            assert short.status_code == 400
            assert short.json()["type"].endswith("/invalid-idempotency-key")

            key = {"Idempotency-Key": "explode-0001"}
            failed = await client.post("/api/v1/orders", json={"explode": True}, headers=key | me)
            assert failed.status_code == 500
            retried = await client.post("/api/v1/orders", json={"explode": True}, headers=key | me)
            assert retried.status_code == 500
            assert "idempotent-replayed" not in retried.headers

            # No token: nothing is stored, the route itself answers 401.
            anonymous = await client.post("/api/v1/orders", json={}, headers=key)
            assert anonymous.status_code == 401
            forged = await client.post(
                "/api/v1/orders", json={}, headers=key | {"Authorization": "Bearer forged"}
            )
            assert forged.status_code == 401
            assert await stored_rows(context(app).db) == []


async def test_credentials_are_never_stored(
    backend: str, tmp_path: Path, nats_server: NatsServer
) -> None:
    with database(backend, tmp_path) as url:
        app = make_app(url, nats_server.url)
        async with running_app(app) as client:
            await create_schema(context(app).db)
            headers = {"Idempotency-Key": "secret-00000001"} | bearer("admin", subject="a")
            first = await client.post("/api/v1/secrets", headers=headers)
            assert first.status_code == 201
            assert first.json()["client_secret"].startswith("s3cr3t-")
            again = await client.post("/api/v1/secrets", headers=headers)
            assert again.status_code == 409
            problem = again.json()
            assert problem["type"].endswith("/idempotent-response-withheld")
            assert problem["original_status"] == 201
            assert again.headers["location"] == first.headers["location"]
            assert "s3cr3t" not in again.text
            (row,) = await stored_rows(context(app).db)
            assert row["status"] == 201 and row["body"] is None


async def test_concurrent_twins_get_409_not_500(
    backend: str, tmp_path: Path, nats_server: NatsServer
) -> None:
    with database(backend, tmp_path) as url:
        app = make_app(url, nats_server.url)
        async with running_app(app) as client:
            await create_schema(context(app).db)
            headers = {"Idempotency-Key": "twin-00000001"} | bearer("worker", WORKER, subject="t")
            answers = await asyncio.gather(
                *(
                    client.post("/api/v1/slow", json={"seconds": 0.5}, headers=headers)
                    for _ in range(4)
                )
            )
            statuses = sorted(a.status_code for a in answers)
            assert statuses == [201, 409, 409, 409], [a.text for a in answers]
            busy = next(a for a in answers if a.status_code == 409)
            assert busy.json()["type"].endswith("/request-in-progress")
            replay = await client.post("/api/v1/slow", json={"seconds": 0.5}, headers=headers)
            assert replay.status_code == 201
            assert replay.headers["idempotent-replayed"] == "true"


async def test_expired_keys_are_purged(
    backend: str, tmp_path: Path, nats_server: NatsServer
) -> None:
    with database(backend, tmp_path) as url:
        app = make_app(url, nats_server.url)
        async with running_app(app) as client:
            db = context(app).db
            await create_schema(db)
            me = bearer("worker", WORKER)
            for n in range(3):
                await client.post(
                    "/api/v1/orders", json={}, headers={"Idempotency-Key": f"purge-{n:08d}"} | me
                )
            async with db.write() as session:
                await session.execute(
                    update(idempotency_keys)
                    .where(idempotency_keys.c.key != "purge-00000002")
                    .values(created_at=utcnow() - TTL - timedelta(minutes=1))
                )
            assert await app.state.idempotency.purge() == 2
            async with db.read() as session:
                left = await session.scalar(select(func.count()).select_from(idempotency_keys))
            assert left == 1


async def test_the_periodic_job_deletes_expired_keys(
    backend: str, tmp_path: Path, nats_server: NatsServer
) -> None:
    """Nobody calls purge(): the service's own background job removes what has expired."""
    with database(backend, tmp_path) as url:
        app = make_app(url, nats_server.url, idempotency_purge_interval=0.2)
        async with running_app(app) as client:
            db = context(app).db
            await create_schema(db)
            me = bearer("worker", WORKER)
            for n in range(2):
                answer = await client.post(
                    "/api/v1/orders", json={}, headers={"Idempotency-Key": f"job-{n:08d}"} | me
                )
                assert answer.status_code == 201
            async with db.write() as session:
                await session.execute(
                    update(idempotency_keys)
                    .where(idempotency_keys.c.key == "job-00000000")
                    .values(created_at=utcnow() - TTL - timedelta(minutes=1))
                )
            deadline = time.monotonic() + 30
            while len(rows := await stored_rows(db)) != 1:
                assert time.monotonic() < deadline, "the purge job never ran"
                await asyncio.sleep(0.1)
            assert [row["key"] for row in rows] == ["job-00000001"]


@contextmanager
def service_process(
    url: str, nats_url: str, port: int, *, slow: bool
) -> Iterator[subprocess.Popen[bytes]]:
    env = os.environ | {
        "TEST_DATABASE_URL": url,
        "TEST_NATS_URL": nats_url,
        "TEST_SLOW": "1" if slow else "0",
    }
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "uvicorn", "--factory", "tests.kit.idempotency_app:create_app"),
            *("--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"),
        ],
        env=env,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise AssertionError("service process did not start")
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)


async def test_key_of_a_killed_process_is_released_at_once(
    backend: str, tmp_path: Path, nats_server: NatsServer
) -> None:
    with database(backend, tmp_path) as url:
        db = Database(url)
        await create_schema(db)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        headers = {"Idempotency-Key": "killed-00000001"} | bearer("worker", WORKER, subject="k")
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            with service_process(url, nats_server.url, port, slow=True) as process:
                request = asyncio.create_task(
                    client.post("/api/v1/slow", json={"seconds": 60}, headers=headers)
                )
                deadline = time.monotonic() + 10
                while len(await stored_rows(db)) != 1:
                    assert time.monotonic() < deadline, "the key was never claimed"
                    await asyncio.sleep(0.05)
                os.kill(process.pid, signal.SIGKILL)
                process.wait(10)
                try:
                    await request
                except httpx.HTTPError:
                    pass
            (row,) = await stored_rows(db)
            assert row["status"] is None  # still "in progress" in the table
            started = time.monotonic()
            with service_process(url, nats_server.url, port, slow=False):
                retried = await client.post("/api/v1/slow", json={"seconds": 60}, headers=headers)
                replayed = await client.post("/api/v1/slow", json={"seconds": 60}, headers=headers)
        await db.dispose()
        # The same request with the same key runs again at once (no 409 for a dead owner's
        # key), and from then on replays.
        assert retried.status_code == 201, retried.text
        assert "idempotent-replayed" not in retried.headers
        assert replayed.headers["idempotent-replayed"] == "true"
        assert time.monotonic() - started < 30
