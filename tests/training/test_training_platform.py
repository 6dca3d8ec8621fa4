"""Across processes, through the gateway: a poverty-alleviation target registered in the
registry trains free, attends, passes the theory and practical exams, receives credit's
certificate (on the lifelong skills record she reads herself), and the training subsidy is
approved and paid exactly once; a skill competition's winner receives credit's 肇庆市技术能手
certificate through events, as a verifiable credential a stranger checks, a positive credit
record, and an entry of the skills record."""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

import httpx
import pytest

from devtools.databases import drop_postgres_databases
from devtools.platform import Platform, PlatformConfig, PlatformError
from services.kit.idnumbers import make_id_card
from services.kit.settings import SERVICES
from tests.credit.test_credentials_e2e import stranger_verifies
from tests.e2e.conftest import start_platform
from tests.e2e.test_chain import poll, token_headers
from tests.support.databases import POSTGRES_ENV

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def platform(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    """The whole platform, on SQLite, and on PostgreSQL (one database per service on the
    server, dropped afterwards) when JIASAO_TEST_POSTGRES_URL is set."""
    var_dir = tmp_path_factory.mktemp(f"training-platform-{request.param}")
    if request.param == "sqlite":
        started = start_platform(request.config, var_dir)
        yield started
        started.stop()
        return
    server = os.environ.get(POSTGRES_ENV)
    if not server:
        pytest.skip(f"{POSTGRES_ENV} is not set")
    prefix = f"jiasao_training_{uuid.uuid4().hex[:8]}"
    config = PlatformConfig.with_free_ports(
        var_dir, database="postgresql", postgres_url=server, database_prefix=prefix
    )
    started = Platform(config)
    try:
        try:
            started.start()
        except PlatformError as exc:
            pytest.fail(f"the platform failed to start: {exc}\n{started.log_tails()}")
        yield started
    finally:
        started.stop()
        drop_postgres_databases(server, SERVICES, prefix)


def test_poverty_target_trains_free_is_certified_and_subsidised_once(platform: Platform) -> None:
    officer = token_headers(platform, "officer")
    with httpx.Client(base_url=platform.gateway_url, timeout=10, headers=officer) as api:
        created = api.post(
            "/api/v1/workers",
            json={
                "name": "梁秀芳",
                "id_card_number": make_id_card("441283", date(1979, 3, 8), "046"),
                "phone": "13800138046",
                "county": "gaoyao",
                "tracks": ["elderly_care"],
                "target_groups": ["poverty_alleviation"],
            },
        )
        assert created.status_code == 201, created.text
        worker_id = created.json()["id"]
        policy = {"amounts": {"pre_job": 800}, "eligible_groups": ["poverty_alleviation"]}
        assert api.post("/api/v1/subsidies/policy", json=policy).status_code == 201
        course = api.post(
            "/api/v1/courses",
            json={
                "title": "养老护理员（初级）",
                "track": "elderly_care",
                "training_type": "pre_job",
                "hours": 8,
                "tuition_fee": 900,
                "free_for_target_groups": True,
                "rules": {"practical_pass_score": 60},
            },
        ).json()
        session = api.post(
            f"/api/v1/courses/{course['id']}/sessions",
            json={"held_on": "2026-04-01", "hours": 8, "venue": "高要区培训中心"},
        ).json()

        def enrol() -> Any:
            body = {"course_id": course["id"], "worker_id": worker_id}
            response = api.post("/api/v1/enrollments", json=body)
            if response.status_code == 422 and "unknown-worker" in response.json()["type"]:
                return None  # the registration has not reached training yet
            assert response.status_code == 201, response.text
            return response.json()

        enrollment = poll(enrol)
        assert (enrollment["fee_due"], enrollment["fee_waived"]) == (0, True)
        path = f"/api/v1/enrollments/{enrollment['id']}"
        mark = {"session_id": session["id"], "present": True}
        assert api.post(f"{path}/attendance", json=mark).status_code == 200
        for part, score in (("theory", 86), ("practical", 78)):
            exam = {"part": part, "score": score, "taken_on": "2026-04-02"}
            assert api.post(f"{path}/exams", json=exam).status_code == 201
        done = api.post(f"{path}/complete")
        assert done.status_code == 200, done.text
        assert (done.json()["passed"], done.json()["rules_version"]) == (True, 1)

        def certificates() -> list[Any]:
            response = api.get(f"/api/v1/workers/{worker_id}/certificates")
            assert response.status_code == 200, response.text
            return response.json()["items"]  # type: ignore[no-any-return]

        [certificate] = poll(certificates)
        assert certificate["track"] == "elderly_care"

        # Credit's certificate reaches her lifelong skills record (credit.certificate.issued),
        # which she reads with her own token.
        own = token_headers(platform, "worker", worker_id)

        def record() -> list[Any]:
            response = api.get(f"/api/v1/skills-records/{worker_id}", headers=own)
            assert response.status_code == 200, response.text
            items = response.json()["items"]
            return items if any(i["kind"] == "certificate_issued" for i in items) else []

        items = poll(record)
        assert [i["kind"] for i in items] == [
            *("enrolled", "attended", "exam_theory", "exam_practical", "completed"),
            "certificate_issued",
        ]
        assert items[-1]["certificate_number"] == certificate["number"]
        assert items[-1]["title"] == "养老护理员（初级）"

        claim = api.post("/api/v1/subsidies", json={"enrollment_id": enrollment["id"]})
        assert claim.status_code == 201, claim.text
        assert claim.json()["amount"] == 800
        claim_path = f"/api/v1/subsidies/{claim.json()['id']}"
        approved = api.post(f"{claim_path}/review", json={"decision": "approve"})
        assert approved.status_code == 200, approved.text

    def pay(_: int) -> int:
        with httpx.Client(base_url=platform.gateway_url, timeout=10, headers=officer) as client:
            reference = {"payment_reference": "ZQ-TREASURY-2026-0046"}
            return client.post(f"{claim_path}/pay", json=reference).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = Counter(pool.map(pay, range(8)))
    assert statuses == {200: 1, 409: 7}


def test_competition_winner_receives_the_technical_expert_certificate(
    platform: Platform,
) -> None:
    """Training announces the award; credit issues the 技术能手 certificate, anyone verifies it
    with its check code, and it is a record in the winner's credit file."""
    officer = token_headers(platform, "officer")
    with httpx.Client(base_url=platform.gateway_url, timeout=10, headers=officer) as api:
        created = api.post(
            "/api/v1/workers",
            json={
                "name": "冯丽娟",
                "id_card_number": make_id_card("441202", date(1984, 9, 21), "062"),
                "phone": "13800138062",
                "county": "duanzhou",
                "tracks": ["elderly_care"],
            },
        )
        assert created.status_code == 201, created.text
        worker_id = created.json()["id"]
        policy = {"winners": 1, "min_total_score": 60}
        assert api.post("/api/v1/competitions/policy", json=policy).status_code == 201
        competition = api.post(
            "/api/v1/competitions",
            json={
                "title": "肇庆市养老护理职业技能竞赛",
                "track": "elderly_care",
                "held_on": "2026-05-20",
                "rounds": 1,
            },
        )
        assert competition.status_code == 201, competition.text
        path = f"/api/v1/competitions/{competition.json()['id']}"

        def enter() -> Any:
            response = api.post(f"{path}/entries", json={"worker_id": worker_id})
            if response.status_code == 422 and "unknown-worker" in response.json()["type"]:
                return None  # the registration has not reached training yet
            assert response.status_code == 201, response.text
            return response.json()

        entry = poll(enter)
        score = {"entry_id": entry["id"], "round": 1, "score": 92}
        assert api.post(f"{path}/scores", json=score).status_code == 200
        finished = api.post(f"{path}/finish")
        assert finished.status_code == 200, finished.text
        assert [(e["rank"], e["awarded"]) for e in finished.json()] == [(1, True)]

        def titles() -> list[Any]:
            response = api.get(f"/api/v1/workers/{worker_id}/certificates")
            assert response.status_code == 200, response.text
            return [c for c in response.json()["items"] if c["kind"] == "skill_title"]

        [certificate] = poll(titles)
        assert (certificate["track"], certificate["valid_until"]) == ("elderly_care", None)
        assert certificate["course_title"] == "肇庆市养老护理职业技能竞赛"

        def records() -> list[Any]:
            response = api.get(f"/api/v1/credit-files/worker/{worker_id}/records")
            assert response.status_code == 200, response.text
            return [r for r in response.json()["items"] if r["kind"] == "skill_title"]

        [record] = poll(records)
        assert record["polarity"] == "positive"

        # The title as a W3C verifiable credential, and on the winner's skills record.
        credential = api.get(f"/api/v1/certificates/{certificate['id']}/credential")
        assert credential.status_code == 200, credential.text
        assert "SkillTitleCertificate" in credential.json()["type"]

        def record_of_the_title() -> list[Any]:
            response = api.get(f"/api/v1/skills-records/{worker_id}")
            assert response.status_code == 200, response.text
            return [i for i in response.json()["items"] if i["kind"] == "certificate_issued"]

        [title] = poll(record_of_the_title)
        assert (title["certificate_kind"], title["title"]) == ("skill_title", "肇庆市技术能手")
        assert title["certificate_number"] == certificate["number"]

    verdict = stranger_verifies(credential.json(), platform.gateway_url)
    assert verdict.valid, verdict.problems

    with httpx.Client(base_url=platform.gateway_url, timeout=10) as anyone:
        verify = f"/api/v1/verifications/certificates/{certificate['number']}"
        verified = anyone.get(verify, params={"code": certificate["check_code"]})
        assert verified.status_code == 200, verified.text
        assert (verified.json()["kind"], verified.json()["valid"]) == ("skill_title", True)
        assert verified.json()["worker_name"] == "冯**"
        assert anyone.get(verify).status_code == 404  # the number alone proves nothing
