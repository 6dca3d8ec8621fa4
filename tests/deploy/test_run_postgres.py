"""``make run`` on PostgreSQL (``JIASAO_DB=postgresql``): one database per service on the
server, created by the platform, and the whole e2e chain passing on it (the chain test of
tests/e2e, run against this platform), with every process's /internal/metrics scraped before
and after the chain. Needs ``JIASAO_TEST_POSTGRES_URL`` (CI sets it)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import make_url

from devtools.databases import (
    DatabaseSetupError,
    database_name,
    drop_postgres_databases,
    ensure_postgres_databases,
)
from devtools.platform import Platform
from devtools.platform_config import PlatformConfig, PlatformError
from services.kit.settings import SERVICES
from tests.deploy.otlp_receiver import OtlpReceiver, ReceivedSpan
from tests.e2e import test_chain as chain
from tests.support.databases import POSTGRES_ENV


def test_jiasao_db_is_read_and_checked_from_the_environment() -> None:
    config = PlatformConfig.from_env(
        {"JIASAO_DB": "postgresql", "JIASAO_POSTGRES_URL": "postgresql://u@db:5433/postgres"}
    )
    assert (config.database, config.postgres_url) == (
        "postgresql",
        "postgresql://u@db:5433/postgres",
    )
    assert config.database_prefix == "jiasao"
    assert PlatformConfig.from_env({}).database == "sqlite"
    with pytest.raises(PlatformError, match="JIASAO_DB must be one of sqlite, postgresql"):
        PlatformConfig.from_env({"JIASAO_DB": "mysql"})
    with pytest.raises(PlatformError, match="lower-case"):
        PlatformConfig.from_env({"JIASAO_DB_PREFIX": 'x"; DROP'})
    with pytest.raises(DatabaseSetupError):
        database_name("Jiasao", "registry")


def test_an_unreachable_server_fails_the_start_with_a_clear_message(tmp_path: Path) -> None:
    config = PlatformConfig.with_free_ports(
        tmp_path, database="postgresql", postgres_url="postgresql://someone:pw@127.0.0.1:1/x"
    )
    platform = Platform(config)
    with pytest.raises(
        PlatformError, match=r"PostgreSQL at someone@127.0.0.1:1: .*JIASAO_POSTGRES_URL"
    ):
        platform.start()
    assert "pw" not in str(platform.processes)
    assert platform.processes == {}  # nothing was started


def _server() -> str:
    server = os.environ.get(POSTGRES_ENV)
    if not server:
        pytest.skip(f"{POSTGRES_ENV} is not set")
    return server


def test_existing_databases_are_kept_on_the_next_start() -> None:
    server = _server()
    prefix = f"jiasao_keep_{uuid.uuid4().hex[:8]}"
    try:
        urls = ensure_postgres_databases(server, ["registry", "credit"], prefix)
        assert set(urls) == {"registry", "credit"}
        registry = make_url(urls["registry"])
        assert registry.drivername == "postgresql+asyncpg"
        assert registry.database == f"{prefix}_registry"
        sync = registry.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(sync, autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (x int)")
        assert ensure_postgres_databases(server, ["registry", "credit"], prefix) == urls
        with psycopg.connect(sync) as conn:
            assert conn.execute("SELECT count(*) FROM kept").fetchone() == (0,)
    finally:
        drop_postgres_databases(server, ["registry", "credit"], prefix)


@pytest.fixture
def otlp() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as receiver:
        yield receiver


@pytest.fixture
def postgres_platform(tmp_path: Path, otlp: OtlpReceiver) -> Iterator[tuple[Platform, str]]:
    server = _server()
    prefix = f"jiasao_run_{uuid.uuid4().hex[:8]}"
    config = PlatformConfig.with_free_ports(
        tmp_path / "var", database="postgresql", postgres_url=server, database_prefix=prefix
    )
    # Every process exports its spans to the test's OTLP receiver.
    config.env.update(OTEL_EXPORTER_OTLP_ENDPOINT=otlp.endpoint, OTEL_BSP_SCHEDULE_DELAY="100")
    platform = Platform(config)
    try:
        try:
            platform.start()
        except PlatformError as exc:
            pytest.fail(f"the platform failed to start: {exc}\n{platform.log_tails()}")
        yield platform, prefix
    finally:
        platform.stop()
        drop_postgres_databases(server, SERVICES, prefix)


def _metrics_urls(platform: Platform) -> dict[str, str]:
    return {name: f"{platform.url(name)}/internal/metrics" for name in ("gateway", *SERVICES)}


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str, token: str) -> Samples:
    """Samples keyed by name and labels."""
    response = httpx.get(url, timeout=10, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def key(name: str, **labels: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return (name, frozenset(labels.items()))


def processed(samples: Samples) -> float:
    return sum(v for k, v in samples.items() if k[0] == "jiasao_consumer_processed_events")


@pytest.mark.e2e
def test_make_run_on_postgresql_passes_the_e2e_chain(
    postgres_platform: tuple[Platform, str], otlp: OtlpReceiver
) -> None:
    platform, prefix = postgres_platform
    before = {
        name: scrape(url, platform.metrics_token) for name, url in _metrics_urls(platform).items()
    }
    chain.test_completion_reaches_the_candidate_through_every_service(platform)
    after = {
        name: scrape(url, platform.metrics_token) for name, url in _metrics_urls(platform).items()
    }
    # The metrics moved with the chain: the gateway counted what it proxied, each service its
    # requests by route template, and the consumers the events they applied.
    requests = "jiasao_http_requests_total"
    proxied = key(requests, route="proxied:training", method="POST", status="201")
    assert after["gateway"][proxied] >= before["gateway"].get(proxied, 0) + 2
    completed = "/api/v1/enrollments/{enrollment_id}/complete"
    assert after["training"][key(requests, route=completed, method="POST", status="200")] == 1
    for service in ("training", "credit", "rating", "matching"):
        assert processed(after[service]) > processed(before[service]), service
    assert after["credit"][key("jiasao_nats_connected")] == 1
    _one_trace_spans_gateway_training_credit_matching(otlp)
    # Each service migrated and wrote its own database on the server; no SQLite file exists.
    assert not list(platform.var_dir.glob("*.db"))
    admin = make_url(os.environ[POSTGRES_ENV]).set(drivername="postgresql")
    for service in SERVICES:
        url = admin.set(database=database_name(prefix, service))
        with psycopg.connect(url.render_as_string(hide_password=False)) as conn:
            (version,) = conn.execute("SELECT version_num FROM alembic_version").fetchone() or ("",)
            assert version, service
            # The chain went through this database: events it published or applied.
            (sent,) = conn.execute(
                "SELECT count(*) FROM kit_outbox WHERE published_at IS NOT NULL"
            ).fetchone() or (0,)
            (applied,) = conn.execute("SELECT count(*) FROM kit_inbox").fetchone() or (0,)
            assert sent + applied > 0, service


def _one_trace_spans_gateway_training_credit_matching(otlp: OtlpReceiver) -> None:
    """The completion request: gateway → training (request) → credit (consumes the completion,
    issues the certificate) → matching (consumes the certificate), parent by parent."""
    completion = "POST /api/v1/enrollments/{enrollment_id}/complete"

    def chain_spans(spans: list[ReceivedSpan]) -> list[ReceivedSpan] | None:
        roots = [s for s in spans if s.service == "training" and s.name == completion]
        if not roots:
            return None
        trace = [s for s in spans if s.trace_id == roots[0].trace_id]
        return trace if {"credit", "matching"} <= {s.service for s in trace} else None

    trace = chain_spans(otlp.wait_for(chain_spans))
    assert trace is not None
    by_id = {s.span_id: s for s in trace}
    (training,) = [s for s in trace if s.service == "training" and s.name == completion]
    gateway = by_id[training.parent_span_id]
    assert (gateway.service, gateway.name) == ("gateway", "POST proxied:training")
    credit = [s for s in trace if s.service == "credit" and s.parent_span_id == training.span_id]
    assert credit and all(s.name.endswith(" process") for s in credit)
    matching = [s for s in trace if s.service == "matching"]
    assert any(by_id.get(s.parent_span_id) in credit for s in matching), [
        (s.name, by_id.get(s.parent_span_id)) for s in matching
    ]
