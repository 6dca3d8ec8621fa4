"""The platform with every service twice, on a 3-node JetStream cluster, for scale-out tests.

Two :class:`devtools.platform.Platform` replica sets ("a" and "b") run the same five services on
different ports against the same databases (one SQLite file per service, or one PostgreSQL
database per service) and the same cluster (:mod:`tests.support.nats_cluster`), each service as
its own NATS user with R3 streams. The replicas of a service share its relay lease (only one
publishes the outbox) and its durable consumers (JetStream hands each event to one of them).
No gateway: clients call the replicas directly and move to the other one when a replica fails,
as a Kubernetes Service would.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from devtools.databases import drop_postgres_databases, ensure_postgres_databases
from devtools.nats_auth import NatsCredentials
from devtools.platform import Platform
from devtools.platform_config import PlatformConfig, ensure_dev_secrets
from services.kit.auth import SigningKeys, TokenIssuer
from services.kit.migrate import upgrade
from services.kit.settings import SERVICES, PlatformSettings
from tests.support.databases import POSTGRES_ENV
from tests.support.nats_cluster import PASSWORDS, Node, cluster_url

REPLICAS = ("a", "b")
#: Answers worth retrying on the other replica: it is starting, stopping or gone.
RETRY_STATUSES = {429, 502, 503, 504}


class _ReplicaSet(Platform):
    """Starts its processes without waiting for them, so both sets start side by side;
    :meth:`wait_ready` then waits for every ``/readyz``."""

    deferred = True

    def _wait_ready(self, names: tuple[str, ...] | None = None) -> None:
        if not self.deferred:
            super()._wait_ready(names)

    def wait_ready(self) -> None:
        self.deferred = False
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise


@dataclass
class Replicated:
    var_dir: Path
    nodes: list[Node]
    sets: dict[str, Platform]
    database_urls: dict[str, str]

    def urls(self, service: str) -> list[str]:
        return [platform.url(service) for platform in self.sets.values()]

    def admin_headers(self) -> dict[str, str]:
        keys = SigningKeys.load(self.var_dir / "secrets" / "jwt_keys.json")
        settings = PlatformSettings()
        token, _ = TokenIssuer(
            keys, issuer=settings.jwt_issuer, audience=settings.jwt_audience, ttl=3600
        ).issue(subject=str(uuid.uuid4()), role="admin")
        return {"Authorization": f"Bearer {token}"}

    def log_tails(self) -> str:
        parts = [platform.log_tails(20) for platform in self.sets.values()]
        parts += [f"----- {n.log} -----\n{n.log.read_text()[-3000:]}" for n in self.nodes]
        return "\n".join(parts)

    async def rows(self, service: str, sql: str) -> list[tuple[Any, ...]]:
        engine = create_async_engine(self.database_urls[service])
        try:
            async with engine.connect() as conn:
                return [tuple(row) for row in (await conn.execute(text(sql))).all()]
        finally:
            await engine.dispose()

    async def relay_holder(self, service: str) -> str | None:
        """The replica ("a" or "b") whose process holds the service's relay lease, if any."""
        found = await self.rows(service, "SELECT holder FROM kit_relay_lease WHERE name='outbox'")
        if not found:
            return None
        pid = int(str(found[0][0]).split(":")[1])
        for replica, platform in self.sets.items():
            if platform.processes[service].pid == pid:
                return replica
        return None


@contextmanager
def replicated_platform(folder: Path, nodes: list[Node]) -> Iterator[Replicated]:
    """Both replica sets, started on freshly migrated databases; stopped on leaving."""
    shared = folder / "var"
    ensure_dev_secrets(shared)
    postgres = os.environ.get(POSTGRES_ENV)
    prefix = f"jiasao_repl_{uuid.uuid4().hex[:8]}"
    env = {
        "JIASAO_VAR_DIR": str(shared),  # databases and keys: one set for both replicas
        "JIASAO_STREAM_REPLICAS": "3",
        # A killed replica's unacknowledged events come back to the other one this soon.
        **{f"{service.upper()}_ACK_WAIT": "5" for service in SERVICES},
    }
    # Migrated here, in this process (five migration processes would take longer than the
    # whole workload), then both replica sets start on the migrated databases.
    if postgres:
        urls = ensure_postgres_databases(postgres, SERVICES, prefix)
    else:
        urls = {s: f"sqlite+aiosqlite:///{shared.resolve()}/{s}.db" for s in SERVICES}
    sets: dict[str, _ReplicaSet] = {}
    try:
        for service, url in urls.items():
            upgrade(service, url)
            env[f"{service.upper()}_DATABASE_URL"] = url
        for replica in REPLICAS:
            config = PlatformConfig.with_free_ports(
                folder / replica,
                nats_url=cluster_url(nodes),
                gateway=False,
                env=env,
                migrate=False,
            )
            platform = _ReplicaSet(config)
            platform.nats_credentials = {s: NatsCredentials(s, PASSWORDS[s]) for s in SERVICES}
            sets[replica] = platform
            platform.start()
        for platform in sets.values():
            platform.wait_ready()
        yield Replicated(shared, nodes, sets, urls)
    finally:
        for platform in sets.values():
            platform.stop()
        if postgres:
            drop_postgres_databases(postgres, SERVICES, prefix)


@dataclass
class Tally:
    completed: int = 0
    retried: int = 0
    errors: list[str] = field(default_factory=list)


class Client:
    """Calls a service on either replica; a POST carries an Idempotency-Key and is retried
    (on the other replica) until answered, as a client behind a load balancer would."""

    def __init__(self, http: httpx.AsyncClient, cluster: Replicated, tally: Tally) -> None:
        self.http = http
        self.cluster = cluster
        self.tally = tally
        self.headers = cluster.admin_headers()
        self._turn = 0

    async def _send(self, service: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        deadline = time.monotonic() + 60
        while True:
            urls = self.cluster.urls(service)
            self._turn += 1
            base = urls[self._turn % len(urls)]
            try:
                response = await self.http.request(method, base + path, **kwargs)
                if response.status_code not in RETRY_STATUSES:
                    return response
            except httpx.TransportError:
                pass  # that replica is gone: the next attempt goes to the other one
            self.tally.retried += 1
            if time.monotonic() > deadline:
                raise RuntimeError(f"{method} {service}{path}: no answer within the deadline")
            await asyncio.sleep(0.1)

    async def post(
        self, service: str, path: str, body: Any, *, key: str, ok: tuple[int, ...]
    ) -> Any:
        refused = 0
        deadline = time.monotonic() + 60
        while True:
            response = await self._send(
                service,
                "POST",
                path,
                json=body,
                headers={**self.headers, "Idempotency-Key": f"{key}-{refused}"},
            )
            payload = response.json()
            if response.status_code == 409 and "request-in-progress" in response.text:
                pass  # the key's first attempt is running, or died with its replica
            elif response.status_code in ok:
                return payload
            elif response.status_code == 422 and "unknown-worker" in response.text:
                refused += 1  # training has not heard of the worker yet: ask anew, new key
            else:
                raise RuntimeError(f"POST {path} → {response.status_code}: {payload}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"POST {path}: refused until the deadline: {payload}")
            await asyncio.sleep(0.2)

    async def get(self, service: str, path: str, params: dict[str, str]) -> Any:
        response = await self._send(service, "GET", path, params=params, headers=self.headers)
        assert response.status_code == 200, response.text
        return response.json()
