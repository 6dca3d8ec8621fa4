"""Cursor pagination: stable under inserts, cheap on big tables (keyset, not OFFSET).

A cursor is an opaque base64url token of the last row's sort key. A malformed cursor is a
client error (400), never silently treated as "first page". :func:`keyset_page` is the whole
pattern: order by the key, start after the cursor, fetch one row more than the page to know
whether another follows, and hand back the next page's cursor.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable
from operator import attrgetter
from typing import Any, Generic, TypeVar

import orjson
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

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


async def keyset_page(
    session: AsyncSession,
    query: Select[Any],
    key: ColumnElement[uuid.UUID] | QueryableAttribute[uuid.UUID],
    cursor: str | None,
    limit: int,
    *,
    descending: bool = False,
    whole_rows: bool = False,
    key_of: Callable[[Any], uuid.UUID] = attrgetter("id"),
) -> tuple[list[Any], str | None]:
    """One page of ``query`` in ``key`` order (ids are time-ordered: oldest first, or newest
    first when ``descending``) and the cursor of the next page, None on the last one.

    The rows are the query's single entities (``session.scalars``), or whole result rows when
    ``whole_rows`` (several entities per row; then ``key_of`` reads the key from a row). A bad
    cursor is a 400 problem, raised before the database is asked.
    """
    after = decode_cursor(cursor)
    query = query.order_by(key.desc() if descending else key).limit(limit + 1)
    if after is not None:
        query = query.where(key < after if descending else key > after)
    result = await (session.execute(query) if whole_rows else session.scalars(query))
    rows = list(result.all())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(key_of(rows[-1])) if more else None
