"""The lifelong skills record lists the certificates credit issued (credit.certificate.issued
over a real nats-server): the training certificate beside the course that earned it, the
技术能手 title and the home-service certificate, each once however often it is delivered."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from contracts.catalog import STREAMS
from contracts.credit import CertificateIssued, CertificateKind
from contracts.envelope import envelope_for
from devtools.nats import NatsServer
from devtools.nats_auth import ensure_dev_credentials, write_dev_config
from services.kit.bus import Bus
from services.kit.cli import main
from services.training.models import KnownCertificate
from tests.support.apps import context, eventually
from tests.support.databases import service_database
from tests.support.tokens import bearer
from tests.training.test_training_programme import handled, problem
from tests.training.training_support import Training

CONSUMER = "training-certificates"


def issued(
    worker_id: uuid.UUID,
    kind: CertificateKind,
    number: str,
    *,
    at: datetime,
    course_id: str | None = None,
    enrollment_id: str | None = None,
    valid_until: date | None = None,
) -> CertificateIssued:
    return CertificateIssued(
        certificate_id=str(uuid.uuid4()),
        certificate_number=number,
        kind=kind,
        worker_id=str(worker_id),
        track="maternal_infant" if kind != "home_service" else None,
        course_id=course_id,
        enrollment_id=enrollment_id,
        issued_at=at,
        valid_until=valid_until,
    )


async def certificates_of(training: Training, worker_id: uuid.UUID) -> int:
    async with context(training.app).db.read() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(KnownCertificate)
            .where(KnownCertificate.worker_id == worker_id)
        )
    return count or 0


async def test_skills_record_lists_credits_certificates_once(training: Training) -> None:
    worker, other = await training.known_worker(), await training.known_worker("黄芳")
    course = await training.own_course()
    enrollment = await training.enroll(course["id"], worker)
    path = f"/api/v1/enrollments/{enrollment['id']}"
    result = {"score": 88, "hours_attended": 40}
    assert (await training.post(f"{path}/result", result)).status_code == 200
    done = await training.post(f"{path}/complete")
    assert done.json()["passed"] is True
    completed_at = datetime.fromisoformat(done.json()["completed_at"])

    year = completed_at.year
    training_cert = issued(
        worker,
        "training",
        f"ZQJS-{year}-000101",
        at=completed_at + timedelta(seconds=1),
        course_id=course["id"],
        enrollment_id=enrollment["id"],
        valid_until=date(year + 3, 1, 1),
    )
    title = issued(worker, "skill_title", f"ZQJS-{year}-000102", at=completed_at + timedelta(2))
    card = issued(worker, "home_service", f"ZQJS-{year}-000103", at=completed_at + timedelta(3))
    someone_elses = issued(other, "training", f"ZQJS-{year}-000104", at=completed_at)
    envelope = await training.peer.publish(training_cert)
    # The same CloudEvent again under another message id, and the certificate re-published
    # under a new event id: one row still.
    await training.peer.publish(envelope, msg_id=str(uuid.uuid4()))
    ids = [envelope.id, (await training.peer.publish(training_cert)).id]
    for event in (title, card, someone_elses):
        ids.append((await training.peer.publish(event)).id)

    async def all_handled() -> bool:
        return all([await handled(training, CONSUMER, event_id) for event_id in ids])

    await eventually(all_handled)
    assert await certificates_of(training, worker) == 3

    me = bearer("worker", worker)
    record = (await training.get(f"/api/v1/skills-records/{worker}", as_=me)).json()["items"]
    certificates = [i for i in record if i["kind"] == "certificate_issued"]
    assert [
        (i["certificate_kind"], i["certificate_number"], i["title"], i["track"])
        for i in certificates
    ] == [
        ("training", f"ZQJS-{year}-000101", course["title"], "maternal_infant"),
        ("skill_title", f"ZQJS-{year}-000102", "肇庆市技术能手", "maternal_infant"),
        ("home_service", f"ZQJS-{year}-000103", "居家上门服务证", None),
    ]
    first = certificates[0]
    assert (first["enrollment_id"], first["training_type"]) == (enrollment["id"], "pre_job")
    assert first["valid_until"] == f"{year + 3}-01-01"
    # In time order: the completion, then the certificate it earned.
    kinds = [i["kind"] for i in record]
    assert kinds.index("completed") < kinds.index("certificate_issued")
    assert [i["at"] for i in record] == sorted(i["at"] for i in record)
    # The officer's page is the same record; nobody else's certificate is on it.
    assert (await training.get(f"/api/v1/skills-records/{worker}")).json()["items"] == record
    assert f"ZQJS-{year}-000104" not in {i["certificate_number"] for i in record}
    # Neither another worker, nor a company, nor an institution reads it.
    other_worker = bearer("worker", other)
    assert (
        await training.get(f"/api/v1/skills-records/{worker}", as_=other_worker)
    ).status_code == 404
    for role in ("company", "institution", "employer"):
        caller = bearer(role, uuid.uuid4())  # type: ignore[arg-type]
        response = await training.get(f"/api/v1/skills-records/{worker}", as_=caller)
        assert response.status_code == 403, role


async def test_certificates_read_model_rebuilds_as_trainings_own_nats_user(
    backend: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``python -m services.training rebuild certificates`` with the generated NATS
    permissions: training may create, delete and re-create its consumer on credit's stream."""
    credentials = ensure_dev_credentials(tmp_path / "var")
    config = write_dev_config(tmp_path / "var", credentials)
    worker = uuid.uuid4()
    with (
        service_database("training", backend, tmp_path) as url,
        NatsServer(store_dir=tmp_path / "store", config_file=config) as server,
    ):
        credit = Bus(
            server.url,
            name="credit",
            streams={"CREDIT": STREAMS["CREDIT"]},
            user="credit",
            password=credentials["credit"].password,
        )
        await credit.start()
        try:
            await credit.wait_connected(10)
            for n in (1, 2):
                event = issued(worker, "training", f"ZQJS-2026-00020{n}", at=datetime.now(UTC))
                envelope = envelope_for(event)
                await credit.publish(
                    event.subject, envelope.model_dump_json().encode(), msg_id=envelope.id
                )
        finally:
            await credit.close()
        monkeypatch.setenv("TRAINING_DATABASE_URL", url)
        monkeypatch.setenv("JIASAO_NATS_URL", server.url)
        monkeypatch.setenv("JIASAO_NATS_USER", "training")
        monkeypatch.setenv("JIASAO_NATS_PASSWORD", credentials["training"].password)
        for said, rows in (
            ("did not exist", "0 rows before, 2 after"),
            ("deleted consumer training-certificates on CREDIT", "2 rows before, 2 after"),
        ):
            capsys.readouterr()
            argv = ["rebuild", "certificates"]
            app = "services.training.app:create_app"
            code = await asyncio.to_thread(main, "training", app, argv)
            out, err = capsys.readouterr()
            out = "\n".join(" ".join(line.split()) for line in out.splitlines())
            assert code == 0, err
            assert said in out
            assert "replayed: training-certificates 2 events" in out
            assert f"known_certificates: {rows}" in out


