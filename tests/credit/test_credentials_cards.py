"""The home-service card end to end in one credit app, over a real nats-server and database:
eligibility from registry and training events, automatic issue with insurance, the live
colour, suspension/reinstatement as checks lapse and return, officers' actions, and the
credentials checked offline with nothing but the credential, the status lists and the DID
document (and once more by a hand-written verifier that does not use our code)."""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from contracts.credit import CardIssued, CardStatusChanged, InsuranceEnrolled
from contracts.registry import WorkerRegistered, WorkerUpdated
from services.credit.credentials import cards
from services.credit.credentials.models import CardWorkerFacts
from services.credit.credentials.multibase import b58decode, public_key_from_multibase
from services.credit.credentials.verifier import Verification, verify_credential
from services.credit.numbers import local_date
from tests.credit.credit_support import PROBLEM, Credit, officer
from tests.support.apps import context, eventually
from tests.support.tokens import bearer

BASE = "https://jiasao.zhaoqing.gov.cn"


def registered(
    worker_id: uuid.UUID, company_id: uuid.UUID | None, checks_until: date
) -> WorkerRegistered:
    return WorkerRegistered(
        worker_id=str(worker_id),
        name="陈秀英",
        gender="female",
        birth_date=None,
        county="gaoyao",
        id_card_masked="441202********123X",
        phone_masked="138****5678",
        tracks=["maternal_infant", "elderly_care"],
        languages=["cantonese"],
        status="active",
        company_id=str(company_id) if company_id else None,
        registered_at=datetime.now(UTC) - timedelta(minutes=5),
        health_check_valid_until=checks_until,
        no_criminal_record_valid_until=checks_until,
    )


def updated(worker_id: uuid.UUID, health_until: date, ncr_until: date) -> WorkerUpdated:
    return WorkerUpdated(
        worker_id=str(worker_id),
        name="陈秀英",
        county="gaoyao",
        tracks=["maternal_infant", "elderly_care"],
        languages=["cantonese"],
        education=None,
        target_groups=[],
        health_check_valid_until=health_until,
        no_criminal_record_valid_until=ncr_until,
        updated_at=datetime.now(UTC),
        status="active",
    )


class Scenario:
    def __init__(self, credit: Credit, worker_id: uuid.UUID) -> None:
        self.credit = credit
        self.client = credit.client
        self.worker_id = worker_id
        self.holder = bearer("worker", worker_id)

    async def facts(self) -> CardWorkerFacts | None:
        async with context(self.credit.app).db.read() as session:
            return await session.get(CardWorkerFacts, self.worker_id)

    async def card(self) -> dict[str, Any] | None:
        response = await self.client.get(
            f"/api/v1/workers/{self.worker_id}/credit/card", headers=self.holder
        )
        return response.json() if response.status_code == 200 else None

    async def becomes(self, state: str, colour: str) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            card = await self.card()
            return card if card and (card["state"], card["colour"]) == (state, colour) else None

        return await eventually(probe)

    async def document(self, url: str) -> dict[str, Any]:
        response = await self.client.get(url.removeprefix(BASE))
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/ld+json")
        return response.json()  # type: ignore[no-any-return]

    async def verify(self, credential: dict[str, Any]) -> Verification:
        """What a third party does: fetch the DID document and the status lists, no token."""
        did = await self.document(f"{BASE}/.well-known/did.json")
        lists = {
            entry["statusListCredential"]: await self.document(entry["statusListCredential"])
            for entry in credential["credentialStatus"]
        }
        return verify_credential(credential, did, lists)


def hand_verify(credential: dict[str, Any], did_document: dict[str, Any]) -> None:
    """eddsa-jcs-2022 by hand: JCS of these ASCII-keyed documents is sorted, compact JSON with
    non-ASCII characters kept (no rfc8785 library, none of our code but base58)."""
    proof = credential["proof"]
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    unsecured = {k: v for k, v in credential.items() if k != "proof"}

    def canon(value: Any) -> bytes:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    data = hashlib.sha256(canon(options)).digest() + hashlib.sha256(canon(unsecured)).digest()
    [method] = did_document["verificationMethod"]
    assert proof["verificationMethod"] == method["id"] in did_document["assertionMethod"]
    key = Ed25519PublicKey.from_public_bytes(
        public_key_from_multibase(method["publicKeyMultibase"])
    )
    key.verify(b58decode(proof["proofValue"][1:]), data)


