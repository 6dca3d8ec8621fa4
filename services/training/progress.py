"""Progress through a course: sessions, attendance, exams with resits, results and completion.

Completion applies the course's completion rules in force (versioned data, see
:class:`CompletionRule`) to the attendance and exams recorded, records the rules version on the
enrolment and announces it with EnrollmentCompleted (credit issues certificates from it).
Each operation runs inside the caller's write transaction, on a locked enrolment.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from contracts.training import EnrollmentCompleted
from services.kit.errors import Conflict, InvalidField
from services.kit.ids import new_id
from services.kit.outbox import publish
from services.kit.types import utcnow
from services.training.models import (
    COMPLETED,
    ENROLLED,
    Attendance,
    Course,
    CourseSession,
    Enrollment,
    ExamAttempt,
)
from services.training.schemas import AttendanceRecord, ExamRecord, ResultRecord, SessionCreate
from services.training.service import current_rule, get_course, passes


async def add_session(session: AsyncSession, course: Course, data: SessionCreate) -> CourseSession:
    if not data.online and data.venue is None:
        raise InvalidField("venue", "name the venue, or mark the session online", slug="no-venue")
    row = CourseSession(
        id=new_id(),
        course_id=course.id,
        held_on=data.held_on,
        hours=data.hours,
        venue=data.venue,
        online=data.online,
        created_at=utcnow(),
    )
    session.add(row)
    await session.flush()
    return row


async def sessions_of(session: AsyncSession, course_id: uuid.UUID) -> list[CourseSession]:
    return list(
        await session.scalars(
            select(CourseSession)
            .where(CourseSession.course_id == course_id)
            .order_by(CourseSession.held_on, CourseSession.id)
        )
    )


def require_open(enrollment: Enrollment) -> None:
    if enrollment.status == COMPLETED:
        raise Conflict(
            f"Enrollment {enrollment.id} was completed at "
            f"{enrollment.completed_at:%Y-%m-%dT%H:%M:%SZ}",
            slug="already-completed",
        )
    if enrollment.status != ENROLLED:
        raise Conflict(
            f"The enrollment is {enrollment.status}; only enrolled workers attend and sit exams",
            slug="not-enrolled",
        )


def touch(enrollment: Enrollment) -> None:
    now = utcnow()
    enrollment.result_recorded_at = now
    enrollment.updated_at = now
    enrollment.version += 1


async def record_attendance(
    session: AsyncSession,
    enrollment: Enrollment,
    data: AttendanceRecord,
    recorded_by: str | None,
) -> Attendance:
    """Mark the worker present or absent at one session of their course (re-marking replaces);
    the enrolment's attended hours become the sum of the sessions attended."""
    require_open(enrollment)
    course_session = await session.get(CourseSession, data.session_id)
    if course_session is None or course_session.course_id != enrollment.course_id:
        raise InvalidField("session_id", "no session of this enrolment's course has this id")
    row = await session.get(Attendance, (enrollment.id, course_session.id))
    hours = course_session.hours if data.present else 0.0
    now = utcnow()
    if row is None:
        row = Attendance(enrollment_id=enrollment.id, session_id=course_session.id)
        session.add(row)
    row.present = data.present
    row.hours = hours
    row.recorded_by = recorded_by
    row.recorded_at = now
    await session.flush()
    attended = await session.scalar(
        select(func.coalesce(func.sum(Attendance.hours), 0.0)).where(
            Attendance.enrollment_id == enrollment.id
        )
    )
    enrollment.hours_attended = float(attended or 0.0)
    touch(enrollment)
    await session.flush()
    return row


async def attendance_of(session: AsyncSession, enrollment_id: uuid.UUID) -> list[Attendance]:
    return list(
        await session.scalars(
            select(Attendance)
            .where(Attendance.enrollment_id == enrollment_id)
            .order_by(Attendance.recorded_at)
        )
    )


async def record_exam(
    session: AsyncSession,
    enrollment: Enrollment,
    data: ExamRecord,
    recorded_by: str | None,
) -> ExamAttempt:
    """Record one sitting of the theory or practical exam under the rules in force.

    A part already passed is not sat again; a failed part may be resat ``max_resits`` times.
    The enrolment keeps each part's best score and, as ``score``, their mean.
    """
    require_open(enrollment)
    course = await get_course(session, enrollment.course_id)
    rule = await current_rule(session, course)
    pass_mark = rule.theory_pass_score if data.part == "theory" else rule.practical_pass_score
    if pass_mark is None:
        raise InvalidField("part", "the course's rules have no practical exam", slug="no-exam")
    earlier = list(
        await session.scalars(
            select(ExamAttempt).where(
                ExamAttempt.enrollment_id == enrollment.id, ExamAttempt.part == data.part
            )
        )
    )
    if any(a.passed for a in earlier):
        raise Conflict(f"The {data.part} exam was already passed", slug="exam-already-passed")
    if len(earlier) > rule.max_resits:
        raise Conflict(
            f"The {data.part} exam was sat {len(earlier)} times; rules version {rule.version} "
            f"allow {rule.max_resits} resit(s)",
            slug="resit-limit",
        )
    attempt = ExamAttempt(
        id=new_id(),
        enrollment_id=enrollment.id,
        part=data.part,
        attempt=len(earlier) + 1,
        score=data.score,
        passed=data.score >= pass_mark,
        rules_version=rule.version,
        recorded_by=recorded_by,
        taken_on=data.taken_on,
        recorded_at=utcnow(),
    )
    session.add(attempt)
    best = max([a.score for a in earlier] + [data.score])
    if data.part == "theory":
        enrollment.theory_score = best
    else:
        enrollment.practical_score = best
    parts = [p for p in (enrollment.theory_score, enrollment.practical_score) if p is not None]
    enrollment.score = round(sum(parts) / len(parts), 2)
    touch(enrollment)
    await session.flush()
    return attempt


