"""Apprenticeship operations; each runs inside the caller's transaction."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.dialect import dialect_insert
from services.kit.errors import Conflict, InvalidField, NotFound
from services.kit.ids import new_id
from services.kit.types import utcnow
from services.training import progress, service
from services.training.apprenticeships.models import (
    Apprenticeship,
    ApprenticeshipPolicy,
    ApprenticeshipProgress,
    KnownRating,
)
from services.training.apprenticeships.schemas import (
    ApprenticeshipCreate,
    ApprenticeshipPolicyCreate,
    ProgressRecord,
)
from services.training.competitions.models import CompetitionEntry
from services.training.models import WAITING, Course, Enrollment, KnownCertificate


async def policies(session: AsyncSession) -> list[ApprenticeshipPolicy]:
    return list(
        await session.scalars(select(ApprenticeshipPolicy).order_by(ApprenticeshipPolicy.version))
    )


async def current_policy(session: AsyncSession) -> ApprenticeshipPolicy | None:
    return await session.scalar(
        select(ApprenticeshipPolicy).order_by(ApprenticeshipPolicy.version.desc()).limit(1)
    )


async def publish_policy(
    session: AsyncSession, data: ApprenticeshipPolicyCreate, created_by: str
) -> ApprenticeshipPolicy:
    latest = await current_policy(session)
    policy = ApprenticeshipPolicy(
        version=(latest.version + 1) if latest else 1,
        mentor_min_stars=data.mentor_min_stars,
        created_by=created_by,
        created_at=utcnow(),
    )
    session.add(policy)
    await session.flush()
    return policy


async def upsert_rating(
    session: AsyncSession, worker_id: uuid.UUID, year: int, stars: int, as_of: datetime
) -> None:
    """Keep the worker's newest rating (by rating's own timestamp, so reordering converges)."""
    stmt = dialect_insert(session, KnownRating).values(
        worker_id=worker_id, year=year, stars=stars, as_of=as_of
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[KnownRating.worker_id],
        set_={
            "year": stmt.excluded.year,
            "stars": stmt.excluded.stars,
            "as_of": stmt.excluded.as_of,
        },
        where=stmt.excluded.as_of >= KnownRating.as_of,
    )
    await session.execute(stmt)


async def _mentor_basis(
    session: AsyncSession, mentor_id: uuid.UUID, policy: ApprenticeshipPolicy
) -> tuple[str, int | None]:
    rating = await session.get(KnownRating, mentor_id)
    stars = rating.stars if rating else None
    if stars is not None and stars >= policy.mentor_min_stars:
        return "stars", stars
    expert = await session.scalar(
        select(func.count())
        .select_from(CompetitionEntry)
        .where(CompetitionEntry.worker_id == mentor_id, CompetitionEntry.awarded.is_(True))
    )
    if not expert:  # or a 技术能手 certificate credit issued (e.g. a title from before)
        expert = await session.scalar(
            select(func.count())
            .select_from(KnownCertificate)
            .where(KnownCertificate.worker_id == mentor_id, KnownCertificate.kind == "skill_title")
        )
    if expert:
        return "technical_expert", stars
    raise InvalidField(
        "mentor_id",
        f"a mentor needs {policy.mentor_min_stars} stars or the 技术能手 title "
        f"(apprenticeship policy version {policy.version}); this worker has "
        f"{stars if stars is not None else 'no'} stars",
        slug="mentor-not-qualified",
    )


async def create(
    session: AsyncSession,
    data: ApprenticeshipCreate,
    company_id: uuid.UUID,
    course: Course,
    created_by: str,
) -> Apprenticeship:
    """Contract an apprenticeship and enrol the apprentice in its course. ``course`` is locked
    (the enrolment counts its seats)."""
    if course.training_type != "apprenticeship":
        raise InvalidField(
            "course_id", "the course is not an apprenticeship", slug="not-apprenticeship"
        )
    if data.ends_on <= data.starts_on:
        raise InvalidField("ends_on", "the contract must end after it starts")
    if data.mentor_id == data.apprentice_id:
        raise InvalidField("mentor_id", "an apprentice cannot mentor themself")
    policy = await current_policy(session)
    if policy is None:
        raise Conflict(
            "No apprenticeship policy has been published", slug="no-apprenticeship-policy"
        )
    basis, stars = await _mentor_basis(session, data.mentor_id, policy)
    enrollment = await service.enroll(session, course, data.apprentice_id)
    if enrollment.status == WAITING:
        raise Conflict("The apprenticeship course has no free place", slug="course-full")
    apprenticeship = Apprenticeship(
        id=new_id(),
        enrollment_id=enrollment.id,
        course_id=course.id,
        company_id=company_id,
        mentor_id=data.mentor_id,
        apprentice_id=data.apprentice_id,
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        mentor_basis=basis,
        mentor_stars=stars,
        policy_version=policy.version,
        created_by=created_by,
        created_at=utcnow(),
    )
    session.add(apprenticeship)
    await session.flush()
    return apprenticeship


async def get(session: AsyncSession, apprenticeship_id: uuid.UUID) -> Apprenticeship:
    row = await session.get(Apprenticeship, apprenticeship_id)
    if row is None:
        raise NotFound("apprenticeship", apprenticeship_id)
    return row


async def record_progress(
    session: AsyncSession,
    apprenticeship: Apprenticeship,
    enrollment: Enrollment,
    data: ProgressRecord,
    recorded_by: str,
) -> ApprenticeshipProgress:
    """Record the month (re-recording replaces it). The apprentice's enrolment then carries
    the hours trained so far and the mean monthly assessment as its score, so completion
    applies the course's rules to them. ``enrollment`` is locked."""
    progress.require_open(enrollment)
    first = apprenticeship.starts_on.strftime("%Y-%m")
    last = apprenticeship.ends_on.strftime("%Y-%m")
    if not first <= data.month <= last:
        raise InvalidField("month", f"the contract runs from {first} to {last}")
    row = await session.get(ApprenticeshipProgress, (apprenticeship.id, data.month))
    if row is None:
        row = ApprenticeshipProgress(apprenticeship_id=apprenticeship.id, month=data.month)
        session.add(row)
    row.hours = data.hours
    row.assessment = data.assessment
    row.note = data.note
    row.recorded_by = recorded_by
    row.recorded_at = utcnow()
    await session.flush()
    hours, assessment = (
        await session.execute(
            select(
                func.coalesce(func.sum(ApprenticeshipProgress.hours), 0.0),
                func.avg(ApprenticeshipProgress.assessment),
            ).where(ApprenticeshipProgress.apprenticeship_id == apprenticeship.id)
        )
    ).one()
    enrollment.hours_attended = float(hours)
    enrollment.score = round(float(assessment), 2)
    progress.touch(enrollment)
    await session.flush()
    return row


async def progress_of(
    session: AsyncSession, apprenticeship_id: uuid.UUID
) -> list[ApprenticeshipProgress]:
    return list(
        await session.scalars(
            select(ApprenticeshipProgress)
            .where(ApprenticeshipProgress.apprenticeship_id == apprenticeship_id)
            .order_by(ApprenticeshipProgress.month)
        )
    )
