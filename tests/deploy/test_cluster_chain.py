"""Scale-out under failure: the event chain on a 3-node JetStream cluster with R3 streams and
every service twice (tests.support.replicas), while one NATS node and one replica of every
service are killed with SIGKILL mid-run.

Workers are registered (registry), enrolled, given a passing result and completed (training);
credit issues a certificate for each completion and matching lists it on the worker's candidate
entry. After the kills the survivors finish the workload. Then, counted in the databases and in
the streams: every completion has exactly one certificate and one candidate entry with it, each
event is in its stream once, no consumer has anything pending and nothing is dead-lettered.
On PostgreSQL when JIASAO_TEST_POSTGRES_URL is set (one database per service), else SQLite.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from contracts.credit import CertificateIssued
from contracts.training import EnrollmentCompleted
from services.kit.bus import Bus
from services.kit.idnumbers import make_id_card
from services.kit.settings import SERVICES
from tests.support.nats_cluster import PASSWORDS, Node, cluster_url, nats_cluster
from tests.support.replicas import Client, Replicated, Tally, replicated_platform

pytestmark = pytest.mark.e2e

CHAINS = 12
KILL_AFTER = 4  # completed chains before the kills
CONCURRENCY = 4
SETTLE_S = 120.0
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def cluster(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Replicated]:
    with nats_cluster(tmp_path / "nats") as nodes, replicated_platform(tmp_path, nodes) as rep:
        failed_before = request.session.testsfailed
        yield rep
        if request.session.testsfailed > failed_before:
            print(f"\nlog tails:\n{rep.log_tails()}")


async def chain(client: Client, course_id: str, run: str, i: int) -> None:
    id_card = make_id_card("441202", date(1970, 1, 1) + timedelta(days=i), f"{i % 1000:03d}")
    worker = await client.post(
        "registry",
        "/api/v1/workers",
        {
            "name": f"集群家嫂{i}",
            "id_card_number": id_card,
            "phone": f"137{i:08d}",
            "county": "duanzhou",
            "tracks": ["maternal_infant"],
        },
        key=f"{run}-w{i}",
        ok=(201, 409),
    )
    if "id" not in worker:  # registered by an attempt whose answer is withheld or was lost
        worker = await client.post(
            "registry",
            "/api/v1/workers/lookup",
            {"id_card_number": id_card},
            key=f"{run}-l{i}",
            ok=(200,),
        )
    enrollment = await client.post(
        "training",
        "/api/v1/enrollments",
        {"course_id": course_id, "worker_id": worker["id"]},
        key=f"{run}-e{i}",
        ok=(201, 409),
    )
    if "id" not in enrollment:  # enrolled by an attempt whose answer was lost
        listed = await client.get("training", "/api/v1/enrollments", {"worker_id": worker["id"]})
        enrollment = next(e for e in listed["items"] if e["course_id"] == course_id)
    path = f"/api/v1/enrollments/{enrollment['id']}"
    await client.post(
        "training",
        f"{path}/result",
        {"score": 88, "hours_attended": 40},
        key=f"{run}-r{i}",
        ok=(200,),
    )
    await client.post("training", f"{path}/complete", None, key=f"{run}-c{i}", ok=(200, 409))
    client.tally.completed += 1


async def stream_bus(rep: Replicated, service: str) -> Bus:
    bus = Bus(
        cluster_url(rep.nodes), name=service, user=service, password=PASSWORDS[service], timeout=5
    )
    await bus.start()
    await bus.wait_connected(30)
    return bus


async def kill_mid_run(rep: Replicated) -> dict[str, Any]:
    """SIGKILL the TRAINING stream's leader node and, per service, the replica that holds its
    relay lease (else replica "a"); returns what was killed."""
    bus = await stream_bus(rep, "training")
    try:
        info = await bus.js.stream_info("TRAINING")
    finally:
        await bus.close()
    assert info.cluster is not None and info.config.num_replicas == 3
    node: Node = next(n for n in rep.nodes if n.name == info.cluster.leader)
    node.kill()
    killed: dict[str, Any] = {"nats": node.name}
    for service in SERVICES:
        replica = await rep.relay_holder(service) or "a"
        rep.sets[replica].processes[service].kill()
        killed[service] = replica
    return killed


async def scrape(http: httpx.AsyncClient, rep: Replicated, replica: str, service: str) -> Samples:
    """One replica's Prometheus samples, keyed by name and labels."""
    platform = rep.sets[replica]
    response = await http.get(
        f"{platform.url(service)}/internal/metrics",
        headers={"Authorization": f"Bearer {platform.metrics_token}"},
    )
    assert response.status_code == 200, response.text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def gauge(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


async def settle(rep: Replicated, service: str, table: str, expected: int) -> int:
    """Wait until ``service``'s ``table`` holds ``expected`` rows; the count it reached.

    Generous: a durable consumer whose leader was on the killed node answers nothing until
    its group elects a new leader, ~20 s after the kill on a quiet machine, more under load.
    """
    deadline = time.monotonic() + SETTLE_S
    while True:
        count = (await rep.rows(service, f"SELECT count(*) FROM {table}"))[0][0]
        if count >= expected or time.monotonic() > deadline:
            return int(count)
        await asyncio.sleep(0.5)


async def test_nothing_lost_or_doubled_when_a_node_and_a_replica_of_each_service_die(
    cluster: Replicated,
) -> None:
    rep = cluster
    tally = Tally()
    run = uuid.uuid4().hex[:8]
    async with httpx.AsyncClient(timeout=10) as http:
        client = Client(http, rep, tally)
        course = await client.post(
            "training",
            "/api/v1/courses",
            {
                "title": f"Cluster care {run}",
                "track": "maternal_infant",
                "training_type": "pre_job",
                "hours": 40,
                "pass_score": 60,
            },
            key=f"{run}-course",
            ok=(201,),
        )
        gate = asyncio.Semaphore(CONCURRENCY)
        kill_time = asyncio.Event()

        async def one(i: int) -> None:
            async with gate:
                await chain(client, course["id"], run, i)
            if tally.completed >= KILL_AFTER:
                kill_time.set()

        before = {
            (s, r): await scrape(http, rep, r, s) for s in ("credit", "matching") for r in "ab"
        }
        work = asyncio.ensure_future(asyncio.gather(*(one(i) for i in range(CHAINS))))
        signal = asyncio.ensure_future(kill_time.wait())
        await asyncio.wait([work, signal], return_when=asyncio.FIRST_COMPLETED)
        if work.done():
            work.result()  # a chain failed before the kills: its error
        killed = await kill_mid_run(rep)
        completed_at_kill = tally.completed
        await work
        await settle(rep, "matching", "candidate_certificates", CHAINS)
        survivors = {s: "b" if killed[s] == "a" else "a" for s in ("credit", "matching")}
        after = {s: await scrape(http, rep, survivors[s], s) for s in ("credit", "matching")}
    print(f"killed {killed} after {completed_at_kill} chains; {tally.retried} retries")
    assert completed_at_kill < CHAINS, "the kills came after the workload"
    assert len(killed) == 1 + len(SERVICES)
    # The surviving replicas' metrics moved with the chain and show nothing left behind.
    for service, consumer, stream in (
        ("credit", "credit-certificates", "TRAINING"),
        ("matching", "matching-certificates", "CREDIT"),
    ):
        processed = "jiasao_consumer_processed_events"
        assert gauge(before[service, survivors[service]], processed, consumer=consumer) == 0
        assert gauge(after[service], processed, consumer=consumer) > 0, service
        for name in ("jiasao_consumer_pending_messages", "jiasao_consumer_ack_pending_messages"):
            assert gauge(after[service], name, consumer=consumer, stream=stream) == 0
        assert gauge(after[service], "jiasao_dead_letters", consumer=consumer) == 0
        assert gauge(after[service], "jiasao_nats_connected") == 1
    assert gauge(after["credit"], "jiasao_outbox_pending") == 0

    completions = dict(
        await rep.rows(
            "training",
            "SELECT id, worker_id FROM enrollments WHERE status = 'completed' AND passed",
        )
    )
    assert len(completions) == CHAINS
    certificates = await rep.rows(
        "credit", "SELECT enrollment_id, id FROM certificates WHERE enrollment_id IS NOT NULL"
    )
    per_enrollment = Counter(enrollment for enrollment, _ in certificates)
    assert set(per_enrollment) == set(completions)  # none lost
    assert set(per_enrollment.values()) == {1}  # none doubled
    listed = await rep.rows("matching", "SELECT certificate_id FROM candidate_certificates")
    shown = Counter(certificate for (certificate,) in listed)
    assert set(shown) == {certificate for _, certificate in certificates}
    assert set(shown.values()) == {1}
    candidates = Counter(
        w for (w,) in await rep.rows("matching", "SELECT worker_id FROM candidates")
    )
    assert set(completions.values()) <= set(candidates)
    assert set(candidates.values()) == {1}
    for service in SERVICES:
        dead = await rep.rows(
            service, "SELECT count(*) FROM kit_dead_letters WHERE replayed_at IS NULL"
        )
        assert dead[0][0] == 0, service

    # Each event once in its R3 stream, whose leader is now a surviving node; every durable
    # consumer (shared by both replicas of its service) has taken and acknowledged everything.
    for service, stream, subject in (
        ("training", "TRAINING", EnrollmentCompleted.subject),
        ("credit", "CREDIT", CertificateIssued.subject),
    ):
        bus = await stream_bus(rep, service)
        try:
            info = await bus.js.stream_info(stream, subjects_filter=subject)
            assert info.config.num_replicas == 3
            assert info.cluster is not None and info.cluster.leader != killed["nats"]
            assert (info.state.subjects or {}).get(subject) == CHAINS, stream
        finally:
            await bus.close()
    for service, stream, durable in (
        ("credit", "TRAINING", "credit-certificates"),
        ("matching", "CREDIT", "matching-certificates"),
    ):
        bus = await stream_bus(rep, service)
        try:
            consumer = await bus.js.consumer_info(stream, durable)
            assert (consumer.num_pending, consumer.num_ack_pending) == (0, 0), durable
            assert consumer.delivered.stream_seq >= CHAINS
        finally:
            await bus.close()

    # Credit's surviving replica has taken every worker from REGISTRY too (its consumer there
    # may have had its leader on the dead node). Then an operator rebuilds that read model on
    # the cluster, as credit's own NATS user, with credit's replicas stopped: every registered
    # worker comes back from REGISTRY.
    assert await settle(rep, "credit", "credit_workers", CHAINS) == CHAINS
    for platform in rep.sets.values():
        platform.processes["credit"].stop()
    survivor = rep.sets["b" if killed["credit"] == "a" else "a"]
    rebuilt = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "services.credit", "rebuild", "workers"],
        env=survivor.child_env("credit"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert "deleted consumer credit-workers on REGISTRY" in rebuilt.stdout
    assert f"credit_workers: {CHAINS} rows before, {CHAINS} after" in rebuilt.stdout
