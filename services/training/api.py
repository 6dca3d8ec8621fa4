"""Training HTTP routes under /api/v1: courses and enrollments.

Each route declares who may call it (``services.kit.policy``); ``access`` then relates the
caller to the course or enrolment. The catalogue is public; results and completion, which
lead to a certificate, are for officers and the staff of the institution running the course.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from contracts.common import Track
from services.kit.app import ServiceContext, context_of, get_ctx
from services.kit.errors import NotFound
from services.kit.http import conditional_json, etag_for
from services.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, keyset_page
from services.kit.policy import STAFF, allow, public
from services.kit.principal import Principal
from services.kit.reads import ReadQuery
from services.training import access, service
from services.training.models import Course, Enrollment
from services.training.schemas import (
    CourseCreate,
    CourseOut,
    EnrollmentCreate,
    EnrollmentOut,
    ResultRecord,
)

router = APIRouter(prefix="/api/v1", tags=["training"])

#: Who runs courses: the programme's staff and training institutions (their own courses).
RUNS_COURSES = allow(*STAFF, "institution")
#: Who may read some enrolments; access.sees decides which.
READS_ENROLMENTS = allow(*STAFF, "institution", "worker", "company")


#: The catalogue's hot read: one autocommit statement on the plain driver, no ORM session.
COURSE_BY_ID = ReadQuery(select(Course.__table__).where(Course.id == bindparam("course_id")))


def course_out(course: Course | Any) -> CourseOut:
    """The course's public form, from the ORM object or a ``COURSE_BY_ID`` row."""
    return CourseOut(
        id=course.id,
        title=course.title,
        track=course.track,  # type: ignore[arg-type]
        training_type=course.training_type,  # type: ignore[arg-type]
        hours=course.hours,
        pass_score=course.pass_score,
        institution_id=course.institution_id,
        version=course.version,
        created_at=course.created_at,
    )


def enrollment_out(enrollment: Enrollment) -> EnrollmentOut:
    return EnrollmentOut(
        id=enrollment.id,
        course_id=enrollment.course_id,
        worker_id=enrollment.worker_id,
        status=enrollment.status,  # type: ignore[arg-type]
        score=enrollment.score,
        hours_attended=enrollment.hours_attended,
        passed=enrollment.passed,
        version=enrollment.version,
        enrolled_at=enrollment.enrolled_at,
        result_recorded_at=enrollment.result_recorded_at,
        completed_at=enrollment.completed_at,
    )


def _with_etag(response: Response, enrollment: Enrollment) -> EnrollmentOut:
    response.headers["ETag"] = etag_for(enrollment.id, enrollment.version)
    return enrollment_out(enrollment)


# --- Courses -----------------------------------------------------------------------------------


@router.post("/courses", status_code=201, response_model=CourseOut)
async def create_course(
    body: CourseCreate,
    response: Response,
    principal: Principal = Depends(RUNS_COURSES),
    ctx: ServiceContext = Depends(get_ctx),
) -> CourseOut:
    """Create a course. Institution staff create courses of their own institution only."""
    institution_id = access.course_institution(principal, body.institution_id)
    async with ctx.db.write() as session:
        course = await service.create_course(session, body, institution_id)
    response.headers["Location"] = f"/api/v1/courses/{course.id}"
    response.headers["ETag"] = etag_for(course.id, course.version)
    return course_out(course)


@router.get("/courses/{course_id}", response_model=CourseOut, dependencies=[Depends(public())])
async def get_course(course_id: uuid.UUID, request: Request) -> Response:
    """One course of the public catalogue (with an ETag)."""
    # The platform's hottest read: the context straight from the app, not via Depends(get_ctx),
    # which costs FastAPI one more dependency to solve on every call.
    course = await context_of(request).db.fetch_one(COURSE_BY_ID, course_id=course_id)
    if course is None:
        raise NotFound("course", course_id)
    return conditional_json(request, course_out(course), etag_for(course.id, course.version))


