"""Brand cases and nominations (issue 12): who may do what, what the public sees of drafts,
published and withdrawn cases, photo uploads and their limits, and bad input as problems."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from services.rating.brand.service import PHOTO_MAX_BYTES
from tests.rating.rating_support import RatingHarness, company_staff, employer, officer
from tests.support.tokens import bearer

CASES = "/api/v1/brand/cases"
NOMINATIONS = "/api/v1/brand/nominations"
PROBLEM = "application/problem+json"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def case_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "model_worker",
        "title": {"zh-CN": "月嫂陈姐", "zh-HK": "月嫂陳姐", "en": "Sister Chen, maternity nurse"},
        "body": {"zh-CN": "十年如一日照护产妇与新生儿。"},
        "county": "gaoyao",
        "source": "competition",
    }
    return body | overrides


def is_problem(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM), response.headers


async def test_case_access_publication_and_photos(rating: RatingHarness) -> None:
    client = rating.client
    worker = await rating.register()
    staff = officer()
    someone = {
        "worker": bearer("worker", worker),
        "employer": employer(),
        "company": company_staff(uuid.uuid4()),
        "institution": bearer("institution", uuid.uuid4()),
        "partner": bearer("partner", uuid.uuid4(), scopes=["candidates:read"]),
    }

    # Only officers and admins write cases; a token is needed to write at all.
    assert (await client.post(CASES, json=case_body())).status_code == 401
    for headers in someone.values():
        is_problem(await client.post(CASES, json=case_body(), headers=headers), 403)
    created = await client.post(CASES, json=case_body(worker_id=str(worker)), headers=staff)
    assert created.status_code == 201, created.text
    case = created.json()
    case_id, path = case["id"], f"{CASES}/{case['id']}"
    assert created.headers["Location"] == path
    assert case["state"] == "draft" and case["worker_id"] == str(worker)
    admin = await client.post(CASES, json=case_body(kind="case"), headers=bearer("admin"))
    assert admin.status_code == 201

    # A draft does not exist for the public nor for any role but officers (same 404 as never).
    for headers in [{}, *someone.values()]:
        is_problem(await client.get(path, headers=headers), 404)
        listed = await client.get(CASES, headers=headers)
        assert listed.status_code == 200 and listed.json()["items"] == []
    assert (await client.get(path, headers=staff)).json()["state"] == "draft"
    drafts = await client.get(CASES, params={"state": "draft"}, headers=staff)
    assert {c["id"] for c in drafts.json()["items"]} == {case_id, admin.json()["id"]}
    for headers in ({}, someone["worker"]):  # drafts do not exist for them
        hidden = await client.get(CASES, params={"state": "draft"}, headers=headers)
        assert hidden.status_code == 200 and hidden.json()["items"] == []

    # Photo: officers only, JPEG or PNG by type *and* magic bytes, bounded in size.
    photo = f"{path}/photo"
    png = {"Content-Type": "image/png"}
    is_problem(await client.put(photo, content=PNG, headers=png), 401)
    is_problem(await client.put(photo, content=PNG, headers={**png, **someone["company"]}), 403)
    is_problem(await client.put(photo, content=b"GIF89a....", headers={**staff, **png}), 415)
    is_problem(
        await client.put(photo, content=b"GIF89a", headers={**staff, "Content-Type": "image/gif"}),
        415,
    )
    is_problem(await client.put(photo, content=JPEG, headers={**staff, **png}), 415)
    too_big = PNG + b"\x00" * PHOTO_MAX_BYTES
    is_problem(await client.put(photo, content=too_big, headers={**staff, **png}), 413)
    is_problem(await client.put(photo, content=b"", headers={**staff, **png}), 400)
    is_problem(
        await client.put(f"{CASES}/{uuid.uuid4()}/photo", content=PNG, headers={**staff, **png}),
        404,
    )
    octets = {**staff, "Content-Type": "application/octet-stream"}
    is_problem(await client.put(photo, content=b"GIF89a....", headers=octets), 415)
    assert (await client.put(photo, content=PNG, headers=octets)).status_code == 200  # sniffed
    shown = await client.get(photo, headers={**staff, "Accept": "image/png"})
    assert shown.headers["content-type"] == "image/png" and shown.content == PNG
    put = await client.put(photo, content=JPEG, headers={**staff, "Content-Type": "image/jpeg"})
    assert put.status_code == 200 and put.json()["photo_url"] == photo
    is_problem(await client.get(photo), 404)  # still a draft

    # Publishing shows the case, without its worker id, and its photo with an ETag.
    is_problem(await client.post(f"{path}/publish", headers=someone["worker"]), 403)
    is_problem(await client.post(f"{path}/withdraw", headers=staff), 409)  # never published
    published = await client.post(f"{path}/publish", headers=staff)
    assert published.status_code == 200 and published.json()["state"] == "published"
    is_problem(await client.post(f"{path}/publish", headers=staff), 409)
    public = await client.get(path)
    assert public.status_code == 200
    assert public.json()["title"]["zh-HK"] == "月嫂陳姐" and public.json()["has_photo"]
    assert public.json()["worker_id"] is None and public.json()["created_at"] is None
    again = await client.get(path, headers={"If-None-Match": public.headers["ETag"]})
    assert again.status_code == 304
    image = await client.get(photo, headers={"Accept": "image/avif,image/*,*/*;q=0.8"})
    assert image.status_code == 200 and image.content == JPEG
    assert image.headers["content-type"] == "image/jpeg"  # what a browser asks for
    assert (await client.get(photo)).headers["content-type"] == "application/octet-stream"
    cached = await client.get(photo, headers={"If-None-Match": image.headers["ETag"]})
    assert cached.status_code == 304
    listed = await client.get(CASES, params={"kind": "model_worker"})
    assert [c["id"] for c in listed.json()["items"]] == [case_id]
    assert (await client.get(CASES, params={"kind": "case"})).json()["items"] == []
    assert (await client.get(CASES, params={"county": "sihui"})).json()["items"] == []

    # Withdrawing hides it again, photo included.
    assert (await client.post(f"{path}/withdraw", headers=staff)).json()["state"] == "withdrawn"
    is_problem(await client.get(path), 404)
    is_problem(await client.get(photo), 404)
    assert (await client.get(CASES)).json()["items"] == []
    assert (await client.get(photo, headers=staff)).status_code == 200

    # Bad input is a problem, never a 500 nor a silent fix-up.
    for bad in (
        case_body(title={"zh-HK": "只有繁體"}),
        case_body(title={"zh-CN": "   "}),
        case_body(title={"zh-CN": "x", "fr": "non"}),
        case_body(kind="hero"),
        case_body(source="lottery"),
        case_body(county="nowhere"),
        case_body(worker_id=str(uuid.uuid4())),  # not a registered worker
        case_body(author="me"),
    ):
        is_problem(await client.post(CASES, json=bad, headers=staff), 422)
    is_problem(await client.get(CASES, params={"cursor": "not-ours"}), 400)
    is_problem(await client.get(f"{CASES}/not-a-uuid"), 422)


async def test_nominations_open_call_company_and_decisions(rating: RatingHarness) -> None:
    client = rating.client
    company = uuid.uuid4()
    own = await rating.register(company_id=company)
    other = await rating.register()
    staff = officer()
    nomination = {
        "kind": "model_worker",
        "title": {"zh-CN": "好阿姨"},
        "body": {"zh-CN": "照顾老人细心周到。", "en": "Caring and thorough."},
        "county": "duanzhou",
    }

    is_problem(await client.post(NOMINATIONS, json={**nomination, "worker_id": str(own)}), 401)
    for role in ("officer", "institution"):
        headers = bearer(role, None if role == "officer" else uuid.uuid4())
        response = await client.post(
            NOMINATIONS, json={**nomination, "worker_id": str(own)}, headers=headers
        )
        is_problem(response, 403)
    # A company recommends its own workers only; its source says so.
    staff_of = company_staff(company)
    is_problem(
        await client.post(
            NOMINATIONS, json={**nomination, "worker_id": str(other)}, headers=staff_of
        ),
        403,
    )
    recommended = await client.post(
        NOMINATIONS, json={**nomination, "worker_id": str(own)}, headers=staff_of
    )
    assert recommended.status_code == 201, recommended.text
    assert recommended.json()["source"] == "company_recommendation"
    assert recommended.json()["company_id"] == str(company)
    # Open call: a worker or an employer; the nominator comes from the token, idempotently.
    account = uuid.uuid4()
    key = {"Idempotency-Key": "brand-nomination-0001"}
    headers = {**employer(account), **key}
    first = await client.post(
        NOMINATIONS, json={**nomination, "worker_id": str(other)}, headers=headers
    )
    replay = await client.post(
        NOMINATIONS, json={**nomination, "worker_id": str(other)}, headers=headers
    )
    assert first.status_code == replay.status_code == 201
    assert replay.json()["id"] == first.json()["id"]
    assert first.json()["source"] == "open_call" and first.json()["nominated_by"] == str(account)
    by_worker = await client.post(
        NOMINATIONS,
        json={**nomination, "kind": "case", "worker_id": None},
        headers=bearer("worker", other),
    )
    assert by_worker.status_code == 201, by_worker.text
    is_problem(
        await client.post(
            NOMINATIONS, json={**nomination, "nominated_by": "x"}, headers=employer()
        ),
        422,
    )
    is_problem(
        await client.post(NOMINATIONS, json=nomination, headers=employer()), 422
    )  # no worker

    # Officers list (paginated) and decide; nobody else may.
    for headers in ({}, employer(), staff_of):
        assert (await client.get(NOMINATIONS, headers=headers)).status_code in (401, 403)
    page = await client.get(NOMINATIONS, params={"limit": 2}, headers=staff)
    assert len(page.json()["items"]) == 2 and page.json()["next_cursor"]
    rest = await client.get(
        NOMINATIONS, params={"limit": 2, "cursor": page.json()["next_cursor"]}, headers=staff
    )
    assert len(rest.json()["items"]) == 1 and rest.json()["next_cursor"] is None

    accept = f"{NOMINATIONS}/{recommended.json()['id']}/accept"
    is_problem(await client.post(accept, headers=staff_of), 403)
    accepted = await client.post(accept, headers=staff)
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    is_problem(await client.post(accept, headers=staff), 409)
    case = await client.get(f"{CASES}/{accepted.json()['case_id']}", headers=staff)
    assert case.json()["state"] == "draft" and case.json()["source"] == "company_recommendation"
    assert case.json()["body"]["en"] == "Caring and thorough."
    rejected = await client.post(
        f"{NOMINATIONS}/{first.json()['id']}/reject", json={"reason": "不符合条件"}, headers=staff
    )
    assert rejected.json()["status"] == "rejected" and rejected.json()["case_id"] is None
    is_problem(await client.post(f"{NOMINATIONS}/{uuid.uuid4()}/reject", headers=staff), 404)
    pending = await client.get(NOMINATIONS, params={"status": "pending"}, headers=staff)
    assert [n["id"] for n in pending.json()["items"]] == [by_worker.json()["id"]]
