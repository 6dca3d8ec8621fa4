"""Job operations: post (single and partner bulk, idempotent by the partner's job id; an
employment platform's import, idempotent by the agency's job id), change
status (409 for a move the life cycle does not allow), and who may act on a job."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.matching import JobChanged
from services.kit.errors import Conflict, InvalidField, NotFound
from services.kit.ids import new_id
from services.kit.outbox import publish
from services.kit.principal import Principal
from services.kit.types import utcnow
from services.matching.recruitment.history import record
from services.matching.recruitment.models import HistoryEntry, Job
from services.matching.recruitment.schemas import BulkReport, BulkRow, JobIn, JobOut

#: Status moves a poster may make; "expired" is set by the platform only.
JOB_MOVES: dict[str, frozenset[str]] = {
    "open": frozenset({"paused", "filled", "closed"}),
    "paused": frozenset({"open", "filled", "closed"}),
    "filled": frozenset({"open", "closed"}),
    "closed": frozenset(),
    "expired": frozenset(),
}
#: Statuses an expiry ends (a filled or closed job keeps its status).
EXPIRABLE = ("open", "paused")
#: The jobs one sweep transaction marks expired at most (the next one takes the rest).
SWEEP_BATCH = 500
#: The job fields a repost compares and replaces.
_CONTENT = tuple(f for f in JobIn.model_fields if f not in ("external_id", "employer_id"))


def poster_parties(
    principal: Principal, employer_id: uuid.UUID | None = None
) -> dict[str, uuid.UUID | None]:
    """The posting party of the caller: employer, company, partner or agency (the token); a
    partner's job may name the employer it recruits for (``employer_id``)."""
    party = principal.party_id
    return {
        "employer_id": party if principal.role == "employer" else employer_id,
        "company_id": party if principal.role == "company" else None,
        "partner_id": party if principal.role == "partner" else None,
        "agency_id": party if principal.role == "agency" else None,
    }


#: Posters that identify each job by their own id (a repost of it updates the job).
_EXTERNAL_POSTERS = ("partner", "agency")


def is_poster(principal: Principal, job: Job) -> bool:
    return principal.role == job.poster_role and principal.acts_for(job.poster_party_id)


def is_expired(job: Job, now: datetime) -> bool:
    """Past its expiry: taking no applications and off the listings, whether or not the
    sweep has recorded it yet."""
    return job.status in EXPIRABLE and job.expires_at is not None and job.expires_at <= now


def status_of(job: Job, now: datetime) -> str:
    """The status as readers see it: ``expired`` from the moment the expiry passes."""
    return "expired" if is_expired(job, now) else job.status


def past_expiry(now: datetime) -> ColumnElement[bool]:
    return and_(Job.expires_at.is_not(None), Job.expires_at <= now)


def open_now(now: datetime) -> ColumnElement[bool]:
    """SQL: open and not past its expiry (the listings' filter; no wait for the sweep)."""
    return and_(Job.status == "open", or_(Job.expires_at.is_(None), Job.expires_at > now))


def job_out(job: Job) -> JobOut:
    out = JobOut.model_validate(job, from_attributes=True)
    return out.model_copy(update={"status": status_of(job, utcnow())})


#: What a job event says of the job: what it advertises (never who posted it).
ADVERTISED: tuple[str, ...] = (
    "title",
    "track",
    "duties",
    "city",
    "district",
    "live_in",
    "schedule",
    "pay_min",
    "pay_max",
    "pay_period",
    "languages",
    "certificate_required",
    "min_stars",
    "positions",
    "start_date",
    "expires_at",
)


async def job_changed(session: AsyncSession, job: Job) -> None:
    """Publish the job's state (``matching.job.changed``, in this transaction; it feeds the
    ``jobs`` change feed agencies read)."""
    await publish(
        session,
        JobChanged(
            job_id=str(job.id),
            **{f: getattr(job, f) for f in ADVERTISED},
            status=job.status,
            version=job.version,
            changed_at=job.updated_at,
        ),
    )


