"""The candidate read model fed by real events over NATS, read over HTTP."""

from __future__ import annotations

import base64
import uuid
from datetime import date

import orjson

from tests.matching.matching_support import (
    MatchingHarness,
    at,
    certificate_issued,
    rating_changed,
    worker_registered,
    worker_updated,
)


def ids(*workers: uuid.UUID) -> list[str]:
    return [str(w) for w in workers]


async def test_candidates_for_a_track_come_best_first(matching: MatchingHarness) -> None:
    a, b, c, d, e, f = (uuid.uuid4() for _ in range(6))
    cert_b = certificate_issued(b, track="housekeeping", valid_until=date(2099, 12, 31))
    await matching.send(
        worker_registered(a, name="A", tracks=["housekeeping"]),
        worker_registered(b, name="B", county="sihui", tracks=["housekeeping", "elderly_care"]),
        worker_registered(c, name="C", tracks=["housekeeping"]),
        worker_registered(d, name="D", tracks=["elderly_care"]),
        worker_registered(e, name="E", tracks=["elderly_care"]),
        worker_registered(f, name="F", tracks=["housekeeping"]),
        cert_b,
        certificate_issued(e, track="housekeeping"),
        certificate_issued(f, track="elderly_care"),
        rating_changed(a, 3),
        rating_changed(b, 5),
    )

    # Stars first (unrated last); then certified in the track; then more valid certificates.
    assert await matching.ids("housekeeping") == ids(b, a, e, f, c)
    assert await matching.ids("elderly_care") == ids(b, f, e, d)

    items = (await matching.page("housekeeping"))["items"]
    best = items[0]
    assert best == {
        "worker_id": str(b),
        "name": "B",
        "county": "sihui",
        "stars": 5,
        "rating_year": 2026,
        "tracks": ["housekeeping", "elderly_care"],
        "certificates": [
            {
                "number": cert_b.certificate_number,
                "track": "housekeeping",
                "kind": "training",
                "issued_at": best["certificates"][0]["issued_at"],
                "valid_until": "2099-12-31",
            }
        ],
        "certified_in_track": True,
    }
    by_id = {item["worker_id"]: item for item in items}
    assert by_id[str(e)]["tracks"] == ["housekeeping", "elderly_care"]  # declared ∪ certified
    assert by_id[str(e)]["certified_in_track"] is True
    assert by_id[str(f)]["certified_in_track"] is False
    assert by_id[str(c)]["stars"] is None and by_id[str(c)]["certificates"] == []

    assert await matching.ids("housekeeping", min_stars=4) == ids(b)
    assert await matching.ids("housekeeping", min_stars=3) == ids(b, a)
    assert await matching.ids("housekeeping", county="sihui") == ids(b)
    assert await matching.ids("medical_nursing") == []

    one = await matching.candidate(b)
    assert one is not None
    assert one["name"] == "B" and one["stars"] == 5 and len(one["certificates"]) == 1
    assert "certified_in_track" not in one


async def test_a_certificate_before_the_registration_waits_hidden(
    matching: MatchingHarness,
) -> None:
    worker = uuid.uuid4()
    await matching.send(
        certificate_issued(worker, track="maternal_infant"), rating_changed(worker, 4)
    )
    # A placeholder row exists, but nobody sees a candidate without a name.
    assert await matching.ids("maternal_infant") == []
    assert await matching.candidate(worker) is None

    await matching.send(worker_registered(worker, name="迟到的登记", tracks=["housekeeping"]))
    assert await matching.ids("maternal_infant") == ids(worker)
    candidate = await matching.candidate(worker)
    assert candidate is not None
    assert candidate["name"] == "迟到的登记"
    assert candidate["stars"] == 4
    assert candidate["tracks"] == ["maternal_infant", "housekeeping"]
    assert [c["track"] for c in candidate["certificates"]] == ["maternal_infant"]


async def test_an_older_rating_is_ignored(matching: MatchingHarness) -> None:
    worker = uuid.uuid4()
    await matching.send(worker_registered(worker), rating_changed(worker, 4, changed_at=at(30)))

    await matching.send(rating_changed(worker, 2, changed_at=at(25)))  # applied, but stale
    assert (await matching.candidate(worker) or {})["stars"] == 4

    # Same instant, earlier year: older by the tie-breaker.
    await matching.send(rating_changed(worker, 1, year=2025, changed_at=at(30)))
    assert (await matching.candidate(worker) or {})["stars"] == 4

    await matching.send(rating_changed(worker, 3, changed_at=at(40)))
    assert (await matching.candidate(worker) or {})["stars"] == 3


