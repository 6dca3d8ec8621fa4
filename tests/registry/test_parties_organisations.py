"""Companies, training institutions, employers and partner platforms."""

from __future__ import annotations

import pytest

from services.kit.idnumbers import make_credit_code
from tests.registry.test_parties_support import (
    ADMIN,
    OFFICER,
    Registry,
    bearer,
    company_body,
    employer_body,
    error_fields,
    institution_body,
    new_credit_code,
    new_phone,
    partner_body,
    problem,
)

# --- companies -----------------------------------------------------------------------------


async def test_company_registration_and_reading(registry: Registry) -> None:
    phone = new_phone()
    code = new_credit_code()
    company = await registry.company(
        credit_code=code.lower(), contact={"name": "黄丽", "phone": phone}
    )
    assert company["credit_code"] == code  # normalised
    assert company["contact"] == {"name": "黄丽", "phone": phone}
    assert company["honours"] == ["全国家政服务业千户百强"]

    path = f"/api/v1/companies/{company['id']}"
    staff = bearer("company", company["id"])
    own = await registry.get(path, staff)
    assert own["contact"]["phone"] == phone  # their own company's contact, in full
    problem(await registry.client.get(path, headers=bearer("company")), 404)
    for role in ("worker", "employer", "institution", "partner"):
        problem(await registry.client.get(path, headers=bearer(role)), 403)
    problem(
        await registry.client.get(path, headers=bearer("partner", scopes=["workers:read"])), 403
    )
    problem(await registry.client.get(path), 401)


async def test_company_credit_code_is_validated_and_unique(registry: Registry) -> None:
    good = make_credit_code("91441200MA4UJ9KJ6")
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    response = await registry.post("/api/v1/companies", company_body(credit_code=wrong), OFFICER)
    body = problem(response, 422)
    assert error_fields(body) == ["credit_code"]
    assert (
        body["errors"][0]["message"] == f"check character is {wrong[17]} but should be {good[17]}"
    )

    await registry.company(credit_code=good)
    problem(
        await registry.post("/api/v1/companies", company_body(credit_code=good), OFFICER),
        409,
        "duplicate-company",
    )
    for override, field in (
        ({"kind": "franchise"}, "kind"),
        ({"county": "tianhe"}, "county"),
        ({"contact": {"name": "黄丽", "phone": "020-12345678"}}, "contact.phone"),
        ({"honours": ["a", "a"]}, "honours"),
    ):
        response = await registry.post("/api/v1/companies", company_body(**override), OFFICER)
        assert field in error_fields(problem(response, 422)), override


async def test_companies_are_registered_and_listed_by_officers(registry: Registry) -> None:
    a = await registry.company(county="duanzhou", kind="employee_based")
    b = await registry.company(county="gaoyao", kind="agency_based")
    page = await registry.get("/api/v1/companies", ADMIN)
    assert [c["id"] for c in page["items"]] == [a["id"], b["id"]]
    assert [
        c["id"] for c in (await registry.get("/api/v1/companies", kind="agency_based"))["items"]
    ] == [b["id"]]
    assert [
        c["id"] for c in (await registry.get("/api/v1/companies", county="duanzhou"))["items"]
    ] == [a["id"]]
    for role in ("company", "worker", "employer", "institution", "partner"):
        problem(await registry.client.get("/api/v1/companies", headers=bearer(role)), 403)
        response = await registry.post("/api/v1/companies", company_body(), bearer(role))
        problem(response, 403)


async def test_company_staff_update_their_company_with_if_match(registry: Registry) -> None:
    company = await registry.company()
    staff = bearer("company", company["id"])
    path = f"/api/v1/companies/{company['id']}"
    etag = (await registry.client.get(path, headers=staff)).headers["etag"]
    problem(await registry.client.patch(path, json={"address": "新地址"}, headers=staff), 428)
    phone = new_phone()
    response = await registry.client.patch(
        path,
        json={"address": "端州区新地址 2 号", "contact": {"name": "李梅", "phone": phone}},
        headers={**staff, "If-Match": etag},
    )
    assert response.status_code == 200, response.text
    assert response.json()["contact"] == {"name": "李梅", "phone": phone}
    assert response.json()["version"] == 2
    problem(
        await registry.client.patch(
            path, json={"address": "x"}, headers={**staff, "If-Match": etag}
        ),
        412,
    )
    other = bearer("company")
    problem(
        await registry.client.patch(
            path, json={"address": "x"}, headers={**other, "If-Match": "*"}
        ),
        404,
    )
    # Name, kind and honours are not for PATCH (consumers learnt them from the event).
    response = await registry.client.patch(
        path, json={"name": "x"}, headers={**OFFICER, "If-Match": "*"}
    )
    assert error_fields(problem(response, 422)) == ["name"]


