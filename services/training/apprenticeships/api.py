"""Apprenticeship routes under /api/v1/apprenticeships.

Company staff contract apprenticeships for their own company and record monthly progress;
officers may do all of it. The mentor and the apprentice read their apprenticeship; anyone
else's is 404. Completion goes through the apprentice's enrolment, so it counts like a course.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Response
from sqlalchemy.exc import IntegrityError

from services.kit.app import ServiceContext, get_ctx
from services.kit.errors import Conflict, InvalidField, NotFound
from services.kit.policy import STAFF, allow, public
from services.kit.principal import Principal, forbidden
from services.training import progress, service
from services.training.api import enrollment_out
from services.training.apprenticeships import service as apprenticeships
from services.training.apprenticeships.models import (
    Apprenticeship,
    ApprenticeshipPolicy,
    ApprenticeshipProgress,
)
from services.training.apprenticeships.schemas import (
    ApprenticeshipCompletion,
    ApprenticeshipCreate,
    ApprenticeshipOut,
    ApprenticeshipPolicyCreate,
    ApprenticeshipPolicyHistory,
    ApprenticeshipPolicyOut,
    ProgressOut,
    ProgressRecord,
)

router = APIRouter(prefix="/api/v1", tags=["apprenticeships"])

RUNS_APPRENTICESHIPS = allow(*STAFF, "company")
READS_APPRENTICESHIPS = allow(*STAFF, "company", "worker")


def policy_out(policy: ApprenticeshipPolicy) -> ApprenticeshipPolicyOut:
    return ApprenticeshipPolicyOut(
        version=policy.version,
        mentor_min_stars=policy.mentor_min_stars,
        created_at=policy.created_at,
    )


def apprenticeship_out(row: Apprenticeship) -> ApprenticeshipOut:
    return ApprenticeshipOut(
        id=row.id,
        enrollment_id=row.enrollment_id,
        course_id=row.course_id,
        company_id=row.company_id,
        mentor_id=row.mentor_id,
        apprentice_id=row.apprentice_id,
        starts_on=row.starts_on,
        ends_on=row.ends_on,
        mentor_basis=row.mentor_basis,  # type: ignore[arg-type]
        mentor_stars=row.mentor_stars,
        policy_version=row.policy_version,
        created_at=row.created_at,
    )


def progress_out(row: ApprenticeshipProgress) -> ProgressOut:
    return ProgressOut(
        apprenticeship_id=row.apprenticeship_id,
        month=row.month,
        hours=row.hours,
        assessment=row.assessment,
        note=row.note,
        recorded_at=row.recorded_at,
    )


def _runs(principal: Principal, row: Apprenticeship) -> bool:
    return principal.is_privileged or (
        principal.role == "company" and principal.acts_for(row.company_id)
    )


def _sees(principal: Principal, row: Apprenticeship) -> bool:
    if principal.role == "worker":
        return principal.acts_for(row.mentor_id) or principal.acts_for(row.apprentice_id)
    return _runs(principal, row)


@router.get(
    "/apprenticeships/policy",
    response_model=ApprenticeshipPolicyHistory,
    dependencies=[Depends(public())],
)
async def get_apprenticeship_policy(
    ctx: ServiceContext = Depends(get_ctx),
) -> ApprenticeshipPolicyHistory:
    """The apprenticeship policy in force (stars a mentor needs) and earlier versions. Public."""
    async with ctx.db.read() as session:
        versions = await apprenticeships.policies(session)
    return ApprenticeshipPolicyHistory(
        current=policy_out(versions[-1]) if versions else None,
        versions=[policy_out(p) for p in versions],
    )


@router.post("/apprenticeships/policy", status_code=201, response_model=ApprenticeshipPolicyOut)
async def publish_apprenticeship_policy(
    body: ApprenticeshipPolicyCreate,
    principal: Principal = Depends(allow(*STAFF)),
    ctx: ServiceContext = Depends(get_ctx),
) -> ApprenticeshipPolicyOut:
    """Publish the next apprenticeship policy version. Officers only."""
    try:
        async with ctx.db.write() as session:
            policy = await apprenticeships.publish_policy(session, body, principal.subject)
    except IntegrityError as exc:
        raise Conflict(
            "Another policy version was published at the same time; read it and retry",
            slug="policy-version-taken",
        ) from exc
    return policy_out(policy)


@router.post("/apprenticeships", status_code=201, response_model=ApprenticeshipOut)
async def create_apprenticeship(
    body: ApprenticeshipCreate,
    response: Response,
    principal: Principal = Depends(RUNS_APPRENTICESHIPS),
    ctx: ServiceContext = Depends(get_ctx),
) -> ApprenticeshipOut:
    """Contract an apprenticeship: the apprentice is enrolled in the apprenticeship course and
    the mentor must hold the policy's stars or the 技术能手 title. Company staff for their own
    company (``company_id`` may be left out), officers for any."""
    company_id = body.company_id
    if principal.role == "company":
        if principal.party_id is None or company_id not in (None, principal.party_id):
            raise forbidden("Company staff contract apprenticeships only for their own company")
        company_id = principal.party_id
    elif company_id is None:
        raise InvalidField("company_id", "name the company", slug="missing-company")
    try:
        async with ctx.db.write() as session:
            course = await service.get_course(session, body.course_id, for_update=True)
            row = await apprenticeships.create(session, body, company_id, course, principal.subject)
    except IntegrityError as exc:
        raise service.already_enrolled() from exc
    response.headers["Location"] = f"/api/v1/apprenticeships/{row.id}"
    return apprenticeship_out(row)


@router.get("/apprenticeships/{apprenticeship_id}", response_model=ApprenticeshipOut)
async def get_apprenticeship(
    apprenticeship_id: uuid.UUID,
    principal: Principal = Depends(READS_APPRENTICESHIPS),
    ctx: ServiceContext = Depends(get_ctx),
) -> ApprenticeshipOut:
    """One apprenticeship, for officers, its company, its mentor and its apprentice."""
    async with ctx.db.read() as session:
        row = await apprenticeships.get(session, apprenticeship_id)
    if not _sees(principal, row):
        raise NotFound("apprenticeship", apprenticeship_id)
    return apprenticeship_out(row)


@router.post("/apprenticeships/{apprenticeship_id}/progress", response_model=ProgressOut)
async def record_apprenticeship_progress(
    apprenticeship_id: uuid.UUID,
    body: ProgressRecord,
    principal: Principal = Depends(RUNS_APPRENTICESHIPS),
    ctx: ServiceContext = Depends(get_ctx),
) -> ProgressOut:
    """Record a month's progress (hours, the mentor's assessment, a note); recording the month
    again replaces it. The apprentice's company and officers."""
    async with ctx.db.write() as session:
        row = await apprenticeships.get(session, apprenticeship_id)
        if not _runs(principal, row):
            raise NotFound("apprenticeship", apprenticeship_id)
        enrollment = await service.get_enrollment(session, row.enrollment_id, for_update=True)
        record = await apprenticeships.record_progress(
            session, row, enrollment, body, principal.subject
        )
    return progress_out(record)


