"""Courses over HTTP: creation, validation, reads with ETags, cursor pagination."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.training.training_support import COURSE, Training

PROBLEM = "application/problem+json"


async def test_create_and_read_course(training: Training) -> None:
    response = await training.post("/api/v1/courses", json=COURSE)
    assert response.status_code == 201
    course = response.json()
    assert course["title"] == COURSE["title"]
    assert course["pass_score"] == 60
    assert course["institution_id"] is None
    assert response.headers["location"] == f"/api/v1/courses/{course['id']}"

    got = await training.client.get(f"/api/v1/courses/{course['id']}")
    assert got.status_code == 200
    assert got.json() == course
    etag = got.headers["etag"]
    assert etag == response.headers["etag"]
    again = await training.client.get(
        f"/api/v1/courses/{course['id']}", headers={"If-None-Match": etag}
    )
    assert again.status_code == 304


async def test_pass_score_defaults_to_60(training: Training) -> None:
    body = {k: v for k, v in COURSE.items() if k != "pass_score"}
    response = await training.post("/api/v1/courses", json=body)
    assert response.status_code == 201
    assert response.json()["pass_score"] == 60


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"track": "gardening"}, "track"),
        ({"training_type": "evening_class"}, "training_type"),
        ({"title": ""}, "title"),
        ({"title": "课" * 101}, "title"),
        ({"hours": 0}, "hours"),
        ({"hours": 1000.5}, "hours"),
        ({"pass_score": 101}, "pass_score"),
        ({"pass_score": -1}, "pass_score"),
        ({"institution_id": "not-a-uuid"}, "institution_id"),
        ({"fee": 100}, "fee"),  # unknown fields are refused, not ignored
    ],
)
async def test_course_validation_names_the_field(
    training: Training, overrides: dict[str, Any], field: str
) -> None:
    response = await training.post("/api/v1/courses", json={**COURSE, **overrides})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["type"].endswith("/validation-error")
    assert [e["field"] for e in problem["errors"]] == [field]


async def test_missing_course_is_a_problem(training: Training) -> None:
    response = await training.client.get(f"/api/v1/courses/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"].endswith("/not-found")


async def test_courses_page_by_cursor_and_filter_by_track(training: Training) -> None:
    made = [await training.create_course(title=f"家政 {i}", track="housekeeping") for i in range(5)]
    await training.create_course(title="养老护理", track="elderly_care")

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"track": "housekeeping", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await training.client.get("/api/v1/courses", params=params)).json()
        seen += [c["id"] for c in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [c["id"] for c in made]  # creation order: ids are time-ordered
    assert pages == 3

    everything = (await training.client.get("/api/v1/courses")).json()
    assert len(everything["items"]) == 6
    assert everything["next_cursor"] is None


async def test_course_list_rejects_bad_track_and_cursor(training: Training) -> None:
    bad_track = await training.client.get("/api/v1/courses", params={"track": "gardening"})
    assert bad_track.status_code == 422
    assert bad_track.json()["errors"][0]["field"] == "track"
    # Garbage, and well-formed base64 JSON of the wrong shape ({"after": 1}), are both 400.
    for cursor in ("nonsense", "eyJhZnRlciI6MX0"):
        bad_cursor = await training.client.get("/api/v1/courses", params={"cursor": cursor})
        assert bad_cursor.status_code == 400, cursor
        assert bad_cursor.headers["content-type"] == PROBLEM
        assert bad_cursor.json()["type"].endswith("/invalid-cursor")
