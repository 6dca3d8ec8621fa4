"""Competition operations; each runs inside the caller's transaction."""

from __future__ import annotations

import uuid
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.training import CompetitionAwarded
from services.kit.errors import Conflict, InvalidField, NotFound
from services.kit.ids import new_id
from services.kit.outbox import publish
from services.kit.types import utcnow
from services.training.competitions.models import (
    FINISHED,
    OPEN,
    Competition,
    CompetitionEntry,
    CompetitionPolicy,
    JudgeScore,
)
from services.training.competitions.schemas import (
    CompetitionCreate,
    CompetitionPolicyCreate,
    ScoreRecord,
)
from services.training.models import KnownWorker


async def policies(session: AsyncSession) -> list[CompetitionPolicy]:
    return list(
        await session.scalars(select(CompetitionPolicy).order_by(CompetitionPolicy.version))
    )


async def current_policy(session: AsyncSession) -> CompetitionPolicy | None:
    return await session.scalar(
        select(CompetitionPolicy).order_by(CompetitionPolicy.version.desc()).limit(1)
    )


async def publish_policy(
    session: AsyncSession, data: CompetitionPolicyCreate, created_by: str
) -> CompetitionPolicy:
    latest = await current_policy(session)
    policy = CompetitionPolicy(
        version=(latest.version + 1) if latest else 1,
        winners=data.winners,
        min_total_score=data.min_total_score,
        created_by=created_by,
        created_at=utcnow(),
    )
    session.add(policy)
    await session.flush()
    return policy


async def create(session: AsyncSession, data: CompetitionCreate, created_by: str) -> Competition:
    """A competition under the award policy in force (its version is kept on the record)."""
    policy = await current_policy(session)
    if policy is None:
        raise Conflict("No competition award policy has been published", slug="no-award-policy")
    competition = Competition(
        id=new_id(),
        title=data.title,
        track=data.track,
        held_on=data.held_on,
        rounds=data.rounds,
        policy_version=policy.version,
        status=OPEN,
        created_by=created_by,
        created_at=utcnow(),
        version=1,
    )
    session.add(competition)
    await session.flush()
    return competition


async def get(
    session: AsyncSession, competition_id: uuid.UUID, *, for_update: bool = False
) -> Competition:
    competition = await session.get(Competition, competition_id, with_for_update=for_update)
    if competition is None:
        raise NotFound("competition", competition_id)
    return competition


def _require_open(competition: Competition) -> None:
    if competition.status != OPEN:
        raise Conflict("The competition has finished", slug="competition-finished")


async def register(
    session: AsyncSession, competition: Competition, worker_id: uuid.UUID
) -> CompetitionEntry:
    _require_open(competition)
    if await session.get(KnownWorker, worker_id) is None:
        raise InvalidField(
            "worker_id", "no worker with this id is known to training", slug="unknown-worker"
        )
    entered = await session.scalar(
        select(CompetitionEntry.id).where(
            CompetitionEntry.competition_id == competition.id,
            CompetitionEntry.worker_id == worker_id,
        )
    )
    if entered is not None:
        raise already_registered()
    entry = CompetitionEntry(
        id=new_id(),
        competition_id=competition.id,
        worker_id=worker_id,
        registered_at=utcnow(),
        awarded=False,
    )
    session.add(entry)
    await session.flush()
    return entry


def already_registered() -> Conflict:
    return Conflict("The worker is already registered", slug="already-registered")


async def entries(session: AsyncSession, competition_id: uuid.UUID) -> list[CompetitionEntry]:
    rows = await session.scalars(
        select(CompetitionEntry).where(CompetitionEntry.competition_id == competition_id)
    )
    # Finished: by rank; open: by registration.
    return sorted(rows, key=lambda e: (e.rank or 0, e.registered_at, e.id))


async def score(
    session: AsyncSession, competition: Competition, data: ScoreRecord, judge: str
) -> JudgeScore:
    """The judge's score of one entry in one round (re-scoring replaces); ``competition`` is
    locked, so scores cannot land after the finish."""
    _require_open(competition)
    entry = await session.get(CompetitionEntry, data.entry_id)
    if entry is None or entry.competition_id != competition.id:
        raise InvalidField("entry_id", "no entry of this competition has this id")
    if data.round > competition.rounds:
        raise InvalidField("round", f"the competition has {competition.rounds} round(s)")
    row = await session.get(JudgeScore, (entry.id, data.round, judge))
    if row is None:
        row = JudgeScore(entry_id=entry.id, round=data.round, judge=judge)
        session.add(row)
    row.score = data.score
    row.scored_at = utcnow()
    await session.flush()
    return row


async def finish(session: AsyncSession, competition: Competition) -> list[CompetitionEntry]:
    """Rank the entries and name the winners 技术能手 under the competition's policy version.

    An entry's total is the sum over rounds of its judges' mean score; ties share a rank
    (1, 2, 2, 4). Each winner is announced with CompetitionAwarded in this transaction.
    """
    _require_open(competition)
    policy = await session.get(CompetitionPolicy, competition.policy_version)
    if policy is None:  # cannot happen: the version was read when the competition was made
        raise Conflict("The competition's award policy is missing", slug="no-award-policy")
    rows = await entries(session, competition.id)
    if not rows:
        raise Conflict("Nobody is registered", slug="no-entries")
    by_entry: dict[uuid.UUID, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for judged in await session.scalars(
        select(JudgeScore).where(JudgeScore.entry_id.in_([e.id for e in rows]))
    ):
        by_entry[judged.entry_id][judged.round].append(judged.score)
    for entry in rows:
        rounds = by_entry[entry.id]
        entry.total_score = round(sum(sum(s) / len(s) for s in rounds.values()), 2)
    ordered = sorted(rows, key=lambda e: -(e.total_score or 0))
    now = utcnow()
    for position, entry in enumerate(ordered, start=1):
        before = ordered[position - 2] if position > 1 else None
        tied = before is not None and before.total_score == entry.total_score
        entry.rank = before.rank if tied and before is not None else position
        entry.awarded = (entry.rank or 0) <= policy.winners and (
            entry.total_score or 0
        ) >= policy.min_total_score
    competition.status = FINISHED
    competition.finished_at = now
    competition.version += 1
    await session.flush()
    for entry in ordered:
        if entry.awarded:
            await publish(
                session,
                CompetitionAwarded(
                    award_id=str(entry.id),
                    competition_id=str(competition.id),
                    competition_title=competition.title,
                    worker_id=str(entry.worker_id),
                    track=competition.track,  # type: ignore[arg-type]
                    rank=entry.rank or 1,
                    total_score=entry.total_score or 0,
                    title="technical_expert",
                    policy_version=policy.version,
                    awarded_at=now,
                ),
            )
    return ordered
