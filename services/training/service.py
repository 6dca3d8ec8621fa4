"""Training domain operations. Each runs inside the caller's write (or read) transaction."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.training import EnrollmentCompleted
from services.kit.errors import Conflict, InvalidField, NotFound
from services.kit.ids import new_id
from services.kit.outbox import publish
from services.kit.types import utcnow
from services.training.models import COMPLETED, ENROLLED, Course, Enrollment, KnownWorker
from services.training.schemas import CourseCreate, ResultRecord

#: Share of the course's scheduled hours a worker must attend to pass.
MIN_ATTENDANCE = Decimal("0.8")


def passes(course: Course, score: float, hours_attended: float) -> bool:
    """The pass rule: ``score >= course.pass_score`` and ``hours_attended >= 0.8 * course.hours``.

    Both conditions must hold: a good exam does not make up for missed classes (the programme
    subsidises training by attendance). Compared as decimals of the stored values so that, e.g.,
    5.6 attended hours of a 7-hour course passes (in binary floats 7 * 0.8 is 5.6000000000000005).
    """
    attendance_ok = _dec(hours_attended) >= _dec(course.hours) * MIN_ATTENDANCE
    return _dec(score) >= _dec(course.pass_score) and attendance_ok


def _dec(value: float) -> Decimal:
    return Decimal(repr(float(value)))


async def create_course(
    session: AsyncSession, data: CourseCreate, institution_id: uuid.UUID | None
) -> Course:
    """Create a course run by ``institution_id`` (decided from the caller, see access.py)."""
    now = utcnow()
    course = Course(
        id=new_id(),
        title=data.title,
        track=data.track,
        training_type=data.training_type,
        hours=data.hours,
        pass_score=data.pass_score,
        institution_id=institution_id,
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(course)
    await session.flush()
    return course


async def get_course(session: AsyncSession, course_id: uuid.UUID) -> Course:
    course = await session.get(Course, course_id)
    if course is None:
        raise NotFound("course", course_id)
    return course


async def enroll(session: AsyncSession, course: Course, worker_id: uuid.UUID) -> Enrollment:
    if await session.get(KnownWorker, worker_id) is None:
        # Training learns of workers from registry events, so a brand-new worker may not have
        # arrived yet: say so, rather than "no such worker".
        raise InvalidField(
            "worker_id",
            "no worker with this id is known to training; a newly registered worker may take "
            "a moment to arrive from the registry, so try again shortly",
            slug="unknown-worker",
        )
    open_one = await session.scalar(
        select(Enrollment.id).where(
            Enrollment.worker_id == worker_id,
            Enrollment.course_id == course.id,
            Enrollment.status == ENROLLED,
        )
    )
    if open_one is not None:
        raise already_enrolled(open_one)
    now = utcnow()
    enrollment = Enrollment(
        id=new_id(),
        course_id=course.id,
        worker_id=worker_id,
        status=ENROLLED,
        version=1,
        enrolled_at=now,
        updated_at=now,
    )
    session.add(enrollment)
    await session.flush()
    return enrollment


def already_enrolled(enrollment_id: uuid.UUID | None = None) -> Conflict:
    return Conflict(
        "The worker is already enrolled in this course and has not completed it",
        slug="already-enrolled",
        enrollment_id=str(enrollment_id) if enrollment_id else None,
    )


async def get_enrollment(
    session: AsyncSession, enrollment_id: uuid.UUID, *, for_update: bool = False
) -> Enrollment:
    # FOR UPDATE serialises concurrent result/complete calls on PostgreSQL; SQLite's
    # BEGIN IMMEDIATE already does.
    enrollment = await session.get(Enrollment, enrollment_id, with_for_update=for_update)
    if enrollment is None:
        raise NotFound("enrollment", enrollment_id)
    return enrollment


def _already_completed(enrollment: Enrollment) -> Conflict:
    return Conflict(
        f"Enrollment {enrollment.id} was completed at {enrollment.completed_at:%Y-%m-%dT%H:%M:%SZ}",
        slug="already-completed",
    )


async def record_result(
    session: AsyncSession, enrollment: Enrollment, data: ResultRecord
) -> Enrollment:
    """Record (or correct) the assessment result; allowed only until completion.

    ``enrollment`` was read with ``for_update=True`` in this transaction.
    """
    if enrollment.status != ENROLLED:
        raise _already_completed(enrollment)
    now = utcnow()
    enrollment.score = data.score
    enrollment.hours_attended = data.hours_attended
    enrollment.result_recorded_at = now
    enrollment.updated_at = now
    enrollment.version += 1
    await session.flush()
    return enrollment


async def complete(session: AsyncSession, enrollment: Enrollment) -> Enrollment:
    """Close the enrolment, decide ``passed`` (see :func:`passes`) and emit EnrollmentCompleted.

    ``enrollment`` was read with ``for_update=True`` in this transaction. The event is written
    to the outbox in this transaction, so it exists iff the completion does.
    """
    if enrollment.status == COMPLETED:
        raise _already_completed(enrollment)
    if enrollment.score is None or enrollment.hours_attended is None:
        raise Conflict("Record a result before completing the enrollment", slug="no-result")
    course = await get_course(session, enrollment.course_id)
    now = utcnow()
    enrollment.status = COMPLETED
    enrollment.passed = passes(course, enrollment.score, enrollment.hours_attended)
    enrollment.completed_at = now
    enrollment.updated_at = now
    enrollment.version += 1
    await session.flush()
    await publish(
        session,
        EnrollmentCompleted(
            enrollment_id=str(enrollment.id),
            worker_id=str(enrollment.worker_id),
            course_id=str(course.id),
            course_title=course.title,
            track=course.track,  # type: ignore[arg-type]
            training_type=course.training_type,  # type: ignore[arg-type]
            hours=enrollment.hours_attended,
            score=enrollment.score,
            passed=enrollment.passed,
            completed_at=now,
        ),
    )
    return enrollment
