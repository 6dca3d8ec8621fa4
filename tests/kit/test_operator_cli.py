"""The operator commands of every service (services.kit.cli → services.kit.operator_cli), run
as an operator would (``python -m services.rating …``'s own ``main``) against a real nats-server
and the service's real database (SQLite; PostgreSQL too when JIASAO_TEST_POSTGRES_URL is set):
rebuild a read model from its stream, show the lag, list and replay dead letters, rotate keys.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import create_async_engine

from contracts.catalog import STREAMS
from contracts.envelope import envelope_for
from contracts.registry import EmploymentChanged, WorkerRegistered
from devtools.nats import NatsServer
from devtools.nats_auth import ensure_dev_credentials, write_dev_config
from services.kit import operator_cli
from services.kit.bus import Bus
from services.kit.cli import main
from services.kit.ids import new_id
from services.kit.tables import dead_letters, outbox
from services.kit.types import utcnow
from tests.rating.rating_support import worker_registered
from tests.support.databases import service_database
from tests.support.jetstream import JetStreamPeer


@pytest.fixture
def rating_db(backend: str, tmp_path: Path) -> Iterator[str]:
    with service_database("rating", backend, tmp_path) as url:
        yield url


@pytest.fixture
def rating_env(rating_db: str, nats_server: NatsServer, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("RATING_DATABASE_URL", rating_db)
    monkeypatch.setenv("JIASAO_NATS_URL", nats_server.url)
    for name in ("JIASAO_NATS_USER", "JIASAO_NATS_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    return rating_db


async def rating(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``python -m services.rating ARGV`` in a thread (it runs its own event loop)."""
    capsys.readouterr()
    code = await asyncio.to_thread(main, "rating", "services.rating.app:create_app", list(argv))
    out, err = capsys.readouterr()
    # Table columns are padded: compare with single spaces.
    return code, "\n".join(" ".join(line.split()) for line in out.splitlines()), err


async def sql(url: str, statement: Any, **params: Any) -> list[tuple[Any, ...]]:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            result = await conn.execute(
                text(statement) if isinstance(statement, str) else statement, params
            )
            return [tuple(row) for row in result.all()] if result.returns_rows else []
    finally:
        await engine.dispose()


def dead_letter(consumer: str, event: Any) -> dict[str, Any]:
    envelope = envelope_for(event)
    return {
        "id": str(new_id()),
        "consumer": consumer,
        "event_id": envelope.id,
        "subject": event.subject,
        "event_type": envelope.type,
        "payload": envelope.model_dump_json(),
        "error": "RuntimeError('database was read-only')",
        "attempts": 5,
        "failed_at": utcnow(),
        "replayed_at": None,
    }


