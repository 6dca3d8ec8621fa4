"""NATS users per service (devtools.nats_auth) against a real nats-server run with the config
``make run`` generates: anonymous clients are refused, each service can do exactly its job."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeout

from contracts.catalog import STREAMS
from contracts.envelope import CloudEvent, EventData, envelope_for
from contracts.rating import WorkerRatingChanged
from devtools.nats import NatsServer, find_nats_server
from devtools.nats_auth import (
    DEPLOY_ACCOUNTS,
    NatsCredentials,
    declared_consumers,
    deploy_accounts,
    ensure_dev_credentials,
    write_dev_config,
)
from services.kit.bus import Bus, StreamMissing
from services.kit.db import Database
from services.kit.inbox import ConsumerRunner
from services.kit.settings import SERVICES
from services.kit.subscriptions import Subscription
from tests.kit.kit_harness import create_schema, rating_event

DEPLOY_CONFIG = DEPLOY_ACCOUNTS.parent / "nats-server.conf"


@pytest.fixture
def credentials(tmp_path: Path) -> dict[str, NatsCredentials]:
    return ensure_dev_credentials(tmp_path / "var")


@pytest.fixture
def secured(tmp_path: Path, credentials: dict[str, NatsCredentials]) -> Iterator[NatsServer]:
    config = write_dev_config(tmp_path / "var", credentials)
    with NatsServer(store_dir=tmp_path / "store", config_file=config) as server:
        yield server


class Violations:
    """What the server reported to a client as asynchronous errors (permission violations)."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    async def record(self, exc: Exception) -> None:
        self.errors.append(str(exc).lower())

    def saw(self, text: str) -> bool:
        return any(text.lower() in error for error in self.errors)


async def _connect(server: NatsServer, creds: NatsCredentials, errors: Violations) -> Client:
    return await nats.connect(
        server.url,
        user=creds.user,
        password=creds.password,
        inbox_prefix=f"_INBOX.{creds.user}",
        error_cb=errors.record,
        allow_reconnect=False,
    )


def _bus(server: NatsServer, creds: NatsCredentials) -> Bus:
    own = creds.user.upper()
    streams = {own: STREAMS[own]} if own in STREAMS else {}
    return Bus(server.url, name=creds.user, streams=streams, user=creds.user,
               password=creds.password, timeout=1.0)  # fmt: skip


@pytest.fixture
async def matching_db(tmp_path: Path) -> AsyncIterator[Database]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'matching.db'}")
    await create_schema(db)
    yield db
    await db.dispose()


def test_secrets_are_private_and_kept(tmp_path: Path, credentials: dict[str, Any]) -> None:
    secrets_dir = tmp_path / "var" / "secrets"
    assert set(credentials) == set(SERVICES)
    assert len({c.password for c in credentials.values()}) == len(SERVICES)
    for service in SERVICES:
        path = secrets_dir / "nats" / f"{service}.json"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ensure_dev_credentials(tmp_path / "var") == credentials  # created once
    config = write_dev_config(tmp_path / "var", credentials)
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert "no_auth_user" not in config.read_text()


async def test_anonymous_and_wrong_passwords_are_refused(
    secured: NatsServer, credentials: dict[str, NatsCredentials]
) -> None:
    for user, password in ((None, None), ("registry", "guess"), ("registry", None)):
        with pytest.raises(NatsError, match="Authorization Violation"):
            await nats.connect(
                secured.url, user=user, password=password, allow_reconnect=False,
                max_reconnect_attempts=0, connect_timeout=2,
            )  # fmt: skip
    wrong = credentials["credit"].password  # another service's password is not registry's
    with pytest.raises(NatsError, match="Authorization Violation"):
        await nats.connect(secured.url, user="registry", password=wrong, allow_reconnect=False)