@router.get("/courses", response_model=Page[CourseOut], dependencies=[Depends(public())])
async def list_courses(
    ctx: ServiceContext = Depends(get_ctx),
    track: Track | None = Query(None),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[CourseOut]:
    """The public course catalogue, oldest first, optionally of one track."""
    query = select(Course)
    if track is not None:
        query = query.where(Course.track == track)
    async with ctx.db.read() as session:
        courses, next_cursor = await keyset_page(session, query, Course.id, cursor, limit)
    return Page[CourseOut](items=[course_out(c) for c in courses], next_cursor=next_cursor)


# --- Enrollments -------------------------------------------------------------------------------


@router.post("/enrollments", status_code=201, response_model=EnrollmentOut)
async def enroll(
    body: EnrollmentCreate,
    response: Response,
    principal: Principal = Depends(allow(*STAFF, "institution", "worker")),
    ctx: ServiceContext = Depends(get_ctx),
) -> EnrollmentOut:
    """Enrol a worker in a course.

    Officers enrol anyone; institution staff enrol workers in their own institution's courses;
    a worker enrols only themself (``worker_id`` may then be left out).
    """
    try:
        async with ctx.db.write() as session:
            course, worker_id = await access.enrolment_target(
                session, principal, body.course_id, body.worker_id
            )
            enrollment = await service.enroll(session, course, worker_id)
    except IntegrityError as exc:
        # A concurrent request enrolled the same worker first (the open-enrolment index).
        raise service.already_enrolled() from exc
    response.headers["Location"] = f"/api/v1/enrollments/{enrollment.id}"
    return _with_etag(response, enrollment)


@router.post("/enrollments/{enrollment_id}/result", response_model=EnrollmentOut)
async def record_result(
    enrollment_id: uuid.UUID,
    body: ResultRecord,
    response: Response,
    principal: Principal = Depends(RUNS_COURSES),
    ctx: ServiceContext = Depends(get_ctx),
) -> EnrollmentOut:
    """Record or correct the assessment result, until completion.

    Officers, and staff of the institution running the course (others' enrolments are 404).
    """
    async with ctx.db.write() as session:
        enrollment = await access.runnable_enrollment(session, principal, enrollment_id)
        enrollment = await service.record_result(session, enrollment, body)
    return _with_etag(response, enrollment)


@router.post("/enrollments/{enrollment_id}/complete", response_model=EnrollmentOut)
async def complete(
    enrollment_id: uuid.UUID,
    response: Response,
    principal: Principal = Depends(RUNS_COURSES),
    ctx: ServiceContext = Depends(get_ctx),
) -> EnrollmentOut:
    """Complete the enrolment: decide ``passed`` and announce it (a pass leads to a certificate).

    Officers, and staff of the institution running the course (others' enrolments are 404).
    """
    async with ctx.db.write() as session:
        enrollment = await access.runnable_enrollment(session, principal, enrollment_id)
        enrollment = await service.complete(session, enrollment)
    return _with_etag(response, enrollment)


@router.get("/enrollments/{enrollment_id}", response_model=EnrollmentOut)
async def get_enrollment(
    enrollment_id: uuid.UUID,
    request: Request,
    principal: Principal = Depends(READS_ENROLMENTS),
    ctx: ServiceContext = Depends(get_ctx),
) -> Response:
    """One enrolment, for officers, the institution running the course, the worker themself
    and the worker's current company (anyone else's is 404)."""
    async with ctx.db.read() as session:
        enrollment = await access.readable_enrollment(session, principal, enrollment_id)
    etag = etag_for(enrollment.id, enrollment.version)
    return conditional_json(request, enrollment_out(enrollment), etag)


@router.get("/enrollments", response_model=Page[EnrollmentOut])
async def list_enrollments(
    principal: Principal = Depends(READS_ENROLMENTS),
    ctx: ServiceContext = Depends(get_ctx),
    worker_id: uuid.UUID | None = Query(None),
    course_id: uuid.UUID | None = Query(None),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[EnrollmentOut]:
    """Enrolments the caller may read, oldest first: all for officers, their courses' for
    institution staff, their employees' for companies, a worker's own for a worker."""
    query = access.visible(select(Enrollment), principal)
    if worker_id is not None:
        query = query.where(Enrollment.worker_id == worker_id)
    if course_id is not None:
        query = query.where(Enrollment.course_id == course_id)
    async with ctx.db.read() as session:
        enrollments, next_cursor = await keyset_page(session, query, Enrollment.id, cursor, limit)
    return Page[EnrollmentOut](
        items=[enrollment_out(e) for e in enrollments], next_cursor=next_cursor
    )
