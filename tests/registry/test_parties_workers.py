"""Workers through the API: registration and its checks, profile edits with If-Match, the
status life cycle with history, and the ID-card lookup."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from services.kit.idnumbers import make_id_card
from tests.registry.test_parties_support import (
    ADMIN,
    OFFICER,
    Registry,
    bearer,
    error_fields,
    mask_mobile,
    new_id_card,
    new_phone,
    problem,
    worker_body,
)

# --- registration --------------------------------------------------------------------------


async def test_officer_registers_a_worker_with_derived_gender_and_birth_date(
    registry: Registry,
) -> None:
    number = make_id_card("441283", date(1979, 6, 15), "124")  # 17th digit even: female
    phone = new_phone()
    body = worker_body(
        id_card_number=number,
        phone=f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}",
        health_check={
            "date": "2026-01-10",
            "institution": "肇庆市第一人民医院",
            "valid_until": "2027-01-09",
        },
        no_criminal_record={"date": "2026-01-12", "result": "clear", "valid_until": "2026-07-12"},
    )
    response = await registry.post("/api/v1/workers", body, OFFICER)
    assert response.status_code == 201, response.text
    worker = response.json()
    assert response.headers["location"] == f"/api/v1/workers/{worker['id']}"
    assert response.headers["etag"].startswith('W/"')
    assert worker["gender"] == "female"
    assert worker["birth_date"] == "1979-06-15"
    # Officers see the numbers in full; the phone is normalised to its national form.
    assert worker["id_card_number"] == number
    assert worker["phone"] == phone
    assert worker["masked"] is False
    assert worker["status"] == "registered"
    assert worker["health_check"]["valid_until"] == "2027-01-09"
    assert worker["no_criminal_record"]["result"] == "clear"
    assert worker["target_groups"] == ["4050"]
    assert worker["company_id"] is None

    read = await registry.get(f"/api/v1/workers/{worker['id']}")
    assert read == worker


async def test_male_id_card_gives_male(registry: Registry) -> None:
    worker = await registry.worker(id_card_number=new_id_card(female=False), gender="male")
    assert worker["gender"] == "male"


async def test_sent_gender_or_birth_date_must_match_the_id_card(registry: Registry) -> None:
    number = make_id_card("441202", date(1980, 3, 1), "122")
    response = await registry.post(
        "/api/v1/workers", worker_body(id_card_number=number, gender="male"), OFFICER
    )
    body = problem(response, 422, "validation-error")
    assert error_fields(body) == ["gender"]
    assert body["errors"][0]["message"] == "is male but the ID-card number says female"

    response = await registry.post(
        "/api/v1/workers", worker_body(id_card_number=number, birth_date="1980-03-02"), OFFICER
    )
    body = problem(response, 422)
    assert error_fields(body) == ["birth_date"]
    assert "1980-03-01" in body["errors"][0]["message"]

    # Matching values are accepted as they are.
    ok = await registry.worker(id_card_number=number, gender="female", birth_date="1980-03-01")
    assert ok["birth_date"] == "1980-03-01"


async def test_wrong_check_digit_is_refused_with_the_validators_message(
    registry: Registry,
) -> None:
    good = make_id_card("441202", date(1985, 2, 3), "246")
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    response = await registry.post("/api/v1/workers", worker_body(id_card_number=wrong), OFFICER)
    body = problem(response, 422)
    assert error_fields(body) == ["id_card_number"]
    assert body["errors"][0]["message"] == f"check digit is {wrong[17]} but should be {good[17]}"
    assert wrong not in response.text.replace(body["errors"][0]["message"], "")


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"phone": "+852 9123 4567"}, "phone"),
        ({"phone": "1381234567"}, "phone"),
        ({"county": "tianhe"}, "county"),
        ({"tracks": ["cooking"]}, "tracks.0"),
        ({"target_groups": ["veterans"]}, "target_groups.0"),
        ({"education": "phd"}, "education"),
        ({"languages": ["cantonese", "cantonese"]}, "languages"),
        ({"name": " 陈秀英"}, "name"),
        ({"id_card_number": "44120219851302246X"}, "id_card_number"),
        (
            {
                "health_check": {
                    "date": "2026-01-10",
                    "institution": "x",
                    "valid_until": "2025-01-01",
                }
            },
            "health_check.valid_until",
        ),
        (
            {
                "no_criminal_record": {
                    "date": "2026-01-10",
                    "result": "maybe",
                    "valid_until": "2027-01-01",
                }
            },
            "no_criminal_record.result",
        ),
        (
            # A number is not a date (lax parsing would read 0 as 1970-01-01).
            {"no_criminal_record": {"date": 0, "result": "clear", "valid_until": "2027-01-01"}},
            "no_criminal_record.date",
        ),
        ({"shoe_size": 38}, "shoe_size"),
    ],
)
async def test_invalid_worker_fields_are_named(
    registry: Registry, override: dict[str, object], field: str
) -> None:
    response = await registry.post("/api/v1/workers", worker_body(**override), OFFICER)
    assert field in error_fields(problem(response, 422))


async def test_minors_are_not_registered(registry: Registry) -> None:
    young = make_id_card("441202", date.today() - timedelta(days=15 * 365), "120")
    response = await registry.post("/api/v1/workers", worker_body(id_card_number=young), OFFICER)
    body = problem(response, 422)
    assert error_fields(body) == ["id_card_number"]
    assert "at least 16" in body["errors"][0]["message"]


async def test_duplicate_id_card_is_a_conflict_whatever_its_spelling(registry: Registry) -> None:
    number = make_id_card("441202", date(1975, 5, 5), "001")
    while not number.endswith("X"):  # find one with an X to try the lower-case spelling
        number = make_id_card("441202", date(1975, 5, 5), f"{int(number[14:17]) + 2:03d}")
    await registry.worker(id_card_number=number)
    response = await registry.post(
        "/api/v1/workers", worker_body(id_card_number=number.lower()), OFFICER
    )
    problem(response, 409, "duplicate-worker")


async def test_only_officers_admins_and_companies_register_workers(registry: Registry) -> None:
    assert (await registry.post("/api/v1/workers", worker_body())).status_code == 401
    for role in ("worker", "employer", "institution", "partner"):
        response = await registry.post("/api/v1/workers", worker_body(), bearer(role))
        problem(response, 403, "forbidden")
    response = await registry.post(
        "/api/v1/workers", worker_body(), bearer("partner", scopes=["workers:read"])
    )
    problem(response, 403)
    assert (await registry.post("/api/v1/workers", worker_body(), ADMIN)).status_code == 201


# --- profile edits -------------------------------------------------------------------------


async def test_patch_needs_if_match_and_refuses_a_stale_one(registry: Registry) -> None:
    worker = await registry.worker()
    path = f"/api/v1/workers/{worker['id']}"
    read = await registry.client.get(path, headers=OFFICER)
    etag = read.headers["etag"]

    response = await registry.client.patch(path, json={"county": "sihui"}, headers=OFFICER)
    problem(response, 428, "precondition-required")

    response = await registry.client.patch(
        path,
        json={"county": "sihui", "education": "senior_high"},
        headers={**OFFICER, "If-Match": etag},
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["county"] == "sihui"
    assert updated["education"] == "senior_high"
    assert updated["version"] == worker["version"] + 1
    assert response.headers["etag"] != etag

    stale = await registry.client.patch(
        path, json={"county": "deqing"}, headers={**OFFICER, "If-Match": etag}
    )
    problem(stale, 412, "precondition-failed")
    assert stale.headers["etag"] == response.headers["etag"]

    # The strong spelling of the same tag matches too (weak comparison).
    strong = response.headers["etag"].removeprefix("W/")
    again = await registry.client.patch(
        path, json={"county": "deqing"}, headers={**OFFICER, "If-Match": strong}
    )
    assert again.status_code == 200, again.text


async def test_patch_without_changes_keeps_the_version(registry: Registry) -> None:
    worker = await registry.worker(county="gaoyao")
    response = await registry.client.get(f"/api/v1/workers/{worker['id']}", headers=OFFICER)
    same = await registry.client.patch(
        f"/api/v1/workers/{worker['id']}",
        json={"county": "gaoyao", "tracks": worker["tracks"]},
        headers={**OFFICER, "If-Match": response.headers["etag"]},
    )
    assert same.status_code == 200
    assert same.json()["version"] == worker["version"]


async def test_patch_refuses_derived_and_null_fields(registry: Registry) -> None:
    worker = await registry.worker()
    path = f"/api/v1/workers/{worker['id']}"
    etag = (await registry.client.get(path, headers=OFFICER)).headers["etag"]
    headers = {**OFFICER, "If-Match": etag}
    for body, field in (
        ({"gender": "male"}, "gender"),
        ({"birth_date": "1990-01-01"}, "birth_date"),
        ({"id_card_number": new_id_card()}, "id_card_number"),
        ({"name": None}, "name"),
        ({"phone": "12345"}, "phone"),
    ):
        response = await registry.client.patch(path, json=body, headers=headers)
        assert field in error_fields(problem(response, 422)), body


async def test_patch_can_clear_and_replace_certificates(registry: Registry) -> None:
    worker = await registry.worker(
        health_check={"date": "2026-01-10", "institution": "医院", "valid_until": "2027-01-09"}
    )
    path = f"/api/v1/workers/{worker['id']}"
    etag = (await registry.client.get(path, headers=OFFICER)).headers["etag"]
    response = await registry.client.patch(
        path,
        json={
            "health_check": None,
            "no_criminal_record": {
                "date": "2026-02-01",
                "result": "clear",
                "valid_until": "2026-08-01",
            },
            "target_groups": ["left_behind_woman", "rural_surplus_labour"],
            "tracks": ["elderly_care", "housekeeping"],
        },
        headers={**OFFICER, "If-Match": etag},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["health_check"] is None
    assert body["no_criminal_record"]["valid_until"] == "2026-08-01"
    assert body["target_groups"] == ["left_behind_woman", "rural_surplus_labour"]
    listed = await registry.get("/api/v1/workers", track="elderly_care")
    assert [w["id"] for w in listed["items"]] == [worker["id"]]
    assert (await registry.get("/api/v1/workers", track="maternal_infant"))["items"] == []


async def test_worker_edits_own_contact_fields_only(registry: Registry) -> None:
    worker = await registry.worker()
    me = bearer("worker", worker["id"])
    path = f"/api/v1/workers/{worker['id']}"
    etag = (await registry.client.get(path, headers=me)).headers["etag"]
    phone = new_phone()
    response = await registry.client.patch(
        path, json={"phone": phone, "languages": ["hakka"]}, headers={**me, "If-Match": etag}
    )
    assert response.status_code == 200, response.text
    assert response.json()["phone"] == phone  # their own number, in full
    etag = response.headers["etag"]
    for field, value in (("target_groups", []), ("name", "陈秀"), ("health_check", None)):
        refused = await registry.client.patch(
            path, json={field: value}, headers={**me, "If-Match": etag}
        )
        assert field in problem(refused, 403, "forbidden")["detail"]


# --- status life cycle ---------------------------------------------------------------------


async def test_status_life_cycle_with_history(registry: Registry) -> None:
    worker = await registry.worker()
    wid = worker["id"]
    verified = await registry.post(f"/api/v1/workers/{wid}/verify", None, OFFICER)
    assert verified.status_code == 200, verified.text
    assert verified.json()["status"] == "verified"
    assert verified.json()["verified_at"] is not None
    problem(await registry.post(f"/api/v1/workers/{wid}/verify", None, OFFICER), 409)

    for target in ("active", "suspended", "active"):
        response = await registry.status(wid, target, reason=f"to {target}")
        assert response.status_code == 200, response.text
        assert response.json()["status"] == target

    body = problem(await registry.status(wid, "registered"), 409, "invalid-transition")
    assert body["allowed"] == ["left", "suspended"]
    problem(await registry.status(wid, "active"), 409, "invalid-transition")  # already active
    assert error_fields(problem(await registry.status(wid, "verified"), 422)) == ["to"]

    left = await registry.status(wid, "left", reason="moved to Guangzhou")
    assert left.json()["status"] == "left"
    problem(await registry.status(wid, "active"), 409, "invalid-transition")
    # An officer may re-admit; the worker must then be verified again.
    readmitted = await registry.status(wid, "registered", reason="came back")
    assert readmitted.json()["status"] == "registered"
    assert readmitted.json()["verified_at"] is None

    history = await registry.get(f"/api/v1/workers/{wid}/status-history")
    assert [(h["from_status"], h["to_status"]) for h in history] == [
        (None, "registered"),
        ("registered", "verified"),
        ("verified", "active"),
        ("active", "suspended"),
        ("suspended", "active"),
        ("active", "left"),
        ("left", "registered"),
    ]
    assert history[5]["reason"] == "moved to Guangzhou"
    assert history[5]["changed_by_role"] == "officer"
    assert all(h["changed_by"] for h in history)


async def test_company_moves_its_workers_within_limits(registry: Registry) -> None:
    company = await registry.company()
    staff = bearer("company", company["id"])
    worker = await registry.worker(as_=staff)
    wid = worker["id"]
    assert worker["company_id"] == company["id"]
    assert (await registry.post(f"/api/v1/workers/{wid}/verify", None, staff)).status_code == 200
    assert (await registry.status(wid, "active", staff)).status_code == 200
    assert (await registry.status(wid, "suspended", staff)).status_code == 200
    assert (await registry.status(wid, "active", staff)).status_code == 200
    problem(await registry.status(wid, "left", staff), 403, "forbidden")

    other = bearer("company", (await registry.company())["id"])
    problem(await registry.status(wid, "suspended", other), 404)
    problem(await registry.post(f"/api/v1/workers/{wid}/verify", None, other), 404)


async def test_worker_may_only_leave_the_programme(registry: Registry) -> None:
    worker = await registry.worker()
    me = bearer("worker", worker["id"])
    problem(await registry.post(f"/api/v1/workers/{worker['id']}/verify", None, me), 403)
    await registry.post(f"/api/v1/workers/{worker['id']}/verify", None, OFFICER)
    problem(await registry.status(worker["id"], "active", me), 403)
    response = await registry.status(worker["id"], "left", me, reason="家里有事")
    assert response.json()["status"] == "left"
    problem(await registry.status(worker["id"], "left", bearer("worker")), 404)


# --- lookup and conditional reads ----------------------------------------------------------


async def test_lookup_by_id_card_number_is_for_officers(registry: Registry) -> None:
    worker = await registry.worker()
    number = worker["id_card_number"]
    response = await registry.post("/api/v1/workers/lookup", {"id_card_number": number}, ADMIN)
    assert response.status_code == 200, response.text
    assert response.json()["id"] == worker["id"]
    spaced = f"{number[:6]} {number[6:14]} {number[14:].lower()}"
    found = await registry.post("/api/v1/workers/lookup", {"id_card_number": spaced}, OFFICER)
    assert found.json()["id"] == worker["id"]

    problem(
        await registry.post("/api/v1/workers/lookup", {"id_card_number": new_id_card()}, OFFICER),
        404,
    )
    bad = await registry.post("/api/v1/workers/lookup", {"id_card_number": "123"}, OFFICER)
    assert error_fields(problem(bad, 422)) == ["id_card_number"]
    for role in ("company", "worker", "employer", "institution"):
        response = await registry.post(
            "/api/v1/workers/lookup", {"id_card_number": number}, bearer(role)
        )
        problem(response, 403)
    problem(await registry.post("/api/v1/workers/lookup", {"id_card_number": number}), 401)


async def test_get_answers_304_for_the_current_etag(registry: Registry) -> None:
    worker = await registry.worker()
    path = f"/api/v1/workers/{worker['id']}"
    first = await registry.client.get(path, headers=OFFICER)
    again = await registry.client.get(
        path, headers={**OFFICER, "If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304


async def test_masked_forms_for_company_staff(registry: Registry) -> None:
    company = await registry.company()
    staff = bearer("company", company["id"])
    number, phone = new_id_card(), new_phone()
    created = await registry.worker(as_=staff, id_card_number=number, phone=phone)
    # Only the last four: the view shows the birth year, so region and date must both go.
    assert created["id_card_number"] == "*" * 14 + number[-4:]
    assert created["birth_date"] is None and created["birth_year"] == int(number[6:10])
    assert created["phone"] == mask_mobile(phone)
    assert created["masked"] is True
    read = await registry.get(f"/api/v1/workers/{created['id']}", staff)
    assert read["id_card_number"] == "*" * 14 + number[-4:]
    assert read["birth_date"] is None
    own = await registry.get(f"/api/v1/workers/{created['id']}", bearer("worker", created["id"]))
    assert own["id_card_number"] == number
    assert own["phone"] == phone
