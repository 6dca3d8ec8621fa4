"""Public verification needs the number and its check code; nothing else tells them apart."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx

from services.credit.codes import ALPHABET, LENGTH, matches, new_check_code, normalise
from tests.credit.credit_support import PROBLEM, Credit
from tests.support.tokens import bearer

CODE = re.compile(f"^[{ALPHABET}]{{{LENGTH}}}$")


def test_check_codes_are_random_crockford_base32() -> None:
    codes = {new_check_code() for _ in range(2000)}
    assert all(CODE.fullmatch(code) for code in codes)
    assert len(codes) == 2000  # 40 bits: a repeat in 2000 draws would be a broken generator
    # Every symbol turns up at every position (a fixed or shifted bit group would not): each
    # has a 1/32 chance per draw, so missing one in 2000 draws has odds of ~1e-28.
    for position in range(LENGTH):
        assert {code[position] for code in codes} == set(ALPHABET)
    # Typed back as people type: case, hyphens, spaces, O for 0, I and L for 1.
    assert normalise("7k3m-9qtx") == "7K3M9QTX"
    assert normalise("o1l i") == "0111"
    assert matches("0111ABCD", "oIl1-abcd")
    assert not matches("0111ABCD", None)
    assert not matches("0111ABCD", "0111ABCE")
    assert not matches("0111ABCD", "0111ABCD0")


def _without_request_id(response: httpx.Response) -> dict[str, Any]:
    body = dict(response.json())
    body.pop("request_id", None)
    return body


async def test_right_code_verifies_wrong_or_missing_code_is_an_unknown_number(
    credit: Credit,
) -> None:
    certificate = await credit.issue(await credit.known_worker("黄美玲"))
    path = f"/api/v1/verifications/certificates/{certificate.number}"
    code = certificate.check_code
    assert CODE.fullmatch(code)

    right = await credit.client.get(path, params={"code": code})
    assert right.status_code == 200
    assert right.json()["worker_name"] == "黄**"
    assert code not in right.text  # the public answer never echoes the code
    # Typed as printed, with a hyphen and in lower case, still verifies.
    typed = await credit.client.get(path, params={"code": f"{code[:4]}-{code[4:]}".lower()})
    assert typed.status_code == 200

    wrong_code = code[:-1] + ("0" if code[-1] != "0" else "1")
    answers = {
        "missing": await credit.client.get(path),
        "wrong": await credit.client.get(path, params={"code": wrong_code}),
        "empty": await credit.client.get(path, params={"code": ""}),
        "garbage": await credit.client.get(path, params={"code": "!!!"}),
    }
    unknown_number = certificate.number[:-6] + f"{int(certificate.number[-6:]) + 1:06d}"
    unknown = await credit.client.get(
        f"/api/v1/verifications/certificates/{unknown_number}", params={"code": code}
    )
    assert unknown.status_code == 404
    for name, response in answers.items():
        assert response.status_code == 404, name
        assert response.headers["content-type"] == PROBLEM
        assert "etag" not in response.headers
        assert sorted(response.headers) == sorted(unknown.headers), name
        # The same document, but for the path the caller asked for.
        expected = {**_without_request_id(unknown), "instance": path}
        assert _without_request_id(response) == expected, name
    assert certificate.number not in unknown.json()["detail"]


async def test_the_check_code_reaches_only_its_holder_and_the_staff(credit: Credit) -> None:
    worker = await credit.known_worker()
    certificate = await credit.issue(worker)
    company, employer, partner = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await credit.employ(worker, company)
    await credit.consent(worker, employer)
    await credit.consent(worker, partner)
    urls = (
        f"/api/v1/certificates/{certificate.id}",
        f"/api/v1/workers/{worker}/certificates",
        f"/api/v1/certificates?worker_id={worker}",
    )
    for owner in (bearer("worker", worker), bearer("officer"), bearer("admin")):
        for url in urls:
            assert certificate.check_code in (await credit.client.get(url, headers=owner)).text
    others = (
        bearer("company", company),
        bearer("employer", employer),
        bearer("partner", partner, scopes=["credit:read"]),
    )
    for reader in others:
        for url in urls:
            response = await credit.client.get(url, headers=reader)
            assert response.status_code == 200, (url, response.text)
            assert certificate.check_code not in response.text
