"""Issue 11: a provisional level (an open year's evidence so far) is not the programme's
assessment. Matching takes only published levels: provisional stars neither show as the
candidate's stars nor rank, filter or score them."""

from __future__ import annotations

import uuid

from tests.matching.matching_support import (
    MatchingHarness,
    at,
    certificate_issued,
    rating_changed,
    worker_registered,
)

TRACK = "housekeeping"


async def test_only_published_levels_rank_candidates(matching: MatchingHarness) -> None:
    published, hopeful = uuid.uuid4(), uuid.uuid4()
    await matching.send(
        worker_registered(published, tracks=[TRACK]),
        worker_registered(hopeful, tracks=[TRACK]),
        certificate_issued(hopeful, track=TRACK),
        # Last year's published level, then this year's provisional five stars: the
        # published one stands.
        rating_changed(hopeful, 2, year=2025, changed_at=at(10)),
        rating_changed(hopeful, 5, provisional=True, policy_version=1, changed_at=at(20)),
        rating_changed(published, 3, policy_version=1, changed_at=at(21)),
    )
    shown = await matching.candidate(hopeful)
    assert shown is not None
    assert (shown["stars"], shown["rating_year"]) == (2, 2025)
    # Ranked by published stars: 3 before 2, although the provisional 5 came later.
    assert await matching.ids(TRACK) == [str(published), str(hopeful)]
    assert await matching.ids(TRACK, min_stars=4) == []

    # Published when the year closes: now it counts.
    await matching.send(rating_changed(hopeful, 4, policy_version=1, changed_at=at(30)))
    shown = await matching.candidate(hopeful)
    assert shown is not None and (shown["stars"], shown["rating_year"]) == (4, 2026)
    assert await matching.ids(TRACK) == [str(hopeful), str(published)]
    assert await matching.ids(TRACK, min_stars=4) == [str(hopeful)]

    # A provisional level never unseats a published one, even a lower one and later.
    await matching.send(rating_changed(hopeful, 1, provisional=True, changed_at=at(40)))
    shown = await matching.candidate(hopeful)
    assert shown is not None and shown["stars"] == 4
