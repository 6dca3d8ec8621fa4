"""Credit's HTTP API: reading, listing and publicly verifying certificates (as an officer;
who else may read what is in test_credit_access_matrix.py)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from tests.credit.credit_support import PROBLEM, Credit, officer


async def test_verify_a_certificate_number(credit: Credit) -> None:
    worker_id = await credit.known_worker("陈秀英")
    certificate = await credit.issue(worker_id)

    response = await credit.client.get(
        f"/api/v1/verifications/certificates/{certificate.number}",
        params={"code": certificate.check_code},
    )
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "number": certificate.number,
        "kind": "training",
        "track": "elderly_care",
        "worker_name": "陈**",
        "issued_at": body["issued_at"],
        "valid_until": certificate.valid_until.isoformat() if certificate.valid_until else None,
        "valid": True,
    }
    assert datetime.fromisoformat(body["issued_at"]) == certificate.issued_at
    cached = await credit.client.get(
        f"/api/v1/verifications/certificates/{certificate.number}",
        params={"code": certificate.check_code},
        headers={"If-None-Match": response.headers["etag"]},
    )
    assert cached.status_code == 304


async def test_verify_rejects_malformed_and_unknown_numbers(credit: Credit) -> None:
    malformed = await credit.client.get("/api/v1/verifications/certificates/ZQJS-26-1")
    assert malformed.status_code == 422
    assert malformed.headers["content-type"] == PROBLEM
    assert malformed.json()["errors"][0]["field"] == "number"
    unknown = await credit.client.get(
        "/api/v1/verifications/certificates/ZQJS-2026-999999", params={"code": "7K3M9QTX"}
    )
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == PROBLEM
    assert unknown.json()["type"].endswith("/not-found")


async def test_get_certificate(credit: Credit) -> None:
    worker_id = await credit.known_worker("黄美玲")
    certificate = await credit.issue(worker_id)
    response = await credit.client.get(f"/api/v1/certificates/{certificate.id}", headers=officer())
    assert response.status_code == 200
    body = response.json()
    assert body["number"] == certificate.number
    assert body["check_code"] == certificate.check_code
    assert body["worker_id"] == str(worker_id)
    assert body["worker_name"] == "黄美玲"
    assert body["worker_id_card"] == "441202********123X"
    assert body["course_title"] == "养老护理员（初级）"
    assert body["enrollment_id"] == str(certificate.enrollment_id)
    assert date.fromisoformat(body["valid_until"]) == certificate.valid_until
    assert body["valid"] is True
    etag = response.headers["etag"]
    cached = await credit.client.get(
        f"/api/v1/certificates/{certificate.id}", headers={**officer(), "If-None-Match": etag}
    )
    assert cached.status_code == 304


async def test_missing_certificate_is_a_problem(credit: Credit) -> None:
    response = await credit.client.get(f"/api/v1/certificates/{uuid.uuid4()}", headers=officer())
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"].endswith("/not-found")
    bad_id = await credit.client.get("/api/v1/certificates/not-a-uuid", headers=officer())
    assert bad_id.status_code == 422
    assert bad_id.headers["content-type"] == PROBLEM


async def test_list_certificates_by_cursor_and_worker(credit: Credit) -> None:
    alice, bob = await credit.known_worker("李丽"), await credit.known_worker("黄芳")
    alices = [await credit.issue(alice) for _ in range(5)]
    bobs = [await credit.issue(bob)]

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"worker_id": str(alice), "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (
            await credit.client.get("/api/v1/certificates", params=params, headers=officer())
        ).json()
        seen += [c["number"] for c in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [c.number for c in alices]
    assert pages == 3

    everyone = (await credit.client.get("/api/v1/certificates", headers=officer())).json()
    assert [c["number"] for c in everyone["items"]] == [c.number for c in alices + bobs]
    assert everyone["next_cursor"] is None

    own = (await credit.client.get(f"/api/v1/workers/{bob}/certificates", headers=officer())).json()
    assert [c["number"] for c in own["items"]] == [bobs[0].number]
    assert own["items"][0]["worker_name"] == "黄芳"
    nobody = (
        await credit.client.get(f"/api/v1/workers/{uuid.uuid4()}/certificates", headers=officer())
    ).json()
    assert nobody == {"items": [], "next_cursor": None}

    for cursor in ("x", "eyJhZnRlciI6MX0"):  # garbage; base64 of {"after": 1}
        bad_cursor = await credit.client.get(
            "/api/v1/certificates", params={"cursor": cursor}, headers=officer()
        )
        assert bad_cursor.status_code == 400, cursor
        assert bad_cursor.headers["content-type"] == PROBLEM