async def test_an_older_profile_update_is_ignored(matching: MatchingHarness) -> None:
    worker = uuid.uuid4()
    await matching.send(worker_registered(worker, name="旧名", tracks=["housekeeping"]))
    await matching.send(
        worker_updated(
            worker, name="新名", county="deqing", tracks=["elderly_care"], updated_at=at(20)
        )
    )
    assert await matching.ids("housekeeping") == []
    assert await matching.ids("elderly_care") == ids(worker)

    await matching.send(
        worker_updated(worker, name="更旧", tracks=["housekeeping"], updated_at=at(15))
    )
    candidate = await matching.candidate(worker)
    assert candidate is not None
    assert (candidate["name"], candidate["county"], candidate["tracks"]) == (
        "新名",
        "deqing",
        ["elderly_care"],
    )


async def test_an_event_delivered_twice_changes_nothing(matching: MatchingHarness) -> None:
    worker = uuid.uuid4()
    registered, issued, rated = await matching.send(
        worker_registered(worker), certificate_issued(worker), rating_changed(worker, 5)
    )
    first = await matching.get(f"/api/v1/candidates/{worker}")
    assert first.status_code == 200

    await matching.republish(registered, "registry.worker.registered")
    await matching.republish(issued, "credit.certificate.issued")
    await matching.republish(rated, "rating.worker.changed")
    for consumer in ("matching-workers", "matching-certificates", "matching-ratings"):
        await matching.handled(consumer, 2)  # both deliveries acked

    again = await matching.get(f"/api/v1/candidates/{worker}")
    assert again.json() == first.json()
    assert again.headers["etag"] == first.headers["etag"]  # not even the version moved
    unchanged = await matching.get(
        f"/api/v1/candidates/{worker}", headers={"If-None-Match": first.headers["etag"]}
    )
    assert unchanged.status_code == 304


async def test_the_track_is_required_and_checked(matching: MatchingHarness) -> None:
    for params in ({}, {"track": "gardening"}, {"track": "housekeeping", "county": "paris"}):
        response = await matching.get("/api/v1/candidates", params=params)
        assert response.status_code == 422, params
        assert response.headers["content-type"].startswith("application/problem+json")
    bad = await matching.get("/api/v1/candidates", params={"track": "gardening"})
    assert any(error["field"].endswith("track") for error in bad.json()["errors"])
    stars = await matching.get(
        "/api/v1/candidates", params={"track": "housekeeping", "min_stars": 6}
    )
    assert stars.status_code == 422


async def test_limit_one_pages_walk_every_candidate_in_order(matching: MatchingHarness) -> None:
    workers = [uuid.uuid4() for _ in range(6)]
    events = [worker_registered(w, name=f"W{i}") for i, w in enumerate(workers)]
    events += [
        rating_changed(workers[0], 4),
        rating_changed(workers[1], 4),  # ties with workers[0] on stars
        rating_changed(workers[2], 2),
        certificate_issued(workers[1]),
        certificate_issued(workers[3]),
        certificate_issued(workers[3], track="elderly_care"),
        certificate_issued(workers[4], track="elderly_care"),
    ]
    await matching.send(*events)

    everything = (await matching.page("housekeeping", limit=50))["items"]
    assert len(everything) == 6
    stepped = await matching.walk("housekeeping", limit=1)
    assert stepped == everything
    assert [item["worker_id"] for item in stepped[:3]] == ids(workers[1], workers[0], workers[2])
    # Unrated: two valid certificates (one in the track), then certificates elsewhere, then none.
    assert [item["worker_id"] for item in stepped[3:5]] == ids(workers[3], workers[4])
    assert await matching.walk("housekeeping", limit=4) == everything

    last = await matching.page("housekeeping", limit=6)
    assert last["next_cursor"] is None


async def test_a_malformed_cursor_is_400(matching: MatchingHarness) -> None:
    worker = uuid.uuid4()
    await matching.send(worker_registered(worker), worker_registered(uuid.uuid4()))
    cursor = (await matching.page("housekeeping", limit=1))["next_cursor"]
    assert cursor is not None

    def b64(value: object) -> str:
        return base64.urlsafe_b64encode(orjson.dumps(value)).rstrip(b"=").decode()

    for token in (
        "not a cursor!",
        "e30",  # {}
        b64({"t": "housekeeping", "d": "2026-01-01", "k": [9, 0, 0, str(worker)]}),
        b64({"t": "housekeeping", "d": "yesterday", "k": [1, 0, 0, str(worker)]}),
        b64({"t": "housekeeping", "d": "2026-01-01", "k": [1, 0, 0, "nope"]}),
        b64([1, 2, 3]),
    ):
        response = await matching.get(
            "/api/v1/candidates", params={"track": "housekeeping", "cursor": token}
        )
        assert response.status_code == 400, token
        assert response.json()["type"] == "https://jiasao.gov.cn/problems/invalid-cursor"

    other_track = await matching.get(
        "/api/v1/candidates", params={"track": "elderly_care", "cursor": cursor}
    )
    assert other_track.status_code == 400


async def test_an_unknown_candidate_is_404(matching: MatchingHarness) -> None:
    response = await matching.get(f"/api/v1/candidates/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.json()["type"].endswith("/not-found")
