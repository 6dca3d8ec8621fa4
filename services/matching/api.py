"""Matching HTTP routes under /api/v1: candidate workers, for those who hire.

Officers and admins, employers, company staff and partner platforms with ``candidates:read``
see candidates; a worker may see only their own entry (how employers see them), and gets 404
for anyone else's. Institutions and other partners get 403.
"""

from __future__ import annotations

import uuid
from datetime import date

from fastapi import APIRouter, Depends, Query, Request, Response

from contracts.common import County, Track
from services.kit.app import ServiceContext, get_ctx
from services.kit.errors import NotFound
from services.kit.http import conditional_json, etag_for
from services.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from services.kit.policy import STAFF, allow
from services.kit.principal import Principal, Role
from services.matching import queries
from services.matching.cursor import CandidateCursor, decode_cursor, encode_cursor
from services.matching.queries import CandidateView
from services.matching.schemas import (
    TRACK_ORDER,
    CandidateCertificate,
    CandidateListItem,
    CandidateOut,
)

router = APIRouter(prefix="/api/v1", tags=["candidates"])

#: Partner platforms need this scope to see candidates.
CANDIDATES_READ_SCOPE = "candidates:read"
#: Those who hire: the programme's staff, employers, companies, scoped partner platforms.
HIRERS: tuple[Role, ...] = (*STAFF, "employer", "company")


def candidate_out(view: CandidateView, as_of: date) -> CandidateOut:
    candidate = view.candidate
    tracks = view.tracks(as_of)
    return CandidateOut(
        worker_id=candidate.worker_id,
        name=candidate.name or "",
        county=candidate.county,  # type: ignore[arg-type]
        stars=candidate.stars,
        rating_year=candidate.rating_year,
        tracks=[t for t in TRACK_ORDER if t in tracks],  # type: ignore[misc]
        certificates=[
            CandidateCertificate(
                number=c.number,
                track=c.track,  # type: ignore[arg-type]
                kind=c.kind,  # type: ignore[arg-type]
                issued_at=c.issued_at,
                valid_until=c.valid_until,
            )
            for c in view.certificates
        ],
    )


@router.get(
    "/candidates",
    response_model=Page[CandidateListItem],
    dependencies=[Depends(allow(*HIRERS, scopes=[CANDIDATES_READ_SCOPE]))],
)
async def list_candidates(
    ctx: ServiceContext = Depends(get_ctx),
    track: Track = Query(description="Service track the candidates should work in"),
    county: County | None = Query(None),
    min_stars: int | None = Query(None, ge=1, le=5, description="Leaves out unrated workers"),
    cursor: str | None = Query(None, max_length=500),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[CandidateListItem]:
    """Candidates for a track, best first: more stars first (unrated last), then holders of a
    valid certificate in the track, then more valid certificates, then by worker id. A worker
    is a candidate when they declared the track or hold a valid certificate in it. Officers,
    admins, employers, companies and partners with ``candidates:read``."""
    position = decode_cursor(cursor, track)
    as_of = position.as_of if position is not None else queries.today_in_china()
    async with ctx.db.read() as session:
        keys = await queries.rank(
            session,
            track,
            as_of=as_of,
            county=county,
            min_stars=min_stars,
            after=position.after if position is not None else None,
            limit=limit + 1,
        )
        more = len(keys) > limit
        keys = keys[:limit]
        views = await queries.load_views(session, [k.worker_id for k in keys])
    items = [
        CandidateListItem(
            **candidate_out(views[k.worker_id], as_of).model_dump(),
            certified_in_track=bool(k.certified),
        )
        for k in keys
    ]
    next_cursor = (
        encode_cursor(CandidateCursor(track=track, as_of=as_of, after=keys[-1])) if more else None
    )
    return Page[CandidateListItem](items=items, next_cursor=next_cursor)


@router.get("/candidates/{worker_id}", response_model=CandidateOut)
async def get_candidate(
    worker_id: uuid.UUID,
    request: Request,
    principal: Principal = Depends(allow(*HIRERS, "worker", scopes=[CANDIDATES_READ_SCOPE])),
    ctx: ServiceContext = Depends(get_ctx),
) -> Response:
    """One candidate with their tracks, stars and certificates; a worker sees only their own."""
    if principal.role == "worker" and not principal.acts_for(worker_id):
        raise NotFound("candidate", worker_id)
    as_of = queries.today_in_china()
    async with ctx.db.read() as session:
        view = await queries.get_view(session, worker_id)
    if view is None:  # unknown, or only a placeholder so far
        raise NotFound("candidate", worker_id)
    # The date is part of the version: certificate validity (and so tracks) depends on it.
    etag = etag_for(worker_id, view.candidate.version, as_of.isoformat())
    return conditional_json(request, candidate_out(view, as_of), etag)
