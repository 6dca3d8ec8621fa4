"""``/internal/metrics`` of a kit service (services.kit.metrics), on a real database and
nats-server: requests by route template, the outbox backlog and its age, a consumer's progress
and lag, dead letters, the pool, and the optional scrape token."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi import APIRouter, Depends
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert, update

from contracts.envelope import envelope_for
from devtools.k8s import PROJECT_ROOT
from devtools.nats import NatsServer
from services.kit.app import create_service_app
from services.kit.errors import NotFound
from services.kit.ids import new_id
from services.kit.metrics import Metrics
from services.kit.outbox import publish
from services.kit.policy import public
from services.kit.subscriptions import Subscription
from services.kit.tables import dead_letters, outbox
from services.kit.types import utcnow
from tests.kit.kit_harness import create_schema, effect_count, rating_event, record_effect
from tests.support.apps import context, eventually, running_app, settings_for
from tests.support.databases import service_database

router = APIRouter(prefix="/api/v1", dependencies=[Depends(public())])


@router.get("/things/{thing_id}")
async def get_thing(thing_id: str) -> dict[str, str]:
    raise NotFound("thing", thing_id)


def make_app(database_url: str, nats_url: str) -> Any:
    settings, platform = settings_for("rating", database_url, nats_url)
    writes = APIRouter(prefix="/api/v1", dependencies=[Depends(public())])
    holder: dict[str, Any] = {}

    @writes.post("/changes", status_code=201)
    async def change() -> dict[str, str]:
        async with holder["app"].state.ctx.db.write() as session:
            envelope = await publish(session, rating_event())
        return {"event_id": envelope.id}

    app = create_service_app(
        "rating",
        routers=[router, writes],
        subscriptions=[Subscription("rating-metrics", ["rating.worker.changed"], record_effect)],
        title="metrics test",
        settings=settings,
        platform=platform,
    )
    holder["app"] = app
    return app


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(scrape: dict[Any, float], name: str, **labels: str) -> float | None:
    return scrape.get((name, tuple(sorted(labels.items()))))


SCRAPE_TOKEN = "s3cret-scrape"


@pytest.fixture(autouse=True)
def scrape_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIASAO_METRICS_TOKEN", SCRAPE_TOKEN)


async def scrape(client: Any) -> dict[Any, float]:
    headers = {"Authorization": f"Bearer {SCRAPE_TOKEN}"}
    response = await client.get("/internal/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return samples(response.text)


async def test_metrics_follow_requests_events_backlog_and_dead_letters(
    tmp_path: Path, nats_server: NatsServer, backend: str
) -> None:
    with service_database("rating", backend, tmp_path, migrate=False) as url:
        app = make_app(url, nats_server.url)
        async with running_app(app) as client:
            db = context(app).db
            await create_schema(db)
            first = await scrape(client)
            assert value(first, "jiasao_outbox_pending") == 0
            assert value(first, "jiasao_outbox_oldest_pending_age_seconds") == 0
            assert value(first, "jiasao_nats_connected") == 1
            assert value(first, "jiasao_dead_letters", consumer="rating-metrics") == 0
            assert value(first, "jiasao_consumer_processed_events", consumer="rating-metrics") == 0
            assert value(first, "jiasao_db_pool_connections_in_use") is not None

            # Requests: by route template, never the raw path (bounded label values).
            for thing in ("a", "b"):
                assert (await client.get(f"/api/v1/things/{thing}")).status_code == 404
            assert (await client.get("/no/such/path")).status_code == 404
            # An event through the outbox, the relay and JetStream to the app's own consumer.
            created = await client.post("/api/v1/changes")
            assert created.status_code == 201
            event_id = created.json()["event_id"]
            await eventually(lambda: _positive(effect_count(db, event_id)), timeout=20)

            after = await scrape(client)
            route = {"route": "/api/v1/things/{thing_id}", "method": "GET", "status": "404"}
            assert value(after, "jiasao_http_requests_total", **route) == 2
            unmatched = {"route": "unmatched", "method": "GET", "status": "404"}
            assert value(after, "jiasao_http_requests_total", **unmatched) == 1
            timed = {"route": "/api/v1/things/{thing_id}", "method": "GET"}
            assert value(after, "jiasao_http_request_duration_seconds_count", **timed) == 2
            assert not [k for k in after if "/api/v1/things/a" in str(k)]
            posted = {"route": "/api/v1/changes", "method": "POST", "status": "201"}
            assert value(after, "jiasao_http_requests_total", **posted) == 1
            consumer = {"consumer": "rating-metrics", "stream": "RATING"}
            assert value(after, "jiasao_consumer_processed_events", consumer="rating-metrics") == 1
            assert value(after, "jiasao_consumer_pending_messages", **consumer) == 0
            assert value(after, "jiasao_consumer_ack_pending_messages", **consumer) == 0
            assert value(after, "jiasao_outbox_pending") == 0

            # A backlog: the relay stops, a write waits in the outbox and grows old.
            await context(app).relay.stop()
            assert (await client.post("/api/v1/changes")).status_code == 201
            async with db.write() as session:
                await session.execute(
                    update(outbox)
                    .where(outbox.c.published_at.is_(None))
                    .values(created_at=utcnow() - timedelta(seconds=90))
                )
                envelope = envelope_for(rating_event())
                await session.execute(
                    insert(dead_letters).values(
                        id=str(new_id()),
                        consumer="rating-metrics",
                        event_id=envelope.id,
                        subject="rating.worker.changed",
                        event_type=envelope.type,
                        payload=envelope.model_dump_json(),
                        error="boom",
                        attempts=5,
                        failed_at=utcnow(),
                    )
                )
            backlog = await scrape(client)
            assert value(backlog, "jiasao_outbox_pending") == 1
            age = value(backlog, "jiasao_outbox_oldest_pending_age_seconds")
            assert age is not None and 90 <= age < 300
            assert value(backlog, "jiasao_dead_letters", consumer="rating-metrics") == 1


async def _positive(count: Any) -> bool:
    return await count > 0


async def test_a_scrape_needs_the_configured_token(tmp_path: Path, nats_server: NatsServer) -> None:
    app = make_app(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}", nats_server.url)
    async with running_app(app) as client:
        await create_schema(context(app).db)
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": SCRAPE_TOKEN}):
            refused = await client.get("/internal/metrics", headers=headers)
            assert refused.status_code == 401
            assert refused.headers["content-type"] == "application/problem+json"
            assert "jiasao_" not in refused.text
        granted = await scrape(client)
        assert value(granted, "jiasao_nats_connected") == 1


async def test_no_configured_token_means_no_metrics(
    tmp_path: Path, nats_server: NatsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JIASAO_METRICS_TOKEN")
    app = make_app(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}", nats_server.url)
    async with running_app(app) as client:
        await create_schema(context(app).db)
        for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer anything"}):
            refused = await client.get("/internal/metrics", headers=headers)
            assert refused.status_code == 401, refused.text
            assert "jiasao_" not in refused.text


def test_alert_rules_use_only_metrics_the_platform_exports() -> None:
    metrics = Metrics("credit")
    metrics.observe_request("/x", "GET", 200, 0.01)
    metrics.dead_letters.labels("c").set(0)
    for gauge in (metrics.consumer_pending, metrics.consumer_ack_pending):
        gauge.labels("c", "S").set(0)
    metrics.consumer_redelivered.labels("c", "S").set(0)
    metrics.consumer_processed.labels("c").set(0)
    metrics.scrape_errors.labels("database").inc(0)
    exported = {
        sample.name
        for family in text_string_to_metric_families(metrics.exposition().decode())
        for sample in family.samples
    }
    rules = yaml.safe_load((PROJECT_ROOT / "deploy" / "prometheus" / "alerts.yaml").read_text())
    alerts = {rule["alert"]: rule for group in rules["groups"] for rule in group["rules"]}
    assert {
        "JiasaoOutboxBacklogOld",
        "JiasaoDeadLetters",
        "JiasaoHighErrorRate",
    } <= set(alerts)
    for name, rule in alerts.items():
        used = set(re.findall(r"\bjiasao_[a-z_]+", rule["expr"]))
        assert used and used <= exported, (name, used - exported)
        assert rule["for"] and rule["labels"]["severity"] in ("page", "ticket")
    scrape = yaml.safe_load((PROJECT_ROOT / "deploy" / "prometheus" / "scrape.yaml").read_text())
    assert scrape["rule_files"] == ["alerts.yaml"]
    (job,) = scrape["scrape_configs"]
    assert job["authorization"]["type"] == "Bearer"
