"""Training domain operations. Each runs inside the caller's write (or read) transaction."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.errors import Conflict, InvalidField, NotFound
from services.kit.ids import new_id
from services.kit.types import utcnow
from services.training.models import (
    COMPLETED,
    ENROLLED,
    OPEN_STATUSES,
    WAITING,
    WITHDRAWN,
    CompletionRule,
    Course,
    Enrollment,
    KnownCertificate,
    KnownWorker,
)
from services.training.schemas import CourseCreate, RulesCreate
from services.training.workers import provider_verified

#: The programme's default completion rules, stored as a course's version 1 when the course
#: names none (RulesCreate carries the same defaults); every later change is a new version.
DEFAULT_MIN_ATTENDANCE = Decimal("0.8")

#: Registry statuses that bar enrolment: a suspended worker, a worker who left the programme.
INELIGIBLE_STATUSES = frozenset({"suspended", "left"})


def passes(
    course: Course,
    score: float,
    hours_attended: float,
    rule: CompletionRule | None = None,
    practical: float | None = None,
) -> bool:
    """The pass rule: ``score >= theory pass mark``, ``hours_attended >= share * course.hours``
    and, when the rules have a practical exam, ``practical >= practical pass mark``.

    ``rule`` is the course's completion-rule version in force; without one, the defaults
    (the course's pass score, 80 % attendance, no practical exam). Every condition must hold:
    a good exam does not make up for missed classes (the programme subsidises training by
    attendance). Compared as decimals of the stored values so that, e.g., 5.6 attended hours of
    a 7-hour course passes (in binary floats 7 * 0.8 is 5.6000000000000005).
    """
    share = _dec(rule.min_attendance_share) if rule else DEFAULT_MIN_ATTENDANCE
    theory_pass = rule.theory_pass_score if rule else course.pass_score
    attendance_ok = _dec(hours_attended) >= _dec(course.hours) * share
    if not (attendance_ok and _dec(score) >= _dec(theory_pass)):
        return False
    if rule is None or rule.practical_pass_score is None:
        return True
    return practical is not None and _dec(practical) >= _dec(rule.practical_pass_score)


def _dec(value: float) -> Decimal:
    return Decimal(repr(float(value)))


async def create_course(
    session: AsyncSession,
    data: CourseCreate,
    institution_id: uuid.UUID | None,
    created_by: str | None = None,
) -> Course:
    """Create a course run by ``institution_id`` (decided from the caller, see access.py),
    with its completion rules as version 1."""
    now = utcnow()
    rules = data.rules or RulesCreate()
    course = Course(
        id=new_id(),
        title=data.title,
        track=data.track,
        training_type=data.training_type,
        hours=data.hours,
        pass_score=data.pass_score if rules.theory_pass_score is None else rules.theory_pass_score,
        institution_id=institution_id,
        capacity=data.capacity,
        fee=data.tuition_fee,
        free_for_target_groups=data.free_for_target_groups,
        curriculum_origin=data.curriculum_origin,
        county=data.county,
        language=data.language,
        provider_verified=await provider_verified(session, institution_id, data.track),
        rules_version=1,
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(course)
    await session.flush()
    session.add(_rule(course, 1, rules, created_by, now))
    await session.flush()
    return course


def _rule(
    course: Course,
    version: int,
    data: RulesCreate,
    created_by: str | None,
    now: datetime,
) -> CompletionRule:
    return CompletionRule(
        course_id=course.id,
        version=version,
        min_attendance_share=data.min_attendance_share,
        theory_pass_score=(
            course.pass_score if data.theory_pass_score is None else data.theory_pass_score
        ),
        practical_pass_score=data.practical_pass_score,
        max_resits=data.max_resits,
        created_by=created_by,
        created_at=now,
    )


async def add_rules(
    session: AsyncSession, course: Course, data: RulesCreate, created_by: str | None
) -> CompletionRule:
    """Publish a new version of the course's completion rules; open enrolments complete under
    it, finished ones keep the version that decided them. ``course`` is locked."""
    now = utcnow()
    rule = _rule(course, course.rules_version + 1, data, created_by, now)
    session.add(rule)
    course.rules_version = rule.version
    course.pass_score = rule.theory_pass_score
    course.version += 1
    course.updated_at = now
    await session.flush()
    return rule


async def current_rule(session: AsyncSession, course: Course) -> CompletionRule:
    rule = await session.get(CompletionRule, (course.id, course.rules_version))
    return default_rule(course) if rule is None else rule


def default_rule(course: Course) -> CompletionRule:
    """The rules of a course from before rules were data: its pass score and the defaults."""
    return _rule(course, course.rules_version, RulesCreate(), None, course.created_at)


async def rule_history(session: AsyncSession, course: Course) -> list[CompletionRule]:
    rules = list(
        await session.scalars(
            select(CompletionRule)
            .where(CompletionRule.course_id == course.id)
            .order_by(CompletionRule.version)
        )
    )
    return rules or [await current_rule(session, course)]


async def get_course(
    session: AsyncSession, course_id: uuid.UUID, *, for_update: bool = False
) -> Course:
    course = await session.get(Course, course_id, with_for_update=for_update)
    if course is None:
        raise NotFound("course", course_id)
    return course


async def enroll(session: AsyncSession, course: Course, worker_id: uuid.UUID) -> Enrollment:
    """Enrol ``worker_id``: a seat while the course has one, else the waiting list.

    ``course`` was read with ``for_update=True``, so concurrent enrolments in one course count
    seats one after another (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writes).
    Tuition is waived for a worker of a target group where the course says so.
    """
    worker = await session.get(KnownWorker, worker_id)
    if worker is None:
        # Training learns of workers from registry events, so a brand-new worker may not have
        # arrived yet: say so, rather than "no such worker".
        raise InvalidField(
            "worker_id",
            "no worker with this id is known to training; a newly registered worker may take "
            "a moment to arrive from the registry, so try again shortly",
            slug="unknown-worker",
        )
    if worker.status in INELIGIBLE_STATUSES:
        raise Conflict(
            f"The worker's registry status is {worker.status}; they may not enrol",
            slug="worker-not-eligible",
        )
    open_one = await session.scalar(
        select(Enrollment.id).where(
            Enrollment.worker_id == worker_id,
            Enrollment.course_id == course.id,
            Enrollment.status.in_(OPEN_STATUSES),
        )
    )
    if open_one is not None:
        raise already_enrolled(open_one)
    if course.training_type == "refresher":
        await _require_earlier_pass(session, course, worker_id)
    waived = bool(course.free_for_target_groups and worker.target_groups)
    status = ENROLLED if await _has_seat(session, course) else WAITING
    now = utcnow()
    enrollment = Enrollment(
        id=new_id(),
        course_id=course.id,
        worker_id=worker_id,
        status=status,
        fee_due=0 if waived else course.fee,
        fee_waived=waived,
        version=1,
        enrolled_at=now,
        updated_at=now,
    )
    session.add(enrollment)
    await session.flush()
    return enrollment


async def _has_seat(session: AsyncSession, course: Course) -> bool:
    """Whether the course has a free seat: seats are held by enrolled and completed workers."""
    if course.capacity is None:
        return True
    taken = await session.scalar(
        select(func.count())
        .select_from(Enrollment)
        .where(Enrollment.course_id == course.id, Enrollment.status.in_((ENROLLED, COMPLETED)))
    )
    return (taken or 0) < course.capacity


async def _require_earlier_pass(
    session: AsyncSession, course: Course, worker_id: uuid.UUID
) -> None:
    """A refresher (回炉) course needs an earlier certificate in the same track: a passed
    completion here, or a training certificate credit issued in the track (one from before
    this course's records, e.g. a certificate brought into the platform)."""
    earlier = await session.scalar(
        select(Enrollment.id)
        .join(Course, Course.id == Enrollment.course_id)
        .where(
            Enrollment.worker_id == worker_id,
            Enrollment.passed.is_(True),
            Course.track == course.track,
        )
        .limit(1)
    )
    if earlier is None:
        earlier = await session.scalar(
            select(KnownCertificate.certificate_id)
            .where(
                KnownCertificate.worker_id == worker_id,
                KnownCertificate.kind == "training",
                KnownCertificate.track == course.track,
            )
            .limit(1)
        )
    if earlier is None:
        raise Conflict(
            f"A refresher course needs an earlier passed course in the {course.track} track",
            slug="prerequisite-missing",
        )


async def withdraw(session: AsyncSession, course: Course, enrollment: Enrollment) -> Enrollment:
    """Leave the course or its waiting list; a freed seat goes to the longest-waiting worker.

    ``course`` and ``enrollment`` are locked in this transaction.
    """
    if enrollment.status not in OPEN_STATUSES:
        raise Conflict(f"The enrollment is {enrollment.status}", slug="not-open")
    held_seat = enrollment.status == ENROLLED
    now = utcnow()
    enrollment.status = WITHDRAWN
    enrollment.withdrawn_at = now
    enrollment.updated_at = now
    enrollment.version += 1
    await session.flush()
    if held_seat:
        next_one = await session.scalar(
            select(Enrollment)
            .where(Enrollment.course_id == course.id, Enrollment.status == WAITING)
            .order_by(Enrollment.enrolled_at, Enrollment.id)
            .limit(1)
            .with_for_update()
        )
        if next_one is not None and await _has_seat(session, course):
            next_one.status = ENROLLED
            next_one.updated_at = now
            next_one.version += 1
            await session.flush()
    return enrollment


def already_enrolled(enrollment_id: uuid.UUID | None = None) -> Conflict:
    return Conflict(
        "The worker is already enrolled in (or waiting for) this course and has not completed it",
        slug="already-enrolled",
        enrollment_id=str(enrollment_id) if enrollment_id else None,
    )


#: session.info key of objects kept alive for the session's identity map.
PINNED = "training.pinned"


def enrollment_and_course(*, locked: bool) -> Select[tuple[Enrollment, Course, CompletionRule]]:
    stmt = (
        select(Enrollment, Course, CompletionRule)
        .join(Course, Course.id == Enrollment.course_id)
        .outerjoin(
            CompletionRule,
            (CompletionRule.course_id == Course.id)
            & (CompletionRule.version == Course.rules_version),
        )
        .where(Enrollment.id == bindparam("enrollment_id"))
    )
    # Only the enrolment is locked, as get_enrollment(for_update=True) does; the course and
    # rule rows are read as they are (their writers lock the course themselves).
    return stmt.with_for_update(of=Enrollment) if locked else stmt


#: Built once, not per call: building this statement and its cache key cost ~0.1 ms.
_ENROLLMENT_AND_COURSE = {locked: enrollment_and_course(locked=locked) for locked in (False, True)}


async def get_enrollment_and_course(
    session: AsyncSession, enrollment_id: uuid.UUID, *, for_update: bool = False
) -> tuple[Enrollment, Course]:
    """The enrolment (locked with ``for_update``) and its course, in one statement that also
    brings the course's rules in force into the session: the result and completion paths
    then find course and rule by primary key without another round trip (the four
    SELECTs this replaced were a quarter of a completion's CPU)."""
    stmt = _ENROLLMENT_AND_COURSE[for_update]
    row = (await session.execute(stmt, {"enrollment_id": enrollment_id})).first()
    if row is None:
        raise NotFound("enrollment", enrollment_id)
    enrollment, course, rule = row
    # The identity map holds objects weakly: keep course and rule alive for this session, or
    # they are gone before get_course and current_rule look for them.
    session.info.setdefault(PINNED, []).extend((course, rule))
    return enrollment, course


async def get_enrollment(
    session: AsyncSession, enrollment_id: uuid.UUID, *, for_update: bool = False
) -> Enrollment:
    # FOR UPDATE serialises concurrent result/complete calls on PostgreSQL; SQLite's
    # BEGIN IMMEDIATE already does.
    enrollment = await session.get(Enrollment, enrollment_id, with_for_update=for_update)
    if enrollment is None:
        raise NotFound("enrollment", enrollment_id)
    return enrollment