async def test_a_certificate_credit_issued_in_the_track_admits_to_a_refresher(
    training: Training,
) -> None:
    """A refresher (回炉) needs an earlier certificate in its track: a training certificate
    credit issued counts like a pass here; one of another track, or a 技术能手 title, does not."""
    worker = await training.known_worker()
    refresher = await training.own_course(training_type="refresher", hours=8)
    body = {"course_id": refresher["id"], "worker_id": str(worker)}
    problem(await training.post("/api/v1/enrollments", body), 409, "prerequisite-missing")
    now = datetime.now(UTC)
    other_track = issued(worker, "training", "ZQJS-2024-000301", at=now).model_copy(
        update={"track": "elderly_care"}
    )
    title = issued(worker, "skill_title", "ZQJS-2024-000302", at=now)
    ids = [(await training.peer.publish(e)).id for e in (other_track, title)]

    async def all_handled() -> bool:
        return all([await handled(training, CONSUMER, event_id) for event_id in ids])

    await eventually(all_handled)
    problem(await training.post("/api/v1/enrollments", body), 409, "prerequisite-missing")
    in_track = await training.peer.publish(issued(worker, "training", "ZQJS-2024-000303", at=now))
    await eventually(lambda: handled(training, CONSUMER, in_track.id))
    enrolled = await training.post("/api/v1/enrollments", body)
    assert enrolled.status_code == 201, enrolled.text
    assert enrolled.json()["status"] == "enrolled"