async def exams_of(session: AsyncSession, enrollment_id: uuid.UUID) -> list[ExamAttempt]:
    return list(
        await session.scalars(
            select(ExamAttempt)
            .where(ExamAttempt.enrollment_id == enrollment_id)
            .order_by(ExamAttempt.recorded_at, ExamAttempt.id)
        )
    )


async def record_result(
    session: AsyncSession, enrollment: Enrollment, data: ResultRecord
) -> Enrollment:
    """Record (or correct) an overall result (score and attended hours) without sessions or
    exams; allowed only until completion. ``enrollment`` is locked in this transaction."""
    require_open(enrollment)
    enrollment.score = data.score
    enrollment.hours_attended = data.hours_attended
    touch(enrollment)
    await session.flush()
    return enrollment


_enrollments = Enrollment.__table__
_CLOSED_COLUMNS = ("status", "passed", "rules_version", "completed_at", "updated_at", "version")
# Bound names differ from the column names: SQLAlchemy reserves those for its own SET params.
CLOSE = (
    update(_enrollments)
    .where(_enrollments.c.id == bindparam("b_id"))
    .values({name: bindparam(f"b_{name}") for name in _CLOSED_COLUMNS})
)


async def complete(session: AsyncSession, enrollment: Enrollment) -> Enrollment:
    """Close the enrolment, decide ``passed`` under the course's rules in force (see
    :func:`passes`), record their version and emit EnrollmentCompleted.

    ``enrollment`` was read with ``for_update=True`` in this transaction. The event is written
    to the outbox in this transaction, so it exists iff the completion does. (The API's
    completion runs the same decision on the plain driver: :mod:`services.training.completion`.)
    """
    course = await get_course(session, enrollment.course_id)
    rule = await current_rule(session, course)
    closed, event = closing(enrollment, course, rule)
    # One cached Core UPDATE: the unit of work's flush of the same change was ~13 % of the
    # request's CPU. The loaded enrolment takes the values as its stored state, so there is
    # nothing left to flush.
    await session.execute(CLOSE, close_params(enrollment.id, closed))
    for name, value in closed.items():
        set_committed_value(enrollment, name, value)
    await publish(session, event)
    return enrollment


def closing(enrollment: Any, course: Any, rule: Any) -> tuple[dict[str, Any], EnrollmentCompleted]:
    """What completing ``enrollment`` (open, with a result) changes, and the event that says
    so: ``passed`` under ``rule`` (the course's rules in force), their version, the times."""
    require_open(enrollment)
    if enrollment.score is None or enrollment.hours_attended is None:
        raise Conflict(
            "Record attendance and exams (or a result) before completing the enrollment",
            slug="no-result",
        )
    theory = enrollment.theory_score if enrollment.theory_score is not None else enrollment.score
    now = utcnow()
    closed = {
        "status": COMPLETED,
        "passed": passes(
            course, theory, enrollment.hours_attended, rule, enrollment.practical_score
        ),
        "rules_version": rule.version,
        "completed_at": now,
        "updated_at": now,
        "version": enrollment.version + 1,
    }
    event = EnrollmentCompleted(
        enrollment_id=str(enrollment.id),
        worker_id=str(enrollment.worker_id),
        course_id=str(course.id),
        course_title=course.title,
        track=course.track,
        training_type=course.training_type,
        hours=enrollment.hours_attended,
        score=enrollment.score,
        passed=closed["passed"],
        completed_at=now,
        rules_version=rule.version,
        theory_score=enrollment.theory_score,
        practical_score=enrollment.practical_score,
    )
    return closed, event


def close_params(enrollment_id: uuid.UUID, closed: dict[str, Any]) -> dict[str, Any]:
    """The parameters of :data:`CLOSE` for ``closed`` (see :func:`closing`)."""
    return {"b_id": enrollment_id, **{f"b_{name}": value for name, value in closed.items()}}
