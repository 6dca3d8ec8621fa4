"""kit.http: conditional GETs, and JSON answers that pydantic-core serialises itself."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Literal

from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.requests import Request

from services.kit.http import conditional_json, etag_for, json_response


class Inner(BaseModel):
    when: datetime
    note: str | None = None


class Shape(BaseModel):
    id: uuid.UUID
    title: str
    kind: Literal["a", "b"]
    hours: float
    count: int | None
    flag: bool
    renamed: str = Field(alias="displayName")
    items: list[Inner]


def _shape() -> Shape:
    return Shape(
        id=uuid.UUID("01a2498a-ee74-741e-9796-d0c939745dd3"),
        title='家政 "培训" \\ 课程 \u00e9 \u2028 \x1f',
        kind="b",
        hours=8,
        count=None,
        flag=False,
        displayName="别名",
        items=[
            Inner(when=datetime(2026, 12, 6, 4, 9, 31, 508472, tzinfo=UTC)),
            Inner(when=datetime(2026, 1, 2, tzinfo=UTC), note="x"),
        ],
    )


def _request(if_none_match: str | None = None) -> Request:
    headers = [] if if_none_match is None else [(b"if-none-match", if_none_match.encode())]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers})


def test_a_model_is_answered_as_jsonable_encoder_and_json_response_would() -> None:
    model = _shape()
    fast = json_response(model, 201, {"ETag": "x"})
    usual = JSONResponse(jsonable_encoder(model), status_code=201, headers={"ETag": "x"})
    assert json.loads(fast.body) == json.loads(usual.body)
    assert fast.body == usual.body  # byte for byte: same keys, order, escapes and numbers
    assert fast.status_code == 201
    assert fast.headers["content-type"] == usual.headers["content-type"] == "application/json"
    assert fast.headers["etag"] == "x"
    assert fast.headers["content-length"] == str(len(usual.body))


def test_other_payloads_go_through_jsonable_encoder() -> None:
    payload = {"when": datetime(2026, 1, 2, tzinfo=UTC), "items": [_shape()]}
    assert json_response(payload).body == JSONResponse(jsonable_encoder(payload)).body


def test_conditional_json_answers_304_for_a_known_version_only() -> None:
    etag = etag_for("course", 3)
    model = _shape()
    for sent in (etag, f'W/"other", {etag}', "*"):
        response = conditional_json(_request(sent), model, etag)
        assert response.status_code == 304
        assert response.body == b""
        assert response.headers["etag"] == etag
    for sent in (None, "", 'W/"other"'):
        response = conditional_json(_request(sent), model, etag)
        assert response.status_code == 200
        assert response.headers["etag"] == etag
        assert response.headers["cache-control"] == "private, no-cache"
        assert json.loads(response.body)["displayName"] == "别名"
