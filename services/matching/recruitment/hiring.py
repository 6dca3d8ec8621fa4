"""Applications → offers → engagements: the hiring life cycle, with its history, its events
(``matching.engagement.started`` / ``finished`` through the outbox) and partner webhooks.

Each move is a row of :data:`MOVES`: from which status, by which side (the worker or the
job's poster), to which status. Anything else is a 409 naming the current status.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.matching import EngagementFinished, EngagementStarted
from services.kit.errors import Conflict, InvalidField, NotFound
from services.kit.ids import new_id
from services.kit.outbox import publish
from services.kit.principal import Principal
from services.kit.types import utcnow
from services.matching import service
from services.matching.models import Candidate
from services.matching.policy import current_policy
from services.matching.ranking import is_eligible
from services.matching.recruitment import webhooks
from services.matching.recruitment.history import record
from services.matching.recruitment.jobs import get_job, is_expired, is_poster, job_changed
from services.matching.recruitment.models import Application, Engagement, Job
from services.matching.recruitment.schemas import ApplicationActionIn

Side = Literal["worker", "poster"]

_ACTIVE = ("applied", "shortlisted", "interviewing")
MOVES: dict[tuple[str, str], tuple[str, Side]] = {
    ("invited", "apply"): ("applied", "worker"),
    ("invited", "decline"): ("declined", "worker"),
    ("invited", "reject"): ("rejected", "poster"),
    **{(s, "withdraw"): ("withdrawn", "worker") for s in _ACTIVE},
    ("applied", "shortlist"): ("shortlisted", "poster"),
    **{(s, "interview"): ("interviewing", "poster") for s in _ACTIVE},
    **{(s, "offer"): ("offered", "poster") for s in _ACTIVE},
    **{(s, "reject"): ("rejected", "poster") for s in (*_ACTIVE, "offered")},
    ("offered", "accept"): ("hired", "worker"),
    ("offered", "decline"): ("declined", "worker"),
}


def side_of(principal: Principal, job: Job, application: Application) -> Side | None:
    if principal.role == "worker" and principal.acts_for(application.worker_id):
        return "worker"
    if is_poster(principal, job):
        return "poster"
    return None


def may_see(principal: Principal, job: Job, worker_id: uuid.UUID) -> bool:
    if principal.is_privileged or is_poster(principal, job):
        return True
    return principal.role == "worker" and principal.acts_for(worker_id)


async def _eligible_candidate(session: AsyncSession, worker_id: uuid.UUID) -> Candidate:
    candidate = await session.get(Candidate, worker_id)
    if candidate is None or candidate.name is None:
        raise NotFound("candidate", worker_id)
    policy = await current_policy(session)
    if not is_eligible(policy.weights, candidate):
        raise Conflict(
            "The worker cannot be hired now (suspended, left, or excluded by credit)",
            slug="worker-not-eligible",
        )
    return candidate


def _require_open(job: Job) -> None:
    if is_expired(job, utcnow()):
        raise Conflict(
            "The job expired: it takes no more applications or offers",
            slug="job-expired",
            job_status="expired",
        )
    if job.status != "open":
        raise Conflict(f"The job is {job.status}", slug="job-not-open", job_status=job.status)


async def _webhook(session: AsyncSession, job: Job, event: str, payload: dict[str, object]) -> None:
    if job.partner_id is not None:
        await webhooks.enqueue(
            session,
            job.partner_id,
            event,
            {**payload, "job_id": str(job.id), "partner_job_id": job.external_id},
        )


async def _application_webhook(
    session: AsyncSession, job: Job, application: Application, previous: str | None
) -> None:
    await _webhook(
        session,
        job,
        "application.changed",
        {
            "application_id": str(application.id),
            "worker_id": str(application.worker_id),
            "status": application.status,
            "previous_status": previous,
            "changed_at": application.updated_at.isoformat(),
        },
    )


async def open_application(
    session: AsyncSession,
    principal: Principal,
    job_id: uuid.UUID,
    worker_id: uuid.UUID,
    origin: Literal["applied", "invited"],
    fair_id: uuid.UUID | None,
) -> Application:
    """A worker applies (origin "applied") or the poster invites one ("invited")."""
    job = await get_job(session, job_id, lock=True)
    if origin == "invited" and not (is_poster(principal, job)):
        raise NotFound("job", job_id)
    _require_open(job)
    await _eligible_candidate(session, worker_id)
    existing = await session.scalar(
        select(Application.id).where(
            Application.job_id == job_id, Application.worker_id == worker_id
        )
    )
    if existing is not None:
        raise Conflict(
            "The worker already has an application for this job",
            slug="duplicate-application",
            application_id=str(existing),
        )
    now = utcnow()
    application = Application(
        id=new_id(),
        job_id=job_id,
        worker_id=worker_id,
        origin=origin,
        status=origin,
        fair_id=fair_id,
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(application)
    await session.flush()
    await record(session, "application", application.id, origin, None, origin, principal)
    await _application_webhook(session, job, application, None)
    return application


async def get_application(
    session: AsyncSession, principal: Principal, application_id: uuid.UUID, *, lock: bool = False
) -> tuple[Application, Job]:
    query = select(Application).where(Application.id == application_id)
    application = await session.scalar(query.with_for_update() if lock else query)
    if application is None:
        raise NotFound("application", application_id)
    job = await get_job(session, application.job_id, lock=lock)
    if not may_see(principal, job, application.worker_id):
        raise NotFound("application", application_id)
    return application, job


async def act(
    session: AsyncSession,
    principal: Principal,
    application_id: uuid.UUID,
    body: ApplicationActionIn,
) -> Application:
    application, job = await get_application(session, principal, application_id, lock=True)
    side = side_of(principal, job, application)
    move = MOVES.get((application.status, body.action))
    if move is None:
        raise Conflict(
            f"Cannot {body.action} an application that is {application.status}",
            slug="invalid-transition",
            current_status=application.status,
        )
    to_status, needed = move
    if side != needed:
        raise Conflict(
            f"Only the {needed} may {body.action} this application",
            slug="invalid-transition",
            current_status=application.status,
        )
    if body.action == "interview":
        if body.interview is None:
            raise InvalidField("interview", "required to schedule an interview")
        application.interview = body.interview.model_dump(mode="json")
    if body.action == "offer":
        if body.offer is None:
            raise InvalidField("offer", "required to make an offer")
        application.offer = body.offer.model_dump(mode="json")
    if body.action in ("offer", "accept", "apply"):
        _require_open(job)
    previous = application.status
    application.status = to_status
    application.version += 1
    application.updated_at = utcnow()
    await record(
        session,
        "application",
        application.id,
        body.action,
        previous,
        to_status,
        principal,
        body.note,
    )
    if body.action == "accept":
        await _eligible_candidate(session, application.worker_id)
        await _hire(session, principal, job, application)
    await _application_webhook(session, job, application, previous)
    return application


async def _hire(
    session: AsyncSession, principal: Principal, job: Job, application: Application
) -> None:
    offer = application.offer or {}
    now = utcnow()
    engagement = Engagement(
        id=new_id(),
        application_id=application.id,
        job_id=job.id,
        worker_id=application.worker_id,
        employer_id=job.employer_id,
        company_id=job.company_id,
        partner_id=job.partner_id,
        poster_role=job.poster_role,
        poster_party_id=job.poster_party_id,
        poster_account_id=job.poster_account_id,
        track=job.track,
        start_date=date.fromisoformat(str(offer["start_date"])),
        end_date=date.fromisoformat(str(offer["end_date"])) if offer.get("end_date") else None,
        terms=offer,
        status="scheduled",
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(engagement)
    application.engagement_id = engagement.id
    await session.flush()
    await record(session, "engagement", engagement.id, "hire", None, "scheduled", principal)
    await service.engagement_opened(session, application.worker_id)
    hired = await session.scalar(
        select(func.count())
        .select_from(Application)
        .where(Application.job_id == job.id, Application.status == "hired")
    )
    if (hired or 0) >= job.positions:
        await record(session, "job", job.id, "filled", job.status, "filled", principal)
        job.status = "filled"
        job.version += 1
        job.updated_at = now
        await job_changed(session, job)


def _may_run(principal: Principal, engagement: Engagement) -> bool:
    return principal.is_privileged or (
        principal.role == engagement.poster_role and principal.acts_for(engagement.poster_party_id)
    )


def may_see_engagement(principal: Principal, engagement: Engagement) -> bool:
    return _may_run(principal, engagement) or (
        principal.role == "worker" and principal.acts_for(engagement.worker_id)
    )


async def get_engagement(
    session: AsyncSession, principal: Principal, engagement_id: uuid.UUID, *, lock: bool = False
) -> Engagement:
    query = select(Engagement).where(Engagement.id == engagement_id)
    engagement = await session.scalar(query.with_for_update() if lock else query)
    if engagement is None or not may_see_engagement(principal, engagement):
        raise NotFound("engagement", engagement_id)
    return engagement


def _invalid(engagement: Engagement, what: str) -> Conflict:
    return Conflict(
        f"Cannot {what} an engagement that is {engagement.status}",
        slug="invalid-transition",
        current_status=engagement.status,
    )


def _event_fields(engagement: Engagement) -> dict[str, object]:
    return {
        "engagement_id": str(engagement.id),
        "job_id": str(engagement.job_id),
        "worker_id": str(engagement.worker_id),
        "employer_id": str(engagement.employer_id) if engagement.employer_id else None,
        "company_id": str(engagement.company_id) if engagement.company_id else None,
        "poster_account_id": engagement.poster_account_id,
        "track": engagement.track,
        "start_date": engagement.start_date,
    }


async def _engagement_webhook(session: AsyncSession, engagement: Engagement, event: str) -> None:
    job = await get_job(session, engagement.job_id)
    await _webhook(
        session,
        job,
        event,
        {
            "engagement_id": str(engagement.id),
            "worker_id": str(engagement.worker_id),
            "status": engagement.status,
            "start_date": engagement.start_date.isoformat(),
            "end_date": engagement.end_date.isoformat() if engagement.end_date else None,
        },
    )


async def start(
    session: AsyncSession, principal: Principal, engagement_id: uuid.UUID, note: str | None
) -> Engagement:
    engagement = await get_engagement(session, principal, engagement_id, lock=True)
    if not _may_run(principal, engagement):
        raise Conflict("Only the job's poster starts an engagement", slug="invalid-transition")
    if engagement.status != "scheduled":
        raise _invalid(engagement, "start")
    now = utcnow()
    engagement.status, engagement.started_at = "active", now
    engagement.version += 1
    engagement.updated_at = now
    await record(
        session, "engagement", engagement.id, "start", "scheduled", "active", principal, note
    )
    await publish(session, EngagementStarted(**_event_fields(engagement), started_at=now))  # type: ignore[arg-type]
    await _engagement_webhook(session, engagement, "engagement.started")
    return engagement


async def finish(
    session: AsyncSession,
    principal: Principal,
    engagement_id: uuid.UUID,
    end_date: date,
    note: str | None,
) -> Engagement:
    engagement = await get_engagement(session, principal, engagement_id, lock=True)
    if not _may_run(principal, engagement):
        raise Conflict("Only the job's poster finishes an engagement", slug="invalid-transition")
    if engagement.status != "active":
        raise _invalid(engagement, "finish")
    if end_date < engagement.start_date:
        raise InvalidField("end_date", "must not be before the engagement's start date")
    now = utcnow()
    engagement.status, engagement.finished_at, engagement.end_date = "finished", now, end_date
    engagement.version += 1
    engagement.updated_at = now
    await record(
        session, "engagement", engagement.id, "finish", "active", "finished", principal, note
    )
    await publish(
        session,
        EngagementFinished(**_event_fields(engagement), end_date=end_date, finished_at=now),  # type: ignore[arg-type]
    )
    await service.engagement_closed(session, engagement.worker_id, finished=True)
    await _engagement_webhook(session, engagement, "engagement.finished")
    return engagement


async def cancel(
    session: AsyncSession, principal: Principal, engagement_id: uuid.UUID, note: str | None
) -> Engagement:
    """A scheduled engagement called off (by the poster or the worker) before it started."""
    engagement = await get_engagement(session, principal, engagement_id, lock=True)
    if engagement.status != "scheduled":
        raise _invalid(engagement, "cancel")
    now = utcnow()
    engagement.status = "cancelled"
    engagement.version += 1
    engagement.updated_at = now
    await record(
        session, "engagement", engagement.id, "cancel", "scheduled", "cancelled", principal, note
    )
    await service.engagement_closed(session, engagement.worker_id, finished=False)
    await _engagement_webhook(session, engagement, "engagement.cancelled")
    return engagement
