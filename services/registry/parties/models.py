"""Party tables: workers, employment, organisations, employers, partners, consent.

Personal numbers (ID cards, mobile phones, including an organisation contact's phone) are never
stored in the clear: each has an AEAD token (``*_encrypted``), a keyed blind index for exact
lookup (``*_index``) and the masked form responses show (``*_masked``). See services.kit.pii.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from services.kit.types import UtcDateTime
from services.registry.base import Base

#: AEAD associated data per column: a token copied to another column does not decrypt there.
WORKER_ID_CARD_CONTEXT = "registry.worker.id_card"
WORKER_PHONE_CONTEXT = "registry.worker.phone"
COMPANY_CONTACT_PHONE_CONTEXT = "registry.company.contact_phone"
INSTITUTION_CONTACT_PHONE_CONTEXT = "registry.institution.contact_phone"
EMPLOYER_PHONE_CONTEXT = "registry.employer.phone"
PARTNER_CONTACT_PHONE_CONTEXT = "registry.partner.contact_phone"

#: Only the current employment (left_at null) must be unique per worker; history may repeat.
CURRENT_EMPLOYMENT_WHERE = text("left_at IS NULL")


class Worker(Base):
    __tablename__ = "workers"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    #: Derived from the ID-card number (17th digit) and never edited on its own.
    gender: Mapped[str] = mapped_column(String(6))
    #: Derived from the ID-card number (digits 7-14).
    birth_date: Mapped[date] = mapped_column(Date)
    #: AEAD ciphertext token (key id inside); the plaintext never reaches the database.
    id_card_encrypted: Mapped[str] = mapped_column(String(200))
    #: Keyed HMAC of the normalised number: exact lookup and uniqueness without plaintext.
    id_card_index: Mapped[str] = mapped_column(String(64), unique=True)
    id_card_masked: Mapped[str] = mapped_column(String(18))
    phone_encrypted: Mapped[str] = mapped_column(String(200))
    phone_index: Mapped[str] = mapped_column(String(64), index=True)
    phone_masked: Mapped[str] = mapped_column(String(11))
    #: Household-registration county (one of Zhaoqing's eight, or "other").
    county: Mapped[str] = mapped_column(String(20), index=True)
    #: Tracks of interest; mirrored in worker_tracks for filtering.
    tracks: Mapped[list[str]] = mapped_column(JSON, default=list)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    education: Mapped[str | None] = mapped_column(String(32), nullable=True)
    #: Employment-support target groups; mirrored in worker_target_groups for filtering.
    target_groups: Mapped[list[str]] = mapped_column(JSON, default=list)
    health_check_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    health_check_institution: Mapped[str | None] = mapped_column(String(200), nullable=True)
    health_check_valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    no_criminal_record_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    #: "clear" or "record".
    no_criminal_record_result: Mapped[str | None] = mapped_column(String(8), nullable=True)
    no_criminal_record_valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(12), default="registered", index=True)
    verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    verified_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: Current employer, kept in step with the open row of ``employments`` (the source of truth).
    company_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("companies.id", name="fk_workers_company_id"), nullable=True, index=True
    )
    employment_kind: Mapped[str | None] = mapped_column(String(16), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class WorkerTrack(Base):
    """One row per (worker, track): a portable, indexable filter on a list-valued field."""

    __tablename__ = "worker_tracks"
    __table_args__ = (Index("ix_worker_tracks_track", "track", "worker_id"),)

    worker_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("workers.id", ondelete="CASCADE"), primary_key=True
    )
    track: Mapped[str] = mapped_column(String(20), primary_key=True)


class WorkerTargetGroup(Base):
    __tablename__ = "worker_target_groups"
    __table_args__ = (Index("ix_worker_target_groups_group", "target_group", "worker_id"),)

    worker_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("workers.id", ondelete="CASCADE"), primary_key=True
    )
    target_group: Mapped[str] = mapped_column(String(24), primary_key=True)


class WorkerStatusChange(Base):
    """History of a worker's status: who moved it, from what, to what, why and when."""

    __tablename__ = "worker_status_changes"
    __table_args__ = (Index("ix_worker_status_changes_worker", "worker_id", "changed_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    worker_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("workers.id"))
    #: Null for the row written at registration.
    from_status: Mapped[str | None] = mapped_column(String(12), nullable=True)
    to_status: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str] = mapped_column(String(500))
    #: Account id (token subject) of who changed it, or "system".
    changed_by: Mapped[str] = mapped_column(String(64))
    changed_by_role: Mapped[str | None] = mapped_column(String(12), nullable=True)
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Employment(Base):
    """A worker's attachment to a company; the open row (left_at null) is the current one."""

    __tablename__ = "employments"
    __table_args__ = (
        # At most one current employment per worker, enforced by the database itself.
        Index(
            "uq_employments_current_worker",
            "worker_id",
            unique=True,
            sqlite_where=CURRENT_EMPLOYMENT_WHERE,
            postgresql_where=CURRENT_EMPLOYMENT_WHERE,
        ),
        Index("ix_employments_worker", "worker_id", "joined_at"),
        Index("ix_employments_company", "company_id", "left_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    worker_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("workers.id"))
    company_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("companies.id"))
    #: employee_based (员工制) or agency_based (中介制).
    kind: Mapped[str] = mapped_column(String(16))
    joined_at: Mapped[datetime] = mapped_column(UtcDateTime)
    joined_by: Mapped[str] = mapped_column(String(64))
    left_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    left_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    leave_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)


class _Organisation:
    """Columns shared by companies and training institutions."""

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    #: GB 32100 unified social credit code: public, so stored in the clear (and unique).
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    legal_representative: Mapped[str] = mapped_column(String(50))
    county: Mapped[str] = mapped_column(String(20), index=True)
    address: Mapped[str] = mapped_column(String(300))
    contact_name: Mapped[str] = mapped_column(String(50))
    #: The contact person's mobile is personal data: encrypted, indexed, masked like a worker's.
    contact_phone_encrypted: Mapped[str] = mapped_column(String(200))
    contact_phone_index: Mapped[str] = mapped_column(String(64))
    contact_phone_masked: Mapped[str] = mapped_column(String(11))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Company(_Organisation, Base):
    """A household-service company (家政企业)."""

    __tablename__ = "companies"

    kind: Mapped[str] = mapped_column(String(16))
    honours: Mapped[list[str]] = mapped_column(JSON, default=list)


class Institution(_Organisation, Base):
    """A training institution (培训机构)."""

    __tablename__ = "institutions"

    level: Mapped[str] = mapped_column(String(32))
    tracks: Mapped[list[str]] = mapped_column(JSON, default=list)


class Employer(Base):
    """A household hiring domestic help (雇主)."""

    __tablename__ = "employers"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    phone_encrypted: Mapped[str] = mapped_column(String(200))
    #: One employer record per mobile number.
    phone_index: Mapped[str] = mapped_column(String(64), unique=True)
    phone_masked: Mapped[str] = mapped_column(String(11))
    city: Mapped[str] = mapped_column(String(16), index=True)
    district: Mapped[str | None] = mapped_column(String(64), nullable=True)
    address: Mapped[str | None] = mapped_column(String(300), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Partner(Base):
    """A partner platform: a recruitment platform or an agency using the API."""

    __tablename__ = "partners"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    credit_code: Mapped[str | None] = mapped_column(String(18), unique=True, nullable=True)
    city: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(24))
    contact_name: Mapped[str] = mapped_column(String(50))
    contact_phone_encrypted: Mapped[str] = mapped_column(String(200))
    contact_phone_index: Mapped[str] = mapped_column(String(64))
    contact_phone_masked: Mapped[str] = mapped_column(String(11))
    webhook_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    #: active or suspended.
    status: Mapped[str] = mapped_column(String(12), default="active")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Consent(Base):
    """A worker's consent to share one scope of data with one recipient until it expires.

    Withdrawal sets ``withdrawn_at``; rows are never deleted, so the record of what was
    consented to, and when, survives.
    """

    __tablename__ = "consents"
    __table_args__ = (Index("ix_consents_worker", "worker_id", "scope", "recipient"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    worker_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("workers.id"))
    scope: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(128))
    granted_at: Mapped[datetime] = mapped_column(UtcDateTime)
    granted_by: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    withdrawn_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
