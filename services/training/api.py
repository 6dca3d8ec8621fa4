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

from contracts.common import County, Track
from contracts.training import TrainingType
from services.kit.app import ServiceContext, context_of, get_ctx
from services.kit.errors import NotFound
from services.kit.http import conditional_json, etag_for
from services.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, keyset_page
from services.kit.policy import STAFF, allow, public
from services.kit.principal import Principal
from services.kit.reads import ReadQuery
from services.training import access, completion, progress, service
from services.training.models import (
    Attendance,
    CompletionRule,
    Course,
    CourseSession,
    Enrollment,
    ExamAttempt,
)
from services.training.record import skills_record
from services.training.schemas import (
    AttendanceOut,
    AttendanceRecord,
    CourseCreate,
    CourseOut,
    CurriculumOrigin,
    EnrollmentCreate,
    EnrollmentOut,
    ExamOut,
    ExamRecord,
    ResultRecord,
    RulesCreate,
    RulesHistory,
    RulesOut,
    SessionCreate,
    SessionOut,
    SkillsRecord,
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
        capacity=course.capacity,
        tuition_fee=course.fee,
        free_for_target_groups=course.free_for_target_groups,
        curriculum_origin=course.curriculum_origin,
        county=course.county,
        language=course.language,
        provider_verified=course.provider_verified,
        rules_version=course.rules_version,
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
        fee_due=enrollment.fee_due,
        fee_waived=enrollment.fee_waived,
        rules_version=enrollment.rules_version,
        theory_score=enrollment.theory_score,
        practical_score=enrollment.practical_score,
        version=enrollment.version,
        enrolled_at=enrollment.enrolled_at,
        result_recorded_at=enrollment.result_recorded_at,
        completed_at=enrollment.completed_at,
        withdrawn_at=enrollment.withdrawn_at,
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
        course = await service.create_course(session, body, institution_id, principal.subject)
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
    training_type: TrainingType | None = Query(None),
    county: County | None = Query(None),
    curriculum_origin: CurriculumOrigin | None = Query(None),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[CourseOut]:
    """The public course catalogue, oldest first, optionally of one track, training type,
    county or curriculum origin."""
    query = select(Course)
    if track is not None:
        query = query.where(Course.track == track)
    if training_type is not None:
        query = query.where(Course.training_type == training_type)
    if county is not None:
        query = query.where(Course.county == county)
    if curriculum_origin is not None:
        query = query.where(Course.curriculum_origin == curriculum_origin)
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
    """Enrol a worker in a course: a seat while the course has one, else its waiting list.

    A refresher course needs an earlier certificate in its track (a passed course here, or a
    training certificate credit issued); a worker of a target group trains free where the
    course says so. Officers enrol anyone; institution staff enrol
    workers in their own institution's courses; a worker enrols only
    themself (``worker_id`` may then be left out).
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
        enrollment = await progress.record_result(session, enrollment, body)
    return _with_etag(response, enrollment)


@router.post("/enrollments/{enrollment_id}/complete", response_model=EnrollmentOut)
async def complete(
    enrollment_id: uuid.UUID,
    response: Response,
    principal: Principal = Depends(RUNS_COURSES),
    ctx: ServiceContext = Depends(get_ctx),
) -> EnrollmentOut:
    """Complete the enrolment: decide ``passed`` under the course's completion rules in force
    (attendance share, theory and practical pass marks), record their version and announce it
    (a pass leads to a certificate).

    Officers, and staff of the institution running the course (others' enrolments are 404).
    """
    async with ctx.db.transaction() as tx:
        enrollment = await completion.complete(tx, principal, enrollment_id)
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


@router.post("/enrollments/{enrollment_id}/withdraw", response_model=EnrollmentOut)
async def withdraw_enrollment(
    enrollment_id: uuid.UUID,
    response: Response,
    principal: Principal = Depends(allow(*STAFF, "institution", "worker")),
    ctx: ServiceContext = Depends(get_ctx),
) -> EnrollmentOut:
    """Withdraw from the course or its waiting list; a freed seat goes to the worker who has
    waited longest. The worker themself, officers, and the institution running the course."""
    async with ctx.db.write() as session:
        course, enrollment = await access.withdrawable_enrollment(session, principal, enrollment_id)
        enrollment = await service.withdraw(session, course, enrollment)
    return _with_etag(response, enrollment)


# --- Completion rules and sessions -------------------------------------------------------------


def rules_out(rule: CompletionRule) -> RulesOut:
    return RulesOut(
        course_id=rule.course_id,
        version=rule.version,
        min_attendance_share=rule.min_attendance_share,
        theory_pass_score=rule.theory_pass_score,
        practical_pass_score=rule.practical_pass_score,
        max_resits=rule.max_resits,
        created_at=rule.created_at,
    )


@router.get(
    "/courses/{course_id}/rules", response_model=RulesHistory, dependencies=[Depends(public())]
)
async def get_course_rules(
    course_id: uuid.UUID, ctx: ServiceContext = Depends(get_ctx)
) -> RulesHistory:
    """The course's completion rules in force and every earlier version (public: workers see
    what they must attend and score before they enrol)."""
    async with ctx.db.read() as session:
        course = await service.get_course(session, course_id)
        history = await service.rule_history(session, course)
    current = next(r for r in history if r.version == course.rules_version)
    return RulesHistory(current=rules_out(current), versions=[rules_out(r) for r in history])


@router.post("/courses/{course_id}/rules", status_code=201, response_model=RulesOut)
async def add_course_rules(
    course_id: uuid.UUID,
    body: RulesCreate,
    principal: Principal = Depends(RUNS_COURSES),
    ctx: ServiceContext = Depends(get_ctx),
) -> RulesOut:
    """Publish a new version of the course's completion rules. Open enrolments complete under
    it; completed ones keep the version that decided them. Officers and the running institution.
    """
    async with ctx.db.write() as session:
        course = await access.runnable_course(session, principal, course_id)
        rule = await service.add_rules(session, course, body, principal.subject)
    return rules_out(rule)


def session_out(row: CourseSession) -> SessionOut:
    return SessionOut(
        id=row.id,
        course_id=row.course_id,
        held_on=row.held_on,
        hours=row.hours,
        venue=row.venue,
        online=row.online,
    )


@router.post("/courses/{course_id}/sessions", status_code=201, response_model=SessionOut)
async def add_course_session(
    course_id: uuid.UUID,
    body: SessionCreate,
    principal: Principal = Depends(RUNS_COURSES),
    ctx: ServiceContext = Depends(get_ctx),
) -> SessionOut:
    """Schedule a class session (a day, its hours, a venue or online). Officers and the
    running institution."""
    async with ctx.db.write() as session:
        course = await access.runnable_course(session, principal, course_id)
        row = await progress.add_session(session, course, body)
    return session_out(row)


@router.get(
    "/courses/{course_id}/sessions",
    response_model=list[SessionOut],
    dependencies=[Depends(public())],
)
async def list_course_sessions(
    course_id: uuid.UUID, ctx: ServiceContext = Depends(get_ctx)
) -> list[SessionOut]:
    """The course's timetable, in date order (public, like the catalogue)."""
    async with ctx.db.read() as session:
        await service.get_course(session, course_id)
        rows = await progress.sessions_of(session, course_id)
    return [session_out(r) for r in rows]


# --- Attendance and exams ----------------------------------------------------------------------


def attendance_out(row: Attendance) -> AttendanceOut:
    return AttendanceOut(
        enrollment_id=row.enrollment_id,
        session_id=row.session_id,
        present=row.present,
        hours=row.hours,
        recorded_at=row.recorded_at,
    )


def exam_out(row: ExamAttempt) -> ExamOut:
    return ExamOut(
        id=row.id,
        enrollment_id=row.enrollment_id,
        part=row.part,  # type: ignore[arg-type]
        attempt=row.attempt,
        score=row.score,
        passed=row.passed,
        rules_version=row.rules_version,
        taken_on=row.taken_on,
        recorded_at=row.recorded_at,
    )


@router.post("/enrollments/{enrollment_id}/attendance", response_model=AttendanceOut)
async def record_attendance(
    enrollment_id: uuid.UUID,
    body: AttendanceRecord,
    principal: Principal = Depends(RUNS_COURSES),
    ctx: ServiceContext = Depends(get_ctx),
) -> AttendanceOut:
    """Mark the worker present or absent at one session (re-marking replaces the mark); the
    enrolment's attended hours become the sum of sessions attended. Officers and the running
    institution (others' enrolments are 404)."""
    async with ctx.db.write() as session:
        enrollment = await access.runnable_enrollment(session, principal, enrollment_id)
        row = await progress.record_attendance(session, enrollment, body, principal.subject)
    return attendance_out(row)


@router.get("/enrollments/{enrollment_id}/attendance", response_model=list[AttendanceOut])
async def list_attendance(
    enrollment_id: uuid.UUID,
    principal: Principal = Depends(READS_ENROLMENTS),
    ctx: ServiceContext = Depends(get_ctx),
) -> list[AttendanceOut]:
    """The enrolment's attendance marks, for whoever may read the enrolment."""
    async with ctx.db.read() as session:
        await access.readable_enrollment(session, principal, enrollment_id)
        rows = await progress.attendance_of(session, enrollment_id)
    return [attendance_out(r) for r in rows]


@router.post("/enrollments/{enrollment_id}/exams", status_code=201, response_model=ExamOut)
async def record_exam(
    enrollment_id: uuid.UUID,
    body: ExamRecord,
    principal: Principal = Depends(RUNS_COURSES),
    ctx: ServiceContext = Depends(get_ctx),
) -> ExamOut:
    """Record a theory or practical exam sitting under the rules in force: a failed part may be
    resat up to the rules' limit; a passed part is not sat again. Officers and the running
    institution (others' enrolments are 404)."""
    async with ctx.db.write() as session:
        enrollment = await access.runnable_enrollment(session, principal, enrollment_id)
        row = await progress.record_exam(session, enrollment, body, principal.subject)
    return exam_out(row)


@router.get("/enrollments/{enrollment_id}/exams", response_model=list[ExamOut])
async def list_exams(
    enrollment_id: uuid.UUID,
    principal: Principal = Depends(READS_ENROLMENTS),
    ctx: ServiceContext = Depends(get_ctx),
) -> list[ExamOut]:
    """Every exam sitting of the enrolment, for whoever may read the enrolment."""
    async with ctx.db.read() as session:
        await access.readable_enrollment(session, principal, enrollment_id)
        rows = await progress.exams_of(session, enrollment_id)
    return [exam_out(r) for r in rows]


# --- Lifelong skills record --------------------------------------------------------------------


@router.get("/skills-records/{worker_id}", response_model=SkillsRecord)
async def get_skills_record(
    worker_id: uuid.UUID,
    principal: Principal = Depends(allow(*STAFF, "worker")),
    ctx: ServiceContext = Depends(get_ctx),
) -> SkillsRecord:
    """The worker's lifelong skills record: every enrolment, session attended, exam,
    completion, withdrawal, competition and 技术能手 award, oldest first. The worker themself
    (anyone else's is 404) and officers."""
    if principal.role == "worker" and not principal.acts_for(worker_id):
        raise NotFound("skills record", worker_id)
    async with ctx.db.read() as session:
        items = await skills_record(session, worker_id)
    return SkillsRecord(worker_id=worker_id, items=items)
