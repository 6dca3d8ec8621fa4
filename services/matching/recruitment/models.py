"""Recruitment tables, owned by matching: jobs, applications, engagements, their history,
partner webhooks and recruitment fairs."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from services.kit.types import UtcDateTime
from services.matching.models import Base


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        # A partner's own job id identifies its job: posting it again is idempotent.
        UniqueConstraint("partner_id", "external_id", name="uq_jobs_partner_external"),
        # An agency's (employment platform's) job id identifies its imported job.
        UniqueConstraint("agency_id", "external_id", name="uq_jobs_agency_external"),
        Index("ix_jobs_board", "status", "track", "id"),
        Index("ix_jobs_expiry", "status", "expires_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    #: Role of the poster's token: employer, company, partner, or agency (imported).
    poster_role: Mapped[str] = mapped_column(String(12))
    poster_party_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    poster_account_id: Mapped[str] = mapped_column(String(64))
    employer_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    company_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    partner_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    #: The public employment service platform a job was imported from.
    agency_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    external_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    title: Mapped[str] = mapped_column(String(200))
    track: Mapped[str] = mapped_column(String(20))
    duties: Mapped[list[str]] = mapped_column(JSON)
    city: Mapped[str] = mapped_column(String(20))
    district: Mapped[str | None] = mapped_column(String(64), nullable=True)
    live_in: Mapped[bool] = mapped_column(Boolean)
    schedule: Mapped[str] = mapped_column(String(200))
    pay_min: Mapped[int] = mapped_column(Integer)
    pay_max: Mapped[int] = mapped_column(Integer)
    pay_period: Mapped[str] = mapped_column(String(10))
    languages: Mapped[list[str]] = mapped_column(JSON)
    certificate_required: Mapped[bool] = mapped_column(Boolean)
    min_stars: Mapped[int | None] = mapped_column(Integer, nullable=True)
    positions: Mapped[int] = mapped_column(Integer)
    start_date: Mapped[date] = mapped_column(Date)
    #: After this the job takes no applications and leaves the listings (None: no expiry);
    #: the sweep then marks it ``expired``.
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    status: Mapped[str] = mapped_column(String(10))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Application(Base):
    __tablename__ = "applications"
    __table_args__ = (UniqueConstraint("job_id", "worker_id", name="uq_applications_job_worker"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    job_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("jobs.id"), index=True)
    worker_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    #: "applied" (the worker) or "invited" (the poster).
    origin: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(12))
    fair_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    interview: Mapped[dict[str, object] | None] = mapped_column(
        JSON(none_as_null=True), nullable=True
    )
    offer: Mapped[dict[str, object] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    engagement_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Engagement(Base):
    __tablename__ = "engagements"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    application_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    job_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    worker_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    employer_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    company_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    partner_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    poster_role: Mapped[str] = mapped_column(String(12))
    poster_party_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    poster_account_id: Mapped[str] = mapped_column(String(64))
    track: Mapped[str] = mapped_column(String(20))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    terms: Mapped[dict[str, object]] = mapped_column(JSON)
    #: scheduled → active → finished, or scheduled → cancelled.
    status: Mapped[str] = mapped_column(String(10))
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class HistoryEntry(Base):
    """One step in the life of a job, application or engagement: who moved it, from what to
    what, when."""

    __tablename__ = "recruitment_history"
    __table_args__ = (Index("ix_recruitment_history_entity", "entity", "entity_id", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    entity: Mapped[str] = mapped_column(String(12))
    entity_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    action: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(12), nullable=True)
    to_status: Mapped[str] = mapped_column(String(12))
    actor_account_id: Mapped[str] = mapped_column(String(64))
    actor_role: Mapped[str] = mapped_column(String(12))
    note: Mapped[str | None] = mapped_column(String(500), nullable=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    partner_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    url: Mapped[str] = mapped_column(String(2000))
    #: The signing secret (whsec_…), encrypted with the platform's data key.
    secret_encrypted: Mapped[str] = mapped_column(Text)
    event_types: Mapped[list[str]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class WebhookDelivery(Base):
    """One message to one endpoint and its delivery attempts (the delivery log)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True
    )
    #: The ``webhook-id`` header: the same for every attempt and replay of this message.
    message_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text)
    #: pending → delivered, or pending → failed after the last retry; replay → pending.
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class Fair(Base):
    __tablename__ = "fairs"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(20))
    association: Mapped[str | None] = mapped_column(String(200), nullable=True)
    fair_date: Mapped[date] = mapped_column(Date)
    venue: Mapped[str | None] = mapped_column(String(300), nullable=True)
    online: Mapped[bool] = mapped_column(Boolean)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class FairJob(Base):
    __tablename__ = "fair_jobs"

    fair_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("fairs.id", ondelete="CASCADE"), primary_key=True
    )
    job_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("jobs.id"), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(UtcDateTime)


class FairSignup(Base):
    __tablename__ = "fair_signups"

    fair_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("fairs.id", ondelete="CASCADE"), primary_key=True
    )
    worker_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    signed_up_at: Mapped[datetime] = mapped_column(UtcDateTime)
    checked_in_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class AgencyWorkerRead(Base):
    """A worker's record sent to an employment platform (an available-workers page): the
    worker sees who received it, when, and the audit entry that records it."""

    __tablename__ = "agency_worker_reads"
    __table_args__ = (Index("ix_agency_worker_reads_worker", "worker_id", "read_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    worker_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    agency_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    dataset: Mapped[str] = mapped_column(String(40))
    fields: Mapped[list[str]] = mapped_column(JSON)
    audit_hash: Mapped[str] = mapped_column(String(64))
    read_at: Mapped[datetime] = mapped_column(UtcDateTime)
