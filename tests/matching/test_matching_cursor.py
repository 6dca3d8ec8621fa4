"""Unit tests of the candidate cursor: round trip and refusal of anything we did not issue."""

from __future__ import annotations

import base64
import uuid
from datetime import date

import orjson
import pytest

from services.kit.errors import Problem
from services.matching.cursor import CandidateCursor, SortKey, decode_cursor, encode_cursor

CURSOR = CandidateCursor(
    track="housekeeping",
    as_of=date(2026, 6, 1),
    after=SortKey(stars=4, certified=1, valid_certificates=3, worker_id=uuid.uuid4()),
)


def token(value: object) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(value)).rstrip(b"=").decode()


def test_round_trip() -> None:
    encoded = encode_cursor(CURSOR)
    assert "=" not in encoded and "+" not in encoded and "/" not in encoded
    assert decode_cursor(encoded, "housekeeping") == CURSOR
    assert decode_cursor(None, "housekeeping") is None


#: A fixed id: test ids are built from the parameters, so they must not change per run
#: (parallel workers collect the suite independently and must agree).
SOME_WORKER = "0190e0a0-0000-7000-8000-000000000001"


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "%%%",
        "不是游标",
        token({}),
        token({"t": "housekeeping", "d": "2026-06-01", "k": [4, 1, 3]}),
        token({"t": "housekeeping", "d": "2026-06-01", "k": [6, 1, 3, SOME_WORKER]}),
        token({"t": "housekeeping", "d": "2026-06-01", "k": [4, 2, 3, SOME_WORKER]}),
        token({"t": "housekeeping", "d": "2026-06-01", "k": [4, 1, -1, SOME_WORKER]}),
        token({"t": "housekeeping", "d": "2026-06-01", "k": [True, 1, 3, SOME_WORKER]}),
        token({"t": "housekeeping", "d": "2026-06-01", "k": ["4", 1, 3, SOME_WORKER]}),
        token({"t": "housekeeping", "d": 20260601, "k": [4, 1, 3, SOME_WORKER]}),
        token({"t": 1, "d": "2026-06-01", "k": [4, 1, 3, SOME_WORKER]}),
        token([1, 2]),
    ],
)
def test_malformed_cursors_are_400(bad: str) -> None:
    with pytest.raises(Problem) as caught:
        decode_cursor(bad, "housekeeping")
    assert caught.value.status == 400
    assert caught.value.slug == "invalid-cursor"


def test_a_cursor_of_another_track_is_400() -> None:
    with pytest.raises(Problem) as caught:
        decode_cursor(encode_cursor(CURSOR), "elderly_care")
    assert caught.value.status == 400
