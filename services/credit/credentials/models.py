"""Tables of the home-service card, its eligibility policy, the facts it is judged on,
accident insurance, and the verifiable credentials issued (with their status list index)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from services.credit.models import Base
from services.kit.types import UtcDateTime


class CardPolicy(Base):
    """A version of the home-service card's eligibility and insurance rules (DESIGN §7)."""

    __tablename__ = "card_policies"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    rules: Mapped[dict[str, Any]] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CardWorkerFacts(Base):
    """What the card's eligibility is judged on, from registry events (and officers' holds)."""

    __tablename__ = "card_worker_facts"

    worker_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    county: Mapped[str | None] = mapped_column(String(20), nullable=True, index=True)
    registry_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    tracks: Mapped[list[str]] = mapped_column(JSON, default=list)
    identity_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    health_check_valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    no_criminal_record_valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    company_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    blacklisted: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Registry timestamps of the state reflected; older events do not overwrite newer ones.
    profile_as_of: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    employment_as_of: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    status_as_of: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    #: The latest published star level (rating events; provisional levels are not kept).
    stars: Mapped[int | None] = mapped_column(Integer, nullable=True)
    stars_year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    stars_as_of: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class HomeServiceCard(Base):
    """A worker's 居家上门服务证: one per worker, suspended, reinstated and renewed in place."""

    __tablename__ = "home_service_cards"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    #: Unguessable code in the card's QR code (128 bits, base64url).
    verify_code: Mapped[str] = mapped_column(String(32), unique=True)
    worker_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    #: ``active``, ``suspended`` or ``revoked``; expiry is computed from valid_until.
    state: Mapped[str] = mapped_column(String(12))
    #: Why suspended: ``conditions`` (lapsed; lifted automatically) or ``officer`` (by hand).
    suspension: Mapped[str | None] = mapped_column(String(12), nullable=True)
    state_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    #: An officer's reason for issuing without an employing company.
    exception_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    policy_version: Mapped[int] = mapped_column(Integer)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    valid_until: Mapped[date] = mapped_column(Date)
    credential_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    #: Whether CardStatusChanged has told that valid_until passed (reset on renewal).
    expiry_announced: Mapped[bool] = mapped_column(Boolean, default=False)
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)


class IssuedCredential(Base):
    """A signed VC 2.0 document and its place in the status lists."""

    __tablename__ = "issued_credentials"
    __table_args__ = (Index("ix_issued_credentials_subject", "kind", "subject_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    #: ``training`` (subject: a certificate) or ``home_service`` (subject: a card).
    kind: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    worker_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    #: Position in the revocation and the suspension list (list number = index // list size).
    status_index: Mapped[int] = mapped_column(Integer, unique=True)
    document: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)


class InsurancePolicy(Base):
    """Free accident insurance of a card holder, premium paid by the programme."""

    __tablename__ = "insurance_policies"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    policy_number: Mapped[str] = mapped_column(String(24), unique=True)
    card_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    worker_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    insurer: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    premium_cents: Mapped[int] = mapped_column(Integer)
    paid_by: Mapped[str] = mapped_column(String(20))
    policy_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    #: When the renewal reminder (credit.insurance.renewal_due) and the expiry
    #: (credit.insurance.expired) were announced; each happens once.
    reminded_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    expiry_announced_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class InsuranceClaim(Base):
    __tablename__ = "insurance_claims"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    policy_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    incident_date: Mapped[date] = mapped_column(Date)
    incident: Mapped[str] = mapped_column(String(1000))
    #: ``reported``, ``accepted``, ``rejected`` or ``paid``.
    status: Mapped[str] = mapped_column(String(12))
    recorded_by: Mapped[str] = mapped_column(String(128))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)
