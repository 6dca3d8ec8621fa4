"""Cursor pagination: stable under inserts, cheap on big tables (keyset, not OFFSET).

A cursor is an opaque base64url token of the last row's sort key. A malformed cursor is a
client error (400), never silently treated as "first page".
"""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Generic, TypeVar

import orjson
from pydantic import BaseModel, Field

from services.kit.errors import Problem

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as ?cursor= to get the next page; null on the last page"
    )


def encode_cursor(last_id: uuid.UUID) -> str:
    raw = orjson.dumps({"after": str(last_id)})
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str | None) -> uuid.UUID | None:
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return uuid.UUID(orjson.loads(base64.urlsafe_b64decode(padded))["after"])
    except (binascii.Error, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise Problem(
            400,
            "invalid-cursor",
            "Invalid cursor",
            "The cursor is not one this API issued; start again without it",
        ) from exc