async def test_services_do_their_job_through_the_kit(
    secured: NatsServer, credentials: dict[str, NatsCredentials], matching_db: Database
) -> None:
    """rating provisions its stream and publishes; matching consumes it with the kit's own
    durable pull consumer (create, pull, ack) and cannot create a stream it does not own."""
    rating, matching = _bus(secured, credentials["rating"]), _bus(secured, credentials["matching"])
    seen: list[str] = []

    async def record(_session: Any, envelope: CloudEvent[Any], _data: EventData) -> None:
        seen.append(envelope.id)

    runner = ConsumerRunner(
        Subscription("matching-ratings", [WorkerRatingChanged.subject], record),
        matching_db,
        matching,
        fetch_timeout=0.2,
    )
    await matching.start()
    await matching.wait_connected(10)
    with pytest.raises(StreamMissing, match="RATING"):  # nobody created it yet
        await matching.ensure_stream("RATING", STREAMS["RATING"])
    await rating.start()
    await rating.wait_connected(10)
    try:
        envelope = envelope_for(rating_event())
        ack = await rating.publish(
            WorkerRatingChanged.subject, envelope.model_dump_json().encode(), msg_id=envelope.id
        )
        assert (ack.stream, ack.seq) == ("RATING", 1)
        await runner.start()
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.1)
        assert seen == [envelope.id]
        info = await matching.js.consumer_info("RATING", "matching-ratings")
        for _ in range(50):  # the ack is sent after the inbox commit
            if info.ack_floor and info.ack_floor.stream_seq == 1:
                break
            await asyncio.sleep(0.1)
            info = await matching.js.consumer_info("RATING", "matching-ratings")
        assert info.ack_floor is not None and info.ack_floor.stream_seq == 1
        assert info.num_ack_pending == 0
    finally:
        await runner.stop()
        await rating.close()
        await matching.close()


async def test_a_service_cannot_touch_what_is_not_its_own(
    secured: NatsServer, credentials: dict[str, NatsCredentials]
) -> None:
    rating = _bus(secured, credentials["rating"])
    await rating.start()
    await rating.wait_connected(10)
    errors = Violations()
    nc = await _connect(secured, credentials["matching"], errors)
    js = nc.jetstream(timeout=0.5)
    try:
        with pytest.raises(NatsTimeout):  # a refused publish never gets a JetStream ack
            await js.publish(WorkerRatingChanged.subject, b"forged")
        assert errors.saw('publish to "rating.worker.changed"')
        for attempt, subject in (
            (js.streams_info(), "$JS.API.STREAM.LIST"),
            (js.find_stream_name_by_subject("rating.>"), "$JS.API.STREAM.NAMES"),
            (js.delete_stream("RATING"), "$JS.API.STREAM.DELETE.RATING"),
            (js.purge_stream("RATING"), "$JS.API.STREAM.PURGE.RATING"),
            (js.update_stream(name="RATING", subjects=["rating.>"]), "STREAM.UPDATE.RATING"),
            (js.add_consumer("RATING", durable_name="credit-steal"), "CREATE.RATING.credit-steal"),
            (js.consumer_info("REGISTRY", "credit-workers"), "INFO.REGISTRY.credit-workers"),
            (js.delete_consumer("REGISTRY", "credit-workers"), "DELETE.REGISTRY.credit-workers"),
        ):
            with pytest.raises(NatsTimeout):
                await attempt
            assert errors.saw(subject), (subject, errors.errors)
        await nc.subscribe("_INBOX.rating.>")  # rating's replies are not matching's to read
        await nc.flush()
        await asyncio.sleep(0.2)
        assert errors.saw('subscription to "_inbox.rating.>"'), errors.errors
        assert (await rating.js.stream_info("RATING")).state.messages == 0
    finally:
        await nc.close()
        await rating.close()


def test_every_declared_consumer_is_named_after_its_service() -> None:
    for service in SERVICES:
        for consumer in declared_consumers(service):
            assert consumer.name.startswith(f"{service}-"), consumer
            assert consumer.stream in STREAMS and consumer.stream != service.upper()


def test_deploy_accounts_are_generated_from_the_code() -> None:
    assert DEPLOY_ACCOUNTS.read_text(encoding="utf-8") == deploy_accounts(), (
        "deploy/nats/accounts.conf is stale: run `python -m devtools.nats_auth deploy`"
    )


def test_deploy_cluster_config_is_valid_for_nats_server(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "NATS_SERVER_NAME": "nats-0",
        "NATS_ROUTE_PASSWORD": "route",
        **{f"NATS_ROUTE_{n}": f"nats://route:route@nats-{n}.nats:6222" for n in range(3)},
        "NATS_SYS_PASSWORD": "sys",
        **{f"{service.upper()}_NATS_PASSWORD": service for service in SERVICES},
    }
    result = subprocess.run(
        [find_nats_server(), "-t", "-c", str(DEPLOY_CONFIG)],
        env=env, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    settings = [
        line
        for path in (DEPLOY_CONFIG, DEPLOY_ACCOUNTS)
        for line in path.read_text().splitlines()
        if not line.lstrip().startswith("#")
    ]
    assert not [line for line in settings if "no_auth_user" in line]
    assert json.dumps("_INBOX.registry.>") in DEPLOY_ACCOUNTS.read_text()