@router.get("/apprenticeships/{apprenticeship_id}/progress", response_model=list[ProgressOut])
async def list_apprenticeship_progress(
    apprenticeship_id: uuid.UUID,
    principal: Principal = Depends(READS_APPRENTICESHIPS),
    ctx: ServiceContext = Depends(get_ctx),
) -> list[ProgressOut]:
    """The monthly progress records, by month; for whoever may read the apprenticeship."""
    async with ctx.db.read() as session:
        row = await apprenticeships.get(session, apprenticeship_id)
        if not _sees(principal, row):
            raise NotFound("apprenticeship", apprenticeship_id)
        rows = await apprenticeships.progress_of(session, apprenticeship_id)
    return [progress_out(r) for r in rows]


@router.post(
    "/apprenticeships/{apprenticeship_id}/complete", response_model=ApprenticeshipCompletion
)
async def complete_apprenticeship(
    apprenticeship_id: uuid.UUID,
    principal: Principal = Depends(RUNS_APPRENTICESHIPS),
    ctx: ServiceContext = Depends(get_ctx),
) -> ApprenticeshipCompletion:
    """Complete the apprenticeship like a course: the course's rules decide ``passed`` from the
    hours and assessments recorded, and EnrollmentCompleted announces it (a pass leads to a
    certificate). The apprentice's company and officers."""
    async with ctx.db.write() as session:
        row = await apprenticeships.get(session, apprenticeship_id)
        if not _runs(principal, row):
            raise NotFound("apprenticeship", apprenticeship_id)
        enrollment = await service.get_enrollment(session, row.enrollment_id, for_update=True)
        enrollment = await progress.complete(session, enrollment)
    return ApprenticeshipCompletion(
        apprenticeship=apprenticeship_out(row), enrollment=enrollment_out(enrollment)
    )
