"""Opaque cursors over the candidate ordering (keyset pagination on a composite sort key).

The token is base64url JSON of the last item's sort key, plus the track and the as-of date the
ordering was computed for: certificate validity depends on the date, so every page of one walk
uses the first page's date and the order cannot shift under the client at midnight. A token
that does not decode, or belongs to another track, is a 400 (never silently "first page").
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson

from services.kit.errors import Problem


@dataclass(frozen=True)
class SortKey:
    """Where an item sits in the ordering; compared column by column in SQL."""

    #: Stars, 0 for unrated (so unrated sort last under "stars descending").
    stars: int
    #: 1 when the worker holds a valid certificate in the track.
    certified: int
    valid_certificates: int
    worker_id: uuid.UUID


@dataclass(frozen=True)
class CandidateCursor:
    track: str
    as_of: date
    after: SortKey


def invalid_cursor(
    detail: str = "The cursor is not one this API issued; start again without it",
) -> Problem:
    return Problem(400, "invalid-cursor", "Invalid cursor", detail)


def encode_cursor(cursor: CandidateCursor) -> str:
    key = cursor.after
    raw = orjson.dumps(
        {
            "t": cursor.track,
            "d": cursor.as_of.isoformat(),
            "k": [key.stars, key.certified, key.valid_certificates, str(key.worker_id)],
        }
    )
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(token: str | None, track: str) -> CandidateCursor | None:
    if token is None:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        body: Any = orjson.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        stars, certified, count, worker_id = body["k"]
        cursor = CandidateCursor(
            track=_str(body["t"]),
            as_of=date.fromisoformat(_str(body["d"])),
            after=SortKey(
                stars=_int(stars, 0, 5),
                certified=_int(certified, 0, 1),
                valid_certificates=_int(count, 0, None),
                worker_id=uuid.UUID(_str(worker_id)),
            ),
        )
    except (
        binascii.Error,
        ValueError,
        KeyError,
        TypeError,
        UnicodeError,
        orjson.JSONDecodeError,
    ) as exc:
        raise invalid_cursor() from exc
    if cursor.track != track:
        raise invalid_cursor("The cursor belongs to a listing of another track")
    return cursor


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def _int(value: object, low: int, high: int | None) -> int:
    # bool is an int subclass; a cursor of ours never holds one.
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError("expected an integer")
    if value < low or (high is not None and value > high):
        raise ValueError("out of range")
    return value
