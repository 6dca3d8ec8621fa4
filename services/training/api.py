"""Training HTTP routes under /api/v1: courses and enrollments."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from contracts.common import Track
from services.kit.app import ServiceContext, get_ctx
from services.kit.http import conditional_json, etag_for
from services.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, encode_cursor
from services.training import service
from services.training.models import Course, Enrollment
from services.training.schemas import (
    CourseCreate,
    CourseOut,
    EnrollmentCreate,
    EnrollmentOut,
    ResultRecord,
)

router = APIRouter(prefix="/api/v1", tags=["training"])


def course_out(course: Course) -> CourseOut:
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
    body: CourseCreate, response: Response, ctx: ServiceContext = Depends(get_ctx)
) -> CourseOut:
    async with ctx.db.write() as session:
        course = await service.create_course(session, body)
    response.headers["Location"] = f"/api/v1/courses/{course.id}"
    response.headers["ETag"] = etag_for(course.id, course.version)
    return course_out(course)


@router.get("/courses/{course_id}", response_model=CourseOut)
async def get_course(
    course_id: uuid.UUID, request: Request, ctx: ServiceContext = Depends(get_ctx)
) -> Response:
    async with ctx.db.read() as session:
        course = await service.get_course(session, course_id)
    return conditional_json(request, course_out(course), etag_for(course.id, course.version))


@router.get("/courses", response_model=Page[CourseOut])
async def list_courses(
    ctx: ServiceContext = Depends(get_ctx),
    track: Track | None = Query(None),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[CourseOut]:
    query = select(Course).order_by(Course.id).limit(limit + 1)
    if track is not None:
        query = query.where(Course.track == track)
    if (after := decode_cursor(cursor)) is not None:
        query = query.where(Course.id > after)
    async with ctx.db.read() as session:
        courses = list((await session.scalars(query)).all())
    more = len(courses) > limit
    courses = courses[:limit]
    return Page[CourseOut](
        items=[course_out(c) for c in courses],
        next_cursor=encode_cursor(courses[-1].id) if more else None,
    )


# --- Enrollments -------------------------------------------------------------------------------


@router.post("/enrollments", status_code=201, response_model=EnrollmentOut)
async def enroll(
    body: EnrollmentCreate, response: Response, ctx: ServiceContext = Depends(get_ctx)
) -> EnrollmentOut:
    try:
        async with ctx.db.write() as session:
            enrollment = await service.enroll(session, body)
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
    ctx: ServiceContext = Depends(get_ctx),
) -> EnrollmentOut:
    async with ctx.db.write() as session:
        enrollment = await service.record_result(session, enrollment_id, body)
    return _with_etag(response, enrollment)


@router.post("/enrollments/{enrollment_id}/complete", response_model=EnrollmentOut)
async def complete(
    enrollment_id: uuid.UUID, response: Response, ctx: ServiceContext = Depends(get_ctx)
) -> EnrollmentOut:
    async with ctx.db.write() as session:
        enrollment = await service.complete(session, enrollment_id)
    return _with_etag(response, enrollment)


@router.get("/enrollments/{enrollment_id}", response_model=EnrollmentOut)
async def get_enrollment(
    enrollment_id: uuid.UUID, request: Request, ctx: ServiceContext = Depends(get_ctx)
) -> Response:
    async with ctx.db.read() as session:
        enrollment = await service.get_enrollment(session, enrollment_id)
    etag = etag_for(enrollment.id, enrollment.version)
    return conditional_json(request, enrollment_out(enrollment), etag)


@router.get("/enrollments", response_model=Page[EnrollmentOut])
async def list_enrollments(
    ctx: ServiceContext = Depends(get_ctx),
    worker_id: uuid.UUID | None = Query(None),
    course_id: uuid.UUID | None = Query(None),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[EnrollmentOut]:
    query = select(Enrollment).order_by(Enrollment.id).limit(limit + 1)
    if worker_id is not None:
        query = query.where(Enrollment.worker_id == worker_id)
    if course_id is not None:
        query = query.where(Enrollment.course_id == course_id)
    if (after := decode_cursor(cursor)) is not None:
        query = query.where(Enrollment.id > after)
    async with ctx.db.read() as session:
        enrollments = list((await session.scalars(query)).all())
    more = len(enrollments) > limit
    enrollments = enrollments[:limit]
    return Page[EnrollmentOut](
        items=[enrollment_out(e) for e in enrollments],
        next_cursor=encode_cursor(enrollments[-1].id) if more else None,
    )
