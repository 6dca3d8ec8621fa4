"""Tables of the credit files. Records are never deleted: a correction is a new record that
supersedes the old one, a repair marks it repaired; both keep the history readable."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Index, Integer, PrimaryKeyConstraint, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from services.credit.models import Base
from services.kit.types import UtcDateTime


class CreditPolicy(Base):
    """One version of the credit policy (weights, levels, list and repair periods)."""

    __tablename__ = "credit_policies"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    #: The rules as :class:`services.credit.files.policy.CreditRules` serialises them.
    rules: Mapped[dict[str, Any]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CreditParty(Base):
    """A party's credit file header and its current score, level and their explanation."""

    __tablename__ = "credit_parties"
    __table_args__ = (Index("ix_credit_parties_kind_level", "party_kind", "level"),)

    party_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    party_kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    score: Mapped[int] = mapped_column(Integer)
    level: Mapped[str] = mapped_column(String(1))
    policy_version: Mapped[int] = mapped_column(Integer)
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    #: Every record that moved the score and by how much (policy.explain's output).
    explanation: Mapped[list[dict[str, Any]]] = mapped_column(JSON)


class CreditRecord(Base):
    """A dated positive or negative fact in a party's file."""

    __tablename__ = "credit_records"
    __table_args__ = (Index("ix_credit_records_party", "party_id", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    party_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    party_kind: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(40))
    polarity: Mapped[str] = mapped_column(String(10))
    #: 1 (minor) to 3 (serious); the policy's factor for it multiplies the kind's weight.
    severity: Mapped[int] = mapped_column(Integer)
    #: ``event`` (another service's or our own), ``officer`` or ``complaint``.
    source: Mapped[str] = mapped_column(String(20))
    #: What produced it: an event's subject and id, a complaint id, an officer's account.
    source_ref: Mapped[str] = mapped_column(String(200))
    #: Makes an event-derived record take effect once, whatever path the event took.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), nullable=True, unique=True)
    reason: Mapped[str] = mapped_column(Text)
    effective_from: Mapped[datetime] = mapped_column(UtcDateTime)
    effective_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    #: Negative records are published (and weigh) until then, unless repaired earlier.
    publish_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    supersedes_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    superseded_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    repaired_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    #: Withdrawn without replacement: an upheld dispute, or a rating that no longer counts.
    withdrawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    recorded_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CreditListEntry(Base):
    """A red- or black-list entry with its publication period."""

    __tablename__ = "credit_list_entries"
    __table_args__ = (Index("ix_credit_list_entries_list", "list_kind", "ended_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    #: Random code the public list shows instead of walkable ids.
    public_code: Mapped[str] = mapped_column(String(24), unique=True)
    list_kind: Mapped[str] = mapped_column(String(10))
    party_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    party_kind: Mapped[str] = mapped_column(String(20))
    basis: Mapped[str] = mapped_column(String(20))
    legal_basis: Mapped[str | None] = mapped_column(String(500), nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    record_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    publish_until: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    end_reason: Mapped[str | None] = mapped_column(String(20), nullable=True)
    policy_version: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(128))


class CreditComplaint(Base):
    """A complaint (投诉) against a party, or a party's dispute of a record in its file."""

    __tablename__ = "credit_complaints"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    complainant_role: Mapped[str] = mapped_column(String(20))
    complainant_party_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    complainant_subject: Mapped[str] = mapped_column(String(128), index=True)
    target_kind: Mapped[str] = mapped_column(String(20))
    target_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    #: For a dispute: the record disputed.
    record_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    category: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    assignee: Mapped[str | None] = mapped_column(String(128), nullable=True)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    decision_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    resulting_record_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    policy_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CreditComplaintStep(Base):
    """One step of a complaint's history: filed, assigned, evidence, decided."""

    __tablename__ = "credit_complaint_steps"
    __table_args__ = (Index("ix_credit_complaint_steps_complaint", "complaint_id", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    complaint_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    step: Mapped[str] = mapped_column(String(20))
    actor_role: Mapped[str] = mapped_column(String(20))
    actor_subject: Mapped[str] = mapped_column(String(128))
    note: Mapped[str] = mapped_column(Text)
    #: Evidence attachment: name, media type, SHA-256 and where it is stored.
    attachment: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class CreditRepair(Base):
    """A credit repair (信用修复) application for one negative record."""

    __tablename__ = "credit_repairs"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    record_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    party_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    party_kind: Mapped[str] = mapped_column(String(20))
    applicant_subject: Mapped[str] = mapped_column(String(128))
    proof: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    decided_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    decision_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    policy_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CreditMandatoryCheck(Base):
    """A worker's mandatory check (health certificate, no-criminal-record certificate) as the
    registry last announced it; an expired one puts a negative record in the file."""

    __tablename__ = "credit_mandatory_checks"
    __table_args__ = (PrimaryKeyConstraint("party_id", "check_kind"),)

    party_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    #: ``health_check`` or ``no_criminal_record``.
    check_kind: Mapped[str] = mapped_column(String(30))
    #: Last day valid (China Standard Time); null = none on file.
    valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    #: The registry's timestamp of the state this row reflects.
    as_of: Mapped[datetime] = mapped_column(UtcDateTime)
    #: The ``mandatory_check_expired`` record while the check is expired.
    expired_record_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