async def test_card_lifecycle_and_credentials(credit: Credit) -> None:
    today = local_date(datetime.now(UTC))
    client = credit.client
    scenario = Scenario(credit, uuid.uuid4())
    worker_id = scenario.worker_id
    company_id = uuid.uuid4()
    await credit.peer.publish(registered(worker_id, company_id, today + timedelta(days=400)))
    await eventually(scenario.facts)

    # Not yet eligible: the officer's request lists every condition, met or not.
    refused = await client.post(
        "/api/v1/cards", json={"worker_id": str(worker_id)}, headers=officer()
    )
    assert refused.status_code == 409 and refused.headers["content-type"] == PROBLEM
    assert refused.json()["type"].endswith("not-eligible")
    conditions = {c["name"]: c["met"] for c in refused.json()["conditions"]}
    assert conditions == {
        "identity_verified": True,
        "registry_standing": True,
        "health_check": True,
        "no_criminal_record": True,
        "training_certificate": False,
        "company": True,
        "not_blacklisted": True,
    }
    # The worker sees the same on their own eligibility; another worker does not.
    mine = await client.get(
        f"/api/v1/workers/{worker_id}/credit/card-eligibility", headers=scenario.holder
    )
    assert mine.json()["eligible"] is False and mine.json()["policy_version"] == 1
    other = await client.get(
        f"/api/v1/workers/{worker_id}/credit/card-eligibility",
        headers=bearer("worker", uuid.uuid4()),
    )
    assert other.status_code == 404

    # The last condition comes true (a training certificate): the card is issued and insured.
    certificate = await credit.issue(worker_id)
    card = await scenario.becomes("active", "green")
    assert card["number"].startswith(f"ZQJZ-{today.year}-") and card["policy_version"] == 1
    assert card["verification_url"].startswith(f"{BASE}/verify/")
    policies = await client.get(
        f"/api/v1/insurance/policies?worker_id={worker_id}", headers=officer()
    )
    [cover] = policies.json()["items"]
    assert cover["card_id"] == card["id"] and cover["paid_by"] == "programme"
    assert cover["starts_on"] == today.isoformat()
    # The holder's company reads the card: logged where the holder sees it.
    await credit.employ(worker_id, company_id)
    company_read = await client.get(
        f"/api/v1/cards/{card['id']}", headers=bearer("company", company_id)
    )
    assert company_read.status_code == 200 and company_read.json()["verification_url"] is None
    [logged] = await credit.access_log(worker_id)
    assert (logged.resource, logged.reader_party_id) == ("card", company_id)
    await eventually(credit.all_published)
    [issued] = await credit.peer.read("CREDIT", CardIssued.subject)
    assert CardIssued.model_validate(issued.data).card_id == card["id"]
    [enrolled] = await credit.peer.read("CREDIT", InsuranceEnrolled.subject)
    assert InsuranceEnrolled.model_validate(enrolled.data).policy_number == cover["policy_number"]

    # Its credential verifies offline, by our verifier and by hand; one changed byte fails.
    credential = (
        await client.get(f"/api/v1/cards/{card['id']}/credential", headers=scenario.holder)
    ).json()
    assert credential["type"] == ["VerifiableCredential", "HomeServiceCertificate"]
    assert credential["credentialSubject"]["cardNumber"] == card["number"]
    result = await scenario.verify(credential)
    assert result.valid, result.problems
    did = await scenario.document(f"{BASE}/api/v1/credentials/issuer")
    hand_verify(credential, did)
    tampered = copy.deepcopy(credential)
    tampered["credentialSubject"]["cardNumber"] = card["number"][:-1] + "9"
    assert not (await scenario.verify(tampered)).authentic
    try:
        hand_verify(tampered, did)
        raise AssertionError("a changed byte verified")
    except InvalidSignature:
        pass

    # The QR's public page: minimal facts, masked name, no ID or phone number.
    code = card["verification_url"].rsplit("/", 1)[1]
    public = await client.get(f"/api/v1/verifications/cards/{code}")
    assert public.status_code == 200
    assert public.json() == {
        "number": card["number"],
        "worker_name": "陈**",
        "tracks": ["elderly_care", "maternal_infant"],
        "stars": None,
        "stars_year": None,
        "colour": "green",
        "state": "active",
        "valid_until": card["valid_until"],
    }
    assert "123X" not in public.text and "5678" not in public.text
    page = await client.get(f"/verify/{code}", headers={"Accept-Language": "zh-HK"})
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["content-language"] == "zh-HK" and 'data-colour="green"' in page.text
    assert "陳**" not in page.text and "陈**" in page.text and "母嬰護理" in page.text
    assert "123X" not in page.text and "5678" not in page.text
    wrong = code[:-1] + ("B" if code[-1] != "B" else "C")
    assert (await client.get(f"/api/v1/verifications/cards/{wrong}")).status_code == 404

    # The health check will expire within 30 days: yellow.
    await credit.peer.publish(
        updated(worker_id, today + timedelta(days=10), today + timedelta(days=400))
    )
    await scenario.becomes("active", "yellow")
    # Time passes beyond it: the sweep suspends the card (red) and says so.
    async with context(credit.app).db.write() as session:
        assert await cards.sweep(session, today + timedelta(days=11)) == 1
    await scenario.becomes("suspended", "red")
    await eventually(credit.all_published)
    changes = [
        CardStatusChanged.model_validate(e.data)
        for e in await credit.peer.read("CREDIT", CardStatusChanged.subject)
    ]
    assert changes[-1].state == "suspended" and "health_check" in changes[-1].reason
    # Renewed check: reinstated automatically, green.
    await credit.peer.publish(
        updated(worker_id, today + timedelta(days=400), today + timedelta(days=400))
    )
    await scenario.becomes("active", "green")

    # The registry records a lapsed check: red, and the suspension bit flips in the list.
    await credit.peer.publish(
        updated(worker_id, today - timedelta(days=1), today + timedelta(days=400))
    )
    await scenario.becomes("suspended", "red")
    assert (await client.get(f"/api/v1/verifications/cards/{code}")).json()["colour"] == "red"
    result = await scenario.verify(credential)
    assert result.authentic and result.suspended is True and result.revoked is False
    await credit.peer.publish(
        updated(worker_id, today + timedelta(days=400), today + timedelta(days=400))
    )
    await scenario.becomes("active", "green")
    result = await scenario.verify(credential)
    assert result.valid, result.problems

    # An officer blacklists the worker in their credit file: the card turns red in the same
    # transaction; ending the entry reinstates it.
    entries = f"/api/v1/credit-files/worker/{worker_id}/list-entries"
    listed = await client.post(
        entries,
        json={"list_kind": "black", "legal_basis": "家政服务条例 第十条", "reason": "fraud"},
        headers=officer(),
    )
    assert listed.status_code == 201, listed.text
    eligibility = f"/api/v1/workers/{worker_id}/credit/card-eligibility"
    assert (await client.get(eligibility, headers=officer())).json()["eligible"] is False
    await scenario.becomes("suspended", "red")
    ended = await client.post(
        f"{entries}/{listed.json()['id']}/end", json={"reason": "lifted"}, headers=officer()
    )
    assert ended.status_code == 200, ended.text
    await scenario.becomes("active", "green")

    # Coverage: one active worker in Gaoyao, holding a card.
    coverage = (await client.get("/api/v1/cards/coverage", headers=officer())).json()
    assert {"county": "gaoyao", "active_workers": 1, "card_holders": 1, "coverage": 1.0} in coverage

    # A claim within the cover is recorded; one outside it is refused.
    claims = f"/api/v1/insurance/policies/{cover['id']}/claims"
    claim = await client.post(
        claims, json={"incident_date": today.isoformat(), "incident": "滑倒"}, headers=officer()
    )
    assert claim.status_code == 201 and claim.json()["status"] == "reported"
    decide = f"/api/v1/insurance/claims/{claim.json()['id']}/decision"
    assert (
        await client.post(decide, json={"status": "paid"}, headers=officer())
    ).status_code == 409
    accepted = await client.post(decide, json={"status": "accepted"}, headers=officer())
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    paid = await client.post(decide, json={"status": "paid"}, headers=officer())
    assert paid.json()["status"] == "paid"
    late = (date.fromisoformat(cover["ends_on"]) + timedelta(days=1)).isoformat()
    outside = await client.post(
        claims, json={"incident_date": late, "incident": "x"}, headers=officer()
    )
    assert outside.status_code == 422 and outside.headers["content-type"] == PROBLEM
    assert len((await client.get(claims, headers=officer())).json()) == 1
    # Renewal reminders list the policies ending soon; renewal continues the cover.
    ending = await client.get(
        "/api/v1/insurance/policies", params={"ending_within_days": 366}, headers=officer()
    )
    assert [p["id"] for p in ending.json()["items"]] == [cover["id"]]
    renewal = await client.post(
        f"/api/v1/insurance/policies/{cover['id']}/renewal", headers=officer()
    )
    assert renewal.status_code == 201, renewal.text
    assert renewal.json()["starts_on"] == late
    again = await client.post(
        f"/api/v1/insurance/policies/{cover['id']}/renewal", headers=officer()
    )
    assert again.status_code == 409

    # Renewal: a new credential, the old one revoked.
    renewed = await client.post(f"/api/v1/cards/{card['id']}/renew", headers=officer())
    assert renewed.status_code == 200 and renewed.json()["colour"] == "green"
    assert (await scenario.verify(credential)).revoked is True
    credential = (
        await client.get(f"/api/v1/cards/{card['id']}/credential", headers=scenario.holder)
    ).json()
    assert (await scenario.verify(credential)).valid

    # An officer's suspension is not lifted by events; reinstated, then revoked for good.
    base = f"/api/v1/cards/{card['id']}"
    assert (
        await client.post(f"{base}/suspend", json={"reason": "complaint"}, headers=officer())
    ).json()["colour"] == "red"
    await credit.peer.publish(
        updated(worker_id, today + timedelta(days=401), today + timedelta(days=400))
    )
    await eventually(lambda: _health_is(scenario, today + timedelta(days=401)))
    assert (await scenario.card() or {}).get("state") == "suspended"
    assert (await scenario.verify(credential)).suspended is True
    assert (
        await client.post(f"{base}/reinstate", json={"reason": "cleared"}, headers=officer())
    ).status_code == 200
    assert (
        await client.post(f"{base}/revoke", json={"reason": "left"}, headers=officer())
    ).status_code == 200
    result = await scenario.verify(credential)
    assert result.revoked is True and not result.valid
    again = await client.post(f"{base}/revoke", json={"reason": "again"}, headers=officer())
    assert again.status_code == 409 and again.headers["content-type"] == PROBLEM

    # The training certificate is a credential too.
    training = await client.get(
        f"/api/v1/certificates/{certificate.id}/credential", headers=scenario.holder
    )
    assert training.status_code == 200
    assert training.json()["credentialSubject"]["certificateNumber"] == certificate.number
    assert (await scenario.verify(training.json())).valid
    hand_verify(training.json(), did)
    stranger = await client.get(
        f"/api/v1/certificates/{certificate.id}/credential", headers=bearer("worker", uuid.uuid4())
    )
    assert stranger.status_code == 404


