"""Which courses and enrolments a caller may touch: the record checks behind each route's policy.

The route's policy (``services.kit.policy``) has already admitted the caller's *role*; these
checks relate the caller to the record, from the token's ``party_id`` only, never the body:

- officers and admins: every course and enrolment;
- institution staff: the courses of their own institution and the enrolments in them;
- a worker: their own enrolments (and enrolling themself);
- company staff: reading the enrolments of the workers the company employs now.

A caller whose role may see *some* records but not this one gets 404, so existence is not
revealed; a body that names someone else's party (another institution, another worker) is 403.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Select, false, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.errors import InvalidField, NotFound
from services.kit.principal import Principal, forbidden
from services.training import service
from services.training.models import Course, Enrollment, KnownEmployment


def _party(principal: Principal) -> uuid.UUID:
    if principal.party_id is None:
        raise forbidden(f"This {principal.role} token acts for no {principal.role}")
    return principal.party_id


def course_institution(principal: Principal, named: uuid.UUID | None) -> uuid.UUID | None:
    """The institution a new course belongs to: the caller's own for institution staff."""
    if principal.role != "institution":
        return named  # officers and admins may name any institution, or none
    own = _party(principal)
    if named is not None and named != own:
        raise forbidden("Institution staff may create courses only for their own institution")
    return own


def runs(principal: Principal, course: Course) -> bool:
    """Whether the caller runs ``course``: staff any, institution staff their own."""
    return principal.is_privileged or (
        principal.role == "institution" and principal.acts_for(course.institution_id)
    )


async def enrolment_target(
    session: AsyncSession, principal: Principal, course_id: uuid.UUID, worker_id: uuid.UUID | None
) -> tuple[Course, uuid.UUID]:
    """The course and the worker of a new enrolment, once the caller may make it."""
    if principal.role == "worker":
        own = _party(principal)
        if worker_id is not None and worker_id != own:
            raise forbidden("A worker may enrol only themself")
        worker_id = own
    elif worker_id is None:
        raise InvalidField("worker_id", "name the worker to enrol", slug="missing-worker")
    # Locked, so concurrent enrolments count the course's seats one after another.
    course = await service.get_course(session, course_id, for_update=True)
    # The catalogue is public, so refusing another institution's course reveals nothing.
    if principal.role == "institution" and not runs(principal, course):
        raise forbidden("Institution staff may enrol workers only in their own courses")
    return course, worker_id


async def _employs(session: AsyncSession, principal: Principal, worker_id: uuid.UUID) -> bool:
    employment = await session.get(KnownEmployment, worker_id)
    return employment is not None and principal.acts_for(employment.company_id)


async def sees(session: AsyncSession, principal: Principal, enrollment: Enrollment) -> bool:
    """Whether the caller may read ``enrollment``."""
    if principal.is_privileged:
        return True
    if principal.role == "worker":
        return principal.acts_for(enrollment.worker_id)
    if principal.role == "institution":
        return runs(principal, await service.get_course(session, enrollment.course_id))
    if principal.role == "company":
        return await _employs(session, principal, enrollment.worker_id)
    return False


async def readable_enrollment(
    session: AsyncSession, principal: Principal, enrollment_id: uuid.UUID
) -> Enrollment:
    enrollment = await service.get_enrollment(session, enrollment_id)
    if not await sees(session, principal, enrollment):
        raise NotFound("enrollment", enrollment_id)
    return enrollment


async def runnable_enrollment(
    session: AsyncSession, principal: Principal, enrollment_id: uuid.UUID
) -> Enrollment:
    """The enrolment, locked for a result or completion by someone who runs its course."""
    enrollment, course = await service.get_enrollment_and_course(
        session, enrollment_id, for_update=True
    )
    if not runs(principal, course):
        raise NotFound("enrollment", enrollment_id)
    return enrollment


async def runnable_course(
    session: AsyncSession, principal: Principal, course_id: uuid.UUID
) -> Course:
    """The course, locked, for someone who runs it (the catalogue is public, so another
    institution's course is 403, not 404)."""
    course = await service.get_course(session, course_id, for_update=True)
    if not runs(principal, course):
        raise forbidden("Only officers and the institution running the course may change it")
    return course


async def withdrawable_enrollment(
    session: AsyncSession, principal: Principal, enrollment_id: uuid.UUID
) -> tuple[Course, Enrollment]:
    """The course and the enrolment, both locked (course first, as enrolment does), for the
    worker themself or someone who runs the course."""
    enrollment = await service.get_enrollment(session, enrollment_id)
    course = await service.get_course(session, enrollment.course_id, for_update=True)
    own = principal.role == "worker" and principal.acts_for(enrollment.worker_id)
    if not (own or runs(principal, course)):
        raise NotFound("enrollment", enrollment_id)
    enrollment = await service.get_enrollment(session, enrollment_id, for_update=True)
    return course, enrollment


def visible(query: Select[tuple[Enrollment]], principal: Principal) -> Select[tuple[Enrollment]]:
    """``query`` narrowed to the enrolments the caller may read."""
    if principal.is_privileged:
        return query
    party = principal.party_id
    if party is None:
        return query.where(false())
    if principal.role == "worker":
        return query.where(Enrollment.worker_id == party)
    if principal.role == "institution":
        own_courses = select(Course.id).where(Course.institution_id == party)
        return query.where(Enrollment.course_id.in_(own_courses))
    if principal.role == "company":
        employees = select(KnownEmployment.worker_id).where(KnownEmployment.company_id == party)
        return query.where(Enrollment.worker_id.in_(employees))
    return query.where(false())