# --- institutions --------------------------------------------------------------------------


async def test_institutions(registry: Registry) -> None:
    institution = await registry.institution(level="municipal_demonstration")
    assert institution["tracks"] == ["maternal_infant", "elderly_care"]
    path = f"/api/v1/institutions/{institution['id']}"
    staff = bearer("institution", institution["id"])
    own = await registry.get(path, staff)
    assert own["masked"] is False
    problem(await registry.client.get(path, headers=bearer("institution")), 404)
    problem(await registry.client.get(path, headers=bearer("company")), 403)
    await registry.institution(level="ordinary")
    page = await registry.get("/api/v1/institutions", level="municipal_demonstration")
    assert [i["id"] for i in page["items"]] == [institution["id"]]
    bad = await registry.post("/api/v1/institutions", institution_body(level="national"), OFFICER)
    assert error_fields(problem(bad, 422)) == ["level"]
    dup = await registry.post(
        "/api/v1/institutions", institution_body(credit_code=institution["credit_code"]), OFFICER
    )
    problem(dup, 409, "duplicate-institution")


# --- employers -----------------------------------------------------------------------------


async def test_employers(registry: Registry) -> None:
    phone = new_phone()
    employer = await registry.employer(phone=phone, city="hong_kong", district="九龙城")
    assert employer["phone"] == phone
    path = f"/api/v1/employers/{employer['id']}"
    me = bearer("employer", employer["id"])
    assert (await registry.get(path, me))["phone"] == phone
    problem(await registry.client.get(path, headers=bearer("employer")), 404)
    problem(await registry.client.get(path, headers=bearer("company")), 403)
    problem(await registry.client.get("/api/v1/employers", headers=me), 403)
    problem(await registry.post("/api/v1/employers", employer_body(phone=phone), OFFICER), 409)
    bad = await registry.post("/api/v1/employers", employer_body(city="beijing"), OFFICER)
    assert error_fields(problem(bad, 422)) == ["city"]
    listed = await registry.get("/api/v1/employers", city="hong_kong")
    assert [e["id"] for e in listed["items"]] == [employer["id"]]
    problem(await registry.post("/api/v1/employers", employer_body(), bearer("employer")), 403)


# --- partners ------------------------------------------------------------------------------


async def test_partners(registry: Registry) -> None:
    phone = new_phone()
    partner = await registry.partner(contact={"name": "王芳", "phone": phone}, credit_code=None)
    assert partner["status"] == "active"
    assert partner["credit_code"] is None
    path = f"/api/v1/partners/{partner['id']}"
    assert (await registry.get(path))["contact"]["phone"] == phone
    # Partners have no rights of their own, not even to their own record.
    me = bearer("partner", partner["id"], scopes=["workers:read"])
    problem(await registry.client.get(path, headers=me), 403)
    problem(await registry.client.get("/api/v1/partners", headers=me), 403)

    suspended = await registry.post(f"{path}/status", {"to": "suspended"}, OFFICER)
    assert suspended.json()["status"] == "suspended"
    problem(await registry.post(f"{path}/status", {"to": "suspended"}, OFFICER), 409)
    listed = await registry.get("/api/v1/partners", status="suspended")
    assert [p["id"] for p in listed["items"]] == [partner["id"]]
    assert (await registry.get("/api/v1/partners", status="active"))["items"] == []


@pytest.mark.parametrize(
    "url",
    [
        "http://hr.example.cn/hook",
        "https://user:pw@hr.example.cn/hook",
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://[::1]/hook",
        "https://localhost/hook",
        "https://intranet/hook",
        "ftp://hr.example.cn/hook",
        "https:///nohost",
        "https://hr.example.cn:99999/hook",
    ],
)
async def test_partner_webhook_must_be_public_https(registry: Registry, url: str) -> None:
    response = await registry.post("/api/v1/partners", partner_body(webhook_url=url), OFFICER)
    assert error_fields(problem(response, 422)) == ["webhook_url"]


async def test_admins_list_partners_with_contacts_in_full(registry: Registry) -> None:
    phone = new_phone()
    await registry.partner(contact={"name": "王芳", "phone": phone})
    page = await registry.get("/api/v1/partners", ADMIN)
    assert page["items"][0]["contact"]["phone"] == phone
    assert page["items"][0]["masked"] is False