async def _health_is(scenario: Scenario, day: date) -> bool:
    facts = await scenario.facts()
    return facts is not None and facts.health_check_valid_until == day


async def test_exception_policy_versions_and_access(credit: Credit) -> None:
    client = credit.client
    today = local_date(datetime.now(UTC))
    worker_id = uuid.uuid4()
    scenario = Scenario(credit, worker_id)
    await credit.peer.publish(registered(worker_id, None, today + timedelta(days=400)))
    await eventually(scenario.facts)
    await credit.issue(worker_id)
    # No company: not issued automatically; an officer's exception issues it.
    refused = await client.post(
        "/api/v1/cards", json={"worker_id": str(worker_id)}, headers=officer()
    )
    assert refused.status_code == 409
    assert {
        "name": "company",
        "met": False,
        "detail": "no employing company and no officer's exception",
    } in refused.json()["conditions"]
    body = {"worker_id": str(worker_id), "exception_reason": "独立从业，街道推荐"}
    created = await client.post("/api/v1/cards", json=body, headers=officer())
    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"/api/v1/cards/{created.json()['id']}"
    assert (await client.post("/api/v1/cards", json=body, headers=officer())).status_code == 409
    unknown = {"worker_id": str(uuid.uuid4())}
    assert (await client.post("/api/v1/cards", json=unknown, headers=officer())).status_code == 404
    # Others: companies not employing the worker, and the public, see nothing.
    assert (
        await client.get(
            f"/api/v1/cards/{created.json()['id']}", headers=bearer("company", uuid.uuid4())
        )
    ).status_code == 404
    assert (await client.get(f"/api/v1/cards/{created.json()['id']}")).status_code == 401
    qr = await client.get(f"/api/v1/cards/{created.json()['id']}/qr", headers=scenario.holder)
    assert qr.status_code == 200 and qr.json()["svg"].startswith("<svg")
    assert qr.json()["verification_url"] == created.json()["verification_url"]

    # Past its last day the card expires: announced once, red.
    last_day = date.fromisoformat(created.json()["valid_until"])
    async with context(credit.app).db.write() as session:
        # The checks (valid 400 days) lapsed before: suspended, then expired.
        assert await cards.sweep(session, last_day + timedelta(days=1)) == 2
        assert await cards.sweep(session, last_day + timedelta(days=2)) == 0
    await eventually(credit.all_published)
    changes = [
        CardStatusChanged.model_validate(e.data)
        for e in await credit.peer.read("CREDIT", CardStatusChanged.subject)
    ]
    assert [(c.state, c.colour, c.reason[:10]) for c in changes][-1] == (
        "suspended",
        "red",
        "expired on",
    )

    # Policy is data: a new version, readable, used from then on.
    [v1] = (await client.get("/api/v1/cards/policies", headers=officer())).json()
    rules = {**v1["rules"], "min_training_certificates": 2}
    added = await client.post(
        "/api/v1/cards/policies", json={"rules": rules, "note": "two courses"}, headers=officer()
    )
    assert added.status_code == 201 and added.json()["version"] == 2
    eligibility = await client.get(
        f"/api/v1/workers/{worker_id}/credit/card-eligibility", headers=officer()
    )
    assert eligibility.json()["policy_version"] == 2 and eligibility.json()["eligible"] is False
    bad = await client.post(
        "/api/v1/cards/policies",
        json={"rules": {**rules, "insurance": {**rules["insurance"], "years": 3}}, "note": "x"},
        headers=officer(),
    )
    assert bad.status_code == 422
    lax = {**rules, "insurance": {**rules["insurance"], "premium_cents": False}}
    refused_lax = await client.post(
        "/api/v1/cards/policies", json={"rules": lax, "note": "x"}, headers=officer()
    )
    assert refused_lax.status_code == 422  # false is not 0 fen
    assert len((await client.get("/api/v1/cards/policies", headers=officer())).json()) == 2
    assert (
        await client.post(
            "/api/v1/cards/policies", json={"rules": rules, "note": "x"}, headers=scenario.holder
        )
    ).status_code == 403
