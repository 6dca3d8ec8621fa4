"""Skill competition routes under /api/v1/competitions.

Competitions, their award policy and their results are public; the programme's officers
create competitions, judge them and finish them; a worker registers themself (officers may
register anyone). Finishing names the winners 技术能手 and announces each with
``training.competition.awarded`` (credit issues the certificate from it).
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from contracts.common import Track
from services.kit.app import ServiceContext, get_ctx
from services.kit.errors import Conflict, InvalidField
from services.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, keyset_page
from services.kit.policy import STAFF, allow, public
from services.kit.principal import Principal, forbidden
from services.training.competitions import service as competitions
from services.training.competitions.models import (
    Competition,
    CompetitionEntry,
    CompetitionPolicy,
    JudgeScore,
)
from services.training.competitions.schemas import (
    CompetitionCreate,
    CompetitionOut,
    CompetitionPolicyCreate,
    CompetitionPolicyHistory,
    CompetitionPolicyOut,
    EntryCreate,
    EntryOut,
    ScoreOut,
    ScoreRecord,
)

router = APIRouter(prefix="/api/v1", tags=["skill competitions"])

RUNS_COMPETITIONS = allow(*STAFF)


def policy_out(policy: CompetitionPolicy) -> CompetitionPolicyOut:
    return CompetitionPolicyOut(
        version=policy.version,
        winners=policy.winners,
        min_total_score=policy.min_total_score,
        created_at=policy.created_at,
    )


def competition_out(competition: Competition) -> CompetitionOut:
    return CompetitionOut(
        id=competition.id,
        title=competition.title,
        track=competition.track,  # type: ignore[arg-type]
        held_on=competition.held_on,
        rounds=competition.rounds,
        policy_version=competition.policy_version,
        status=competition.status,  # type: ignore[arg-type]
        created_at=competition.created_at,
        finished_at=competition.finished_at,
    )


def entry_out(entry: CompetitionEntry) -> EntryOut:
    return EntryOut(
        id=entry.id,
        competition_id=entry.competition_id,
        worker_id=entry.worker_id,
        registered_at=entry.registered_at,
        total_score=entry.total_score,
        rank=entry.rank,
        awarded=entry.awarded,
    )


@router.get(
    "/competitions/policy",
    response_model=CompetitionPolicyHistory,
    dependencies=[Depends(public())],
)
async def get_award_policy(ctx: ServiceContext = Depends(get_ctx)) -> CompetitionPolicyHistory:
    """The award policy in force (top places named 技术能手, lowest winning total) and every
    earlier version. Public."""
    async with ctx.db.read() as session:
        versions = await competitions.policies(session)
    return CompetitionPolicyHistory(
        current=policy_out(versions[-1]) if versions else None,
        versions=[policy_out(p) for p in versions],
    )


@router.post("/competitions/policy", status_code=201, response_model=CompetitionPolicyOut)
async def publish_award_policy(
    body: CompetitionPolicyCreate,
    principal: Principal = Depends(RUNS_COMPETITIONS),
    ctx: ServiceContext = Depends(get_ctx),
) -> CompetitionPolicyOut:
    """Publish the next award policy version; competitions created from now on follow it.
    Officers only."""
    try:
        async with ctx.db.write() as session:
            policy = await competitions.publish_policy(session, body, principal.subject)
    except IntegrityError as exc:
        raise Conflict(
            "Another policy version was published at the same time; read it and retry",
            slug="policy-version-taken",
        ) from exc
    return policy_out(policy)


@router.post("/competitions", status_code=201, response_model=CompetitionOut)
async def create_competition(
    body: CompetitionCreate,
    response: Response,
    principal: Principal = Depends(RUNS_COMPETITIONS),
    ctx: ServiceContext = Depends(get_ctx),
) -> CompetitionOut:
    """Announce a skill competition of one track, under the award policy in force. Officers."""
    async with ctx.db.write() as session:
        competition = await competitions.create(session, body, principal.subject)
    response.headers["Location"] = f"/api/v1/competitions/{competition.id}"
    return competition_out(competition)


@router.get("/competitions", response_model=Page[CompetitionOut], dependencies=[Depends(public())])
async def list_competitions(
    ctx: ServiceContext = Depends(get_ctx),
    track: Track | None = Query(None),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[CompetitionOut]:
    """Competitions, oldest first, optionally of one track. Public."""
    query = select(Competition)
    if track is not None:
        query = query.where(Competition.track == track)
    async with ctx.db.read() as session:
        rows, next_cursor = await keyset_page(session, query, Competition.id, cursor, limit)
    return Page[CompetitionOut](items=[competition_out(c) for c in rows], next_cursor=next_cursor)


@router.get(
    "/competitions/{competition_id}",
    response_model=CompetitionOut,
    dependencies=[Depends(public())],
)
async def get_competition(
    competition_id: uuid.UUID, ctx: ServiceContext = Depends(get_ctx)
) -> CompetitionOut:
    """One competition. Public."""
    async with ctx.db.read() as session:
        return competition_out(await competitions.get(session, competition_id))


@router.post("/competitions/{competition_id}/entries", status_code=201, response_model=EntryOut)
async def register_for_competition(
    competition_id: uuid.UUID,
    body: EntryCreate,
    principal: Principal = Depends(allow(*STAFF, "worker")),
    ctx: ServiceContext = Depends(get_ctx),
) -> EntryOut:
    """Register for the competition: a worker themself (``worker_id`` may be left out), or
    anyone by an officer."""
    worker_id = body.worker_id
    if principal.role == "worker":
        if principal.party_id is None or (worker_id not in (None, principal.party_id)):
            raise forbidden("A worker may register only themself")
        worker_id = principal.party_id
    elif worker_id is None:
        raise InvalidField("worker_id", "name the worker to register", slug="missing-worker")
    try:
        async with ctx.db.write() as session:
            competition = await competitions.get(session, competition_id, for_update=True)
            entry = await competitions.register(session, competition, worker_id)
    except IntegrityError as exc:
        raise competitions.already_registered() from exc
    return entry_out(entry)


@router.get(
    "/competitions/{competition_id}/entries",
    response_model=list[EntryOut],
    dependencies=[Depends(public())],
)
async def list_competition_entries(
    competition_id: uuid.UUID, ctx: ServiceContext = Depends(get_ctx)
) -> list[EntryOut]:
    """The entries: by registration while open, by rank once finished (the published
    results; workers appear by id only). Public."""
    async with ctx.db.read() as session:
        await competitions.get(session, competition_id)
        rows = await competitions.entries(session, competition_id)
    return [entry_out(e) for e in rows]


@router.post("/competitions/{competition_id}/scores", response_model=ScoreOut)
async def record_competition_score(
    competition_id: uuid.UUID,
    body: ScoreRecord,
    principal: Principal = Depends(RUNS_COMPETITIONS),
    ctx: ServiceContext = Depends(get_ctx),
) -> ScoreOut:
    """A judge's score of one entry in one round; the judge is the caller, and scoring again
    replaces their earlier score. Officers, until the competition finishes."""
    async with ctx.db.write() as session:
        competition = await competitions.get(session, competition_id, for_update=True)
        row: JudgeScore = await competitions.score(session, competition, body, principal.subject)
    return ScoreOut(
        entry_id=row.entry_id, round=row.round, score=row.score, scored_at=row.scored_at
    )


@router.post("/competitions/{competition_id}/finish", response_model=list[EntryOut])
async def finish_competition(
    competition_id: uuid.UUID,
    principal: Principal = Depends(RUNS_COMPETITIONS),
    ctx: ServiceContext = Depends(get_ctx),
) -> list[EntryOut]:
    """Close the competition: rank the entries and name the winners 肇庆市技术能手 under the
    competition's award policy; each award is announced for credit to certify. Officers."""
    async with ctx.db.write() as session:
        competition = await competitions.get(session, competition_id, for_update=True)
        rows = await competitions.finish(session, competition)
    return [entry_out(e) for e in rows]
