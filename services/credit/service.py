"""Credit domain operations. Each runs inside the caller's transaction."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.credit import CertificateIssued
from contracts.training import CompetitionAwarded, EnrollmentCompleted
from services.credit.codes import matches, new_check_code
from services.credit.models import (
    Certificate,
    CompetitionAward,
    CreditWorker,
    TrainingCompletion,
)
from services.credit.numbers import local_date, next_number
from services.kit.errors import NotFound, Problem
from services.kit.ids import new_id
from services.kit.outbox import publish
from services.kit.types import utcnow

TRAINING = "training"
#: The 肇庆市技术能手 title certificate of a skill competition's winner; it does not expire.
SKILL_TITLE = "skill_title"
#: Training certificates are valid for three years from the day of issue.
TRAINING_VALIDITY_YEARS = 3


def add_years(day: date, years: int) -> date:
    """``day`` plus ``years``; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def is_valid(certificate: Certificate, today: date | None = None) -> bool:
    today = today or local_date(utcnow())
    if certificate.revoked_at is not None:
        return False
    return certificate.valid_until is None or today <= certificate.valid_until


def mask_name(name: str) -> str:
    """First character, then one asterisk per remaining character (at least one)."""
    name = name.strip()
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


async def record_completion(session: AsyncSession, data: EnrollmentCompleted) -> Certificate | None:
    """Log a completed enrolment; issue its training certificate if it passed.

    Not passed: only the log row, no certificate and no event. A completion already logged
    (the same completion re-published under another event id) changes nothing.
    """
    enrollment_id = uuid.UUID(data.enrollment_id)
    if await session.get(TrainingCompletion, enrollment_id) is not None:
        return None
    completion = TrainingCompletion(
        enrollment_id=enrollment_id,
        worker_id=uuid.UUID(data.worker_id),
        course_id=uuid.UUID(data.course_id),
        course_title=data.course_title,
        track=data.track,
        training_type=data.training_type,
        hours=data.hours,
        score=data.score,
        passed=data.passed,
        completed_at=data.completed_at,
        recorded_at=utcnow(),
    )
    session.add(completion)
    # Flush now: a concurrent duplicate fails here, before a certificate number is taken.
    await session.flush()
    if not data.passed:
        return None
    certificate = await issue_training_certificate(session, data)
    completion.certificate_id = certificate.id
    await session.flush()
    return certificate


async def issue_training_certificate(
    session: AsyncSession, data: EnrollmentCompleted
) -> Certificate:
    """Issue the certificate for a passed enrolment and emit CertificateIssued with it."""
    existing = await session.scalar(
        select(Certificate).where(Certificate.enrollment_id == uuid.UUID(data.enrollment_id))
    )
    if existing is not None:
        return existing
    issued_at = utcnow()
    certificate = Certificate(
        id=new_id(),
        number=await next_number(session, issued_at),
        check_code=new_check_code(),
        kind=TRAINING,
        worker_id=uuid.UUID(data.worker_id),
        track=data.track,
        course_id=uuid.UUID(data.course_id),
        course_title=data.course_title,
        training_type=data.training_type,
        enrollment_id=uuid.UUID(data.enrollment_id),
        issued_at=issued_at,
        valid_until=add_years(local_date(issued_at), TRAINING_VALIDITY_YEARS),
        version=1,
    )
    session.add(certificate)
    await session.flush()
    await publish(session, certificate_issued(certificate))
    return certificate


async def record_award(session: AsyncSession, data: CompetitionAwarded) -> Certificate | None:
    """Log a competition award and issue its 技术能手 certificate, numbered in the public
    ``ZQJS`` series with its own check code, and emit CertificateIssued with it.

    An award already logged (the same award re-published under another event id) changes
    nothing and answers None.
    """
    award_id = uuid.UUID(data.award_id)
    if await session.get(CompetitionAward, award_id) is not None:
        return None
    award = CompetitionAward(
        award_id=award_id,
        worker_id=uuid.UUID(data.worker_id),
        competition_id=uuid.UUID(data.competition_id),
        competition_title=data.competition_title,
        track=data.track,
        rank=data.rank,
        total_score=data.total_score,
        title=data.title,
        policy_version=data.policy_version,
        awarded_at=data.awarded_at,
        recorded_at=utcnow(),
    )
    session.add(award)
    # Flush now: a concurrent duplicate fails here, before a certificate number is taken.
    await session.flush()
    issued_at = utcnow()
    certificate = Certificate(
        id=new_id(),
        number=await next_number(session, issued_at),
        check_code=new_check_code(),
        kind=SKILL_TITLE,
        worker_id=award.worker_id,
        track=data.track,
        course_title=data.competition_title,
        issued_at=issued_at,
        valid_until=None,
        version=1,
    )
    session.add(certificate)
    await session.flush()
    award.certificate_id = certificate.id
    await session.flush()
    await publish(session, certificate_issued(certificate))
    return certificate


class IssuedCertificate(Protocol):
    """What the event says of a certificate: a ``Certificate``, or a batch's plain row."""

    id: uuid.UUID
    number: str
    kind: str
    worker_id: uuid.UUID
    track: str | None
    course_id: uuid.UUID | None
    enrollment_id: uuid.UUID | None
    issued_at: datetime
    valid_until: date | None


def certificate_issued(certificate: IssuedCertificate) -> CertificateIssued:
    return CertificateIssued(
        certificate_id=str(certificate.id),
        certificate_number=certificate.number,
        kind=certificate.kind,  # type: ignore[arg-type]
        worker_id=str(certificate.worker_id),
        track=certificate.track,  # type: ignore[arg-type]
        course_id=_str(certificate.course_id),
        enrollment_id=_str(certificate.enrollment_id),
        issued_at=certificate.issued_at,
        valid_until=certificate.valid_until,
    )


def _str(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)


async def get_certificate(
    session: AsyncSession, certificate_id: uuid.UUID
) -> tuple[Certificate, CreditWorker | None]:
    certificate = await session.get(Certificate, certificate_id)
    if certificate is None:
        raise NotFound("certificate", certificate_id)
    return certificate, await session.get(CreditWorker, certificate.worker_id)


async def verify(
    session: AsyncSession, number: str, code: str | None
) -> tuple[Certificate, CreditWorker | None]:
    """The certificate with ``number`` if ``code`` is its check code.

    A wrong or missing code answers exactly as an unknown number does, so numbers cannot be
    probed one by one.
    """
    certificate = await session.scalar(select(Certificate).where(Certificate.number == number))
    if certificate is None or not matches(certificate.check_code, code):
        raise Problem(
            404,
            "not-found",
            "certificate not found",
            "No certificate with this number and check code",
        )
    return certificate, await session.get(CreditWorker, certificate.worker_id)