async def test_rebuild_lag_and_dead_letters_on_real_nats_and_database(
    rating_env: str, nats_server: NatsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    url = rating_env
    workers = [uuid.uuid4() for _ in range(3)]
    async with JetStreamPeer(nats_server.url) as peer:
        for worker in workers:
            await peer.publish(worker_registered(worker))

        # rebuild: the stale row goes, every registered worker comes back from the stream.
        await sql(
            url,
            "INSERT INTO known_workers (worker_id, registered_at, recorded_at) VALUES (:w, :t, :t)",
            w=_db_id(url, worker_registered(uuid.uuid4())),
            t=utcnow(),
        )
        code, out, err = await rating(capsys, "rebuild", "workers")
        assert code == 0, err
        assert "known_workers: 1 rows before, 3 after" in out
        assert "replayed: rating-workers 3 events" in out
        assert "deleted consumer" not in out  # the first run: it did not exist yet
        rows = await sql(url, "SELECT worker_id FROM known_workers")
        assert {uuid.UUID(str(r[0])) for r in rows} == set(workers)

        code, out, _ = await rating(capsys, "rebuild", "workers")  # again: from the start
        assert code == 0
        assert "deleted consumer rating-workers on REGISTRY" in out
        assert "known_workers: 3 rows before, 3 after" in out

        code, _, err = await rating(capsys, "rebuild", "nonsense")
        assert code == 1
        known = "workers, employment, counties, brand-workers, skill-masters, party-standing"
        assert f"no read model 'nonsense' (this service's read models: {known})" in err

        # lag: two new registrations wait for rating-workers (nobody consumes them now).
        for _ in range(2):
            await peer.publish(worker_registered(uuid.uuid4()))
        code, out, _ = await rating(capsys, "lag")
        assert code == 0
        assert "outbox: 0 pending, oldest 0.0s, 0 parked" in out
        # An event rating wrote 90 s ago and has not published (NATS refused it, say).
        await sql(
            url,
            insert(outbox).values(
                event_id=str(uuid.uuid4()),
                subject="rating.worker.changed",
                event_type="jiasao.rating.worker.changed.v1",
                aggregate_id=str(uuid.uuid4()),
                payload="{}",
                created_at=utcnow() - timedelta(seconds=90),
                attempts=3,
            ),
        )
        code, out, _ = await rating(capsys, "lag")
        assert re.search(r"^outbox: 1 pending, oldest 9\d\.\ds, 0 parked$", out, re.M), out
        assert "rating-workers REGISTRY 2 0 0 0" in out
        assert "rating-employment REGISTRY (not created yet) 0" in out  # never ran

    # dead letters: one the handler now takes, one it still refuses.
    good = worker_registered(uuid.uuid4())
    wrong = EmploymentChanged(  # not what rating-workers handles: its handler refuses it
        worker_id=str(uuid.uuid4()),
        company_id=None,
        previous_company_id=None,
        kind=None,
        changed_at=utcnow(),
    )
    letters = [dead_letter("rating-workers", good), dead_letter("rating-workers", wrong)]
    await sql(url, insert(dead_letters).values(letters))
    code, out, _ = await rating(capsys, "dead-letters", "list")
    assert code == 0
    assert out.count("rating-workers") == 2
    assert good.event_type in out and wrong.event_type in out
    code, out, _ = await rating(capsys, "lag")
    assert "rating-workers REGISTRY 2 0 0 2" in out  # dead letters beside the lag

    code, out, _ = await rating(capsys, "dead-letters", "replay", "--id", letters[0]["id"])
    assert (code, out.splitlines()) == (0, [f"{letters[0]['id']} applied", "replayed 1 of 1"])
    assert await sql(url, "SELECT 1 FROM known_workers WHERE worker_id = :w", w=_db_id(url, good))
    code, out, _ = await rating(capsys, "dead-letters", "replay", "--all")
    assert code == 1
    assert f"{letters[1]['id']} failed again: TypeError(" in out  # kept
    assert "replayed 0 of 1" in out
    code, out, _ = await rating(capsys, "dead-letters", "list")
    assert letters[1]["id"] in out and letters[0]["id"] not in out
    code, out, _ = await rating(capsys, "dead-letters", "list", "--include-replayed")
    assert letters[0]["id"] in out
    code, out, _ = await rating(capsys, "dead-letters", "replay", "--id", letters[0]["id"])
    assert (code, out.splitlines()[0]) == (0, f"{letters[0]['id']} already applied")
    code, out, _ = await rating(capsys, "dead-letters", "replay", "--id", str(uuid.uuid4()))
    assert code == 1 and "no such dead letter in rating" in out


async def test_rebuild_as_the_services_own_nats_user(
    rating_db: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """With the generated permissions (as in production) rating may delete and re-create its
    own durable consumer on the registry's stream."""
    credentials = ensure_dev_credentials(tmp_path / "var")
    config = write_dev_config(tmp_path / "var", credentials)
    with NatsServer(store_dir=tmp_path / "store", config_file=config) as server:
        registry = Bus(
            server.url,
            name="registry",
            streams={"REGISTRY": STREAMS["REGISTRY"]},
            user="registry",
            password=credentials["registry"].password,
        )
        await registry.start()
        try:
            await registry.wait_connected(10)
            for _ in range(2):
                envelope = envelope_for(worker_registered(uuid.uuid4()))
                await registry.publish(
                    WorkerRegistered.subject,
                    envelope.model_dump_json().encode(),
                    msg_id=envelope.id,
                )
        finally:
            await registry.close()
        monkeypatch.setenv("RATING_DATABASE_URL", rating_db)
        monkeypatch.setenv("JIASAO_NATS_URL", server.url)
        monkeypatch.setenv("JIASAO_NATS_USER", "rating")
        monkeypatch.setenv("JIASAO_NATS_PASSWORD", credentials["rating"].password)
        for said, rows in (
            ("did not exist", "0 rows before, 2 after"),
            ("deleted consumer rating-employment on REGISTRY", "2 rows before, 2 after"),
        ):
            code, out, err = await rating(capsys, "rebuild", "employment")
            assert code == 0, err
            assert said in out
            assert "replayed: rating-employment 2 events" in out
            assert f"worker_employment: {rows}" in out


def _db_id(url: str, event: Any) -> str:
    """How the database stores the worker's uuid (SQLAlchemy's Uuid: hex on SQLite)."""
    worker = uuid.UUID(event.worker_id)
    return worker.hex if "sqlite" in url else str(worker)


async def test_lag_without_nats_says_so_and_fails(
    rating_db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RATING_DATABASE_URL", rating_db)
    monkeypatch.setenv("JIASAO_NATS_URL", "nats://127.0.0.1:1")  # nothing listens there
    monkeypatch.setattr(operator_cli, "NATS_WAIT_S", 1.0)
    code, out, err = await rating(capsys, "lag")
    assert code == 1
    assert "outbox: 0 pending" in out
    assert "NATS not reachable at nats://127.0.0.1:1: no consumer numbers" in err


def test_rotate_keys_of_a_service_without_keys_changes_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main("rating", "services.rating.app:create_app", ["rotate-keys"]) == 0
    out = capsys.readouterr().out
    assert "rating holds no key of its own" in out and "Nothing was changed." in out


def test_a_read_model_must_name_the_apps_own_consumers() -> None:
    from services.kit.app import create_service_app
    from services.kit.read_models import ReadModel

    with pytest.raises(ValueError, match="read model 'workers': consumers"):
        create_service_app(
            "rating",
            routers=[],
            read_models=[ReadModel("workers", ("rating-nobody",), ("known_workers",))],
            title="rating",
        )


async def test_a_rebuild_that_times_out_midway_is_retried_and_reports_the_size_before_it(
    rating_env: str,
    nats_server: NatsServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Right after a cluster node dies, JetStream requests time out. An attempt that emptied
    the tables before timing out must not make the retry report "0 rows before"."""
    workers = [uuid.uuid4() for _ in range(2)]
    async with JetStreamPeer(nats_server.url) as peer:
        for worker in workers:
            await peer.publish(worker_registered(worker))
        code, _, err = await rating(capsys, "rebuild", "workers")
        assert code == 0, err

        real_rebuild = operator_cli.rebuild
        attempts: list[int] = []

        async def times_out_after_emptying(db: Any, *args: Any, **kwargs: Any) -> Any:
            attempts.append(len(attempts) + 1)
            if len(attempts) == 1:
                await sql(rating_env, "DELETE FROM known_workers")
                raise TimeoutError("JetStream API timed out")
            return await real_rebuild(db, *args, **kwargs)

        monkeypatch.setattr(operator_cli, "rebuild", times_out_after_emptying)
        monkeypatch.setattr(operator_cli, "REBUILD_RETRY_PAUSE", 0.01)
        code, out, err = await rating(capsys, "rebuild", "workers")
    assert code == 0, err
    assert attempts == [1, 2]
    assert "NATS timed out (attempt 1); trying again" in err
    assert "known_workers: 2 rows before, 2 after" in out


async def test_a_rebuild_retries_nats_timeouts_until_its_wait_is_over_then_says_so(
    rating_env: str,
    nats_server: NatsServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A leaderless consumer answers nothing for tens of seconds after its node dies: the
    rebuild keeps trying for ``--nats-wait`` seconds, not a fixed number of times, then fails
    with the operator's next step."""
    attempts: list[float] = []

    async def always_times_out(*args: Any, **kwargs: Any) -> Any:
        attempts.append(time.monotonic())
        raise TimeoutError("JetStream API timed out")

    monkeypatch.setattr(operator_cli, "rebuild", always_times_out)
    monkeypatch.setattr(operator_cli, "REBUILD_RETRY_PAUSE", 0.05)
    code, _, err = await rating(capsys, "rebuild", "workers", "--nats-wait", "0.5")
    assert code == 1
    assert len(attempts) >= 3
    assert attempts[-1] - attempts[0] <= 0.5
    assert f"NATS timed out (attempt {len(attempts) - 1}); trying again" in err
    assert f"after {len(attempts)} attempts in 0.5s; the read model may be empty" in err