async def expire_due(session: AsyncSession, now: datetime, limit: int = SWEEP_BATCH) -> int:
    """Mark open or paused jobs past their expiry ``expired``, each with its history entry
    (actor "system"); the count. Idempotent, so replicas may sweep at the same time."""
    due = (
        await session.scalars(
            select(Job)
            .where(Job.status.in_(EXPIRABLE), Job.expires_at <= now)
            .order_by(Job.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    for job in due:
        session.add(
            HistoryEntry(
                id=new_id(),
                entity="job",
                entity_id=job.id,
                action="expire",
                from_status=job.status,
                to_status="expired",
                actor_account_id="system",
                actor_role="system",
                note=f"expired at {job.expires_at.isoformat() if job.expires_at else ''}",
                at=now,
            )
        )
        job.status = "expired"
        job.version += 1
        job.updated_at = now
        await job_changed(session, job)
    return len(due)


def _check_poster(principal: Principal, body: JobIn) -> None:
    if principal.party_id is None:
        raise InvalidField("token", "the caller's token names no employer, company or partner")
    if principal.role in _EXTERNAL_POSTERS and body.external_id is None:
        raise InvalidField(
            "external_id", "partner and employment platforms identify each job by their own id"
        )
    if principal.role not in _EXTERNAL_POSTERS and body.external_id is not None:
        raise InvalidField(
            "external_id", "only partner and employment platforms send their own job ids"
        )
    if principal.role != "partner" and body.employer_id is not None:
        raise InvalidField(
            "employer_id", "only partner platforms name an employer; others post as themselves"
        )


def _check_expiry(body: JobIn) -> None:
    if body.expires_at is not None and body.expires_at <= utcnow():
        raise InvalidField("expires_at", "must be in the future")


@dataclass
class Posted:
    job: Job
    outcome: Literal["created", "updated", "unchanged"]


async def post_job(session: AsyncSession, principal: Principal, body: JobIn) -> Posted:
    """Create a job; a partner's (or an agency's) repost of the same external id updates or
    leaves it."""
    _check_poster(principal, body)
    assert principal.party_id is not None
    content = body.model_dump(include=set(_CONTENT))
    if body.external_id is not None:
        owner = Job.agency_id if principal.role == "agency" else Job.partner_id
        existing = await session.scalar(
            select(Job)
            .where(owner == principal.party_id, Job.external_id == body.external_id)
            .with_for_update()
        )
        if existing is not None:
            if existing.employer_id == body.employer_id and all(
                getattr(existing, k) == v for k, v in content.items()
            ):
                return Posted(existing, "unchanged")
            status = status_of(existing, utcnow())
            if status not in ("open", "paused"):
                raise Conflict(
                    f"Job {body.external_id} is {status}; it can no longer change",
                    slug="job-not-editable",
                )
            _check_expiry(body)
            for key, value in content.items():
                setattr(existing, key, value)
            existing.employer_id = body.employer_id
            existing.version += 1
            existing.updated_at = utcnow()
            await record(
                session, "job", existing.id, "update", existing.status, existing.status, principal
            )
            await job_changed(session, existing)
            return Posted(existing, "updated")
    _check_expiry(body)
    now = utcnow()
    job = Job(
        id=new_id(),
        poster_role=principal.role,
        poster_party_id=principal.party_id,
        poster_account_id=principal.subject,
        external_id=body.external_id,
        status="open",
        version=1,
        created_at=now,
        updated_at=now,
        **poster_parties(principal, body.employer_id),
        **content,
    )
    session.add(job)
    await session.flush()
    await record(session, "job", job.id, "post", None, "open", principal)
    await job_changed(session, job)
    return Posted(job, "created")


#: The statuses an imported row may give its job (default open).
IMPORT_STATUSES = ("open", "paused", "filled", "closed")


async def import_job(
    session: AsyncSession, principal: Principal, body: JobIn, status: str
) -> Posted:
    """An agency's job as its platform has it now: content and status. A move the life cycle
    does not allow (a closed job reopened) is refused before anything is written."""
    _check_poster(principal, body)  # an agency's row names its own job id
    assert principal.party_id is not None and body.external_id is not None
    existing = await session.scalar(
        select(Job).where(Job.agency_id == principal.party_id, Job.external_id == body.external_id)
    )
    moved = existing is not None and existing.status != status
    if existing is not None and moved and status not in JOB_MOVES[existing.status]:
        raise Conflict(
            f"Job {body.external_id} is {existing.status}; it cannot become {status}",
            slug="invalid-transition",
        )
    if existing is not None and moved and status in ("open", "paused"):
        # Reopen first, so the content may change too.
        await change_status(session, principal, existing.id, status, "imported")
    posted = await post_job(session, principal, body)
    if posted.job.status != status:
        await change_status(session, principal, posted.job.id, status, "imported")
    if moved and posted.outcome == "unchanged":
        return Posted(posted.job, "updated")
    return posted


async def post_bulk(
    session: AsyncSession,
    principal: Principal,
    rows: list[Any],
    *,
    with_status: bool = False,
) -> BulkReport:
    """Post each row on its own: a bad row is reported and the others still land. With
    ``with_status`` (an agency's import) a row may carry the job's ``status``."""
    report = BulkReport(created=0, updated=0, unchanged=0, errors=0, rows=[])
    for index, raw in enumerate(rows):
        external = raw.get("external_id") if isinstance(raw, dict) else None
        external = external if isinstance(external, str) else None
        try:
            status = "open"
            if with_status and isinstance(raw, dict) and "status" in raw:
                status = raw["status"]
                raw = {k: v for k, v in raw.items() if k != "status"}
                if status not in IMPORT_STATUSES:
                    raise InvalidField("status", f"must be one of {', '.join(IMPORT_STATUSES)}")
            body = JobIn.model_validate(raw)
            # Every check comes before any write, so a refused row leaves nothing behind.
            if with_status:
                posted = await import_job(session, principal, body, status)
            else:
                posted = await post_job(session, principal, body)
        except ValidationError as exc:
            errors = [
                {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
                for e in exc.errors()
            ]
            report.rows.append(
                BulkRow(
                    row=index, external_id=external, outcome="error", job_id=None, errors=errors
                )
            )
            report.errors += 1
            continue
        except (InvalidField, Conflict) as exc:
            report.rows.append(
                BulkRow(
                    row=index,
                    external_id=external,
                    outcome="error",
                    job_id=None,
                    errors=[{"field": "", "message": exc.detail or exc.title}],
                )
            )
            report.errors += 1
            continue
        setattr(report, posted.outcome, getattr(report, posted.outcome) + 1)
        report.rows.append(
            BulkRow(row=index, external_id=external, outcome=posted.outcome, job_id=posted.job.id)
        )
    return report


async def get_job(session: AsyncSession, job_id: uuid.UUID, *, lock: bool = False) -> Job:
    query = select(Job).where(Job.id == job_id)
    if lock:
        query = query.with_for_update()
    job = await session.scalar(query)
    if job is None:
        raise NotFound("job", job_id)
    return job


async def change_status(
    session: AsyncSession, principal: Principal, job_id: uuid.UUID, status: str, note: str | None
) -> Job:
    job = await get_job(session, job_id, lock=True)
    if not (is_poster(principal, job) or principal.is_privileged):
        raise NotFound("job", job_id)
    current = status_of(job, utcnow())
    if status == current:
        return job
    if status not in JOB_MOVES[current]:
        raise Conflict(
            f"A {current} job cannot become {status}",
            slug="invalid-transition",
            current_status=current,
        )
    previous = job.status
    job.status = status
    job.version += 1
    job.updated_at = utcnow()
    await record(session, "job", job.id, "status", previous, status, principal, note)
    await job_changed(session, job)
    return job
