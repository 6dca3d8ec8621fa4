"""肇庆市技术能手 certificates from training's competition awards, over a real nats-server."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select

from contracts.credit import CertificateIssued
from contracts.training import CompetitionAwarded
from services.credit.models import Certificate, CompetitionAward
from services.credit.numbers import local_date
from tests.credit.credit_support import Credit
from tests.credit.test_credentials_cards import BASE, Scenario, hand_verify
from tests.support.apps import context, eventually
from tests.support.tokens import bearer

CONSUMER = "credit-skill-titles"


def competition_awarded(worker_id: uuid.UUID, *, rank: int = 1) -> CompetitionAwarded:
    return CompetitionAwarded(
        award_id=str(uuid.uuid4()),
        competition_id=str(uuid.uuid4()),
        competition_title="2026年肇庆市家政服务职业技能竞赛（养老护理）",
        worker_id=str(worker_id),
        track="elderly_care",
        rank=rank,
        total_score=271.5,
        title="technical_expert",
        policy_version=1,
        awarded_at=datetime.now(UTC),
    )


async def skill_titles(credit: Credit) -> list[Certificate]:
    async with context(credit.app).db.read() as session:
        query = select(Certificate).where(Certificate.kind == "skill_title")
        return list((await session.scalars(query)).all())


async def test_a_winner_gets_one_verifiable_skill_title_certificate_and_a_record(
    credit: Credit,
) -> None:
    worker = await credit.known_worker("梁秀珍")
    training_certificate = await credit.issue(worker)  # the ZQJS series is shared
    event = competition_awarded(worker)
    envelope = await credit.peer.publish(event)
    # The same CloudEvent under another Nats-Msg-Id, and the same award under a new event id:
    # the inbox stops the first, the award log the second.
    await credit.peer.publish(envelope, msg_id=str(uuid.uuid4()))
    await credit.peer.publish(event)
    await eventually(lambda: credit.processed(CONSUMER, 3))

    [title] = await skill_titles(credit)
    year = local_date(title.issued_at).year
    assert training_certificate.number == f"ZQJS-{year}-000001"
    assert title.number == f"ZQJS-{year}-000002"
    assert (title.worker_id, title.track, title.valid_until) == (worker, "elderly_care", None)
    assert title.course_title == event.competition_title
    assert title.enrollment_id is None and title.course_id is None
    async with context(credit.app).db.read() as session:
        award = await session.get(CompetitionAward, uuid.UUID(event.award_id))
    assert award is not None and award.certificate_id == title.id

    # Announced once, for matching.
    await eventually(credit.all_published)
    issued = [
        CertificateIssued.model_validate(e.data)
        for e in await credit.peer.read("CREDIT", CertificateIssued.subject)
        if e.data["kind"] == "skill_title"
    ]
    assert [(i.certificate_id, i.certificate_number) for i in issued] == [
        (str(title.id), title.number)
    ]
    assert (issued[0].worker_id, issued[0].valid_until) == (str(worker), None)

    # Verifiable by number and check code like any certificate; a wrong code is unknown.
    path = f"/api/v1/verifications/certificates/{title.number}"
    right = await credit.client.get(path, params={"code": title.check_code})
    assert right.status_code == 200, right.text
    assert right.json()["kind"] == "skill_title"
    assert right.json()["valid"] is True
    assert right.json()["worker_name"] == "梁**"
    wrong = "0000000" + ("1" if title.check_code[-1] != "1" else "2")
    assert (await credit.client.get(path, params={"code": wrong})).status_code == 404

    # One positive skill_title record in the worker's credit file, beside the course's.
    me = bearer("worker", worker)
    records = (
        await credit.client.get(f"/api/v1/credit-files/worker/{worker}/records", headers=me)
    ).json()["items"]
    assert sorted(r["kind"] for r in records) == ["certificate", "skill_title"]
    [record] = [r for r in records if r["kind"] == "skill_title"]
    assert record["polarity"] == "positive"
    assert title.number in record["reason"]

    # Its credential says what it is.
    credential = await credit.client.get(f"/api/v1/certificates/{title.id}/credential", headers=me)
    assert credential.status_code == 200, credential.text
    document = credential.json()
    assert document["type"] == ["VerifiableCredential", "SkillTitleCertificate"]
    assert document["name"] == "肇庆市技术能手"
    assert document["credentialSubject"]["competition"] == event.competition_title
    assert "validUntil" not in document
    # Verified as a third party would: the published DID document and status lists only.
    scenario = Scenario(credit, worker)
    assert (await scenario.verify(document)).valid
    hand_verify(document, await scenario.document(f"{BASE}/.well-known/did.json"))
