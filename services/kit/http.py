"""Small HTTP helpers for mobile-friendly reads: ETags and conditional GETs."""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse


def etag_for(*parts: object) -> str:
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:32]
    return f'W/"{digest}"'


def conditional_json(request: Request, payload: Any, etag: str, status_code: int = 200) -> Response:
    """Answer 304 when the client's If-None-Match already names this version."""
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if_none_match = request.headers.get("if-none-match", "")
    if etag in [tag.strip() for tag in if_none_match.split(",")] or if_none_match.strip() == "*":
        return Response(status_code=304, headers=headers)
    return JSONResponse(jsonable_encoder(payload), status_code=status_code, headers=headers)
