"""Tables of government agencies as parties: the agencies, their signing keys and their
data-sharing agreements (the only thing that grants an agency any data)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from services.kit.types import UtcDateTime
from services.registry.base import Base


class Agency(Base):
    """A government agency or public employment service platform we exchange data with."""

    __tablename__ = "agencies"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    #: hrss, commerce, market_regulation, civil_affairs, employment_service.
    kind: Mapped[str] = mapped_column(String(30))
    #: province, city or county.
    level: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(200))
    #: GB 32100 unified social credit code (public information).
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    #: active or suspended (a suspended agency's clients get no token, its reads stop).
    status: Mapped[str] = mapped_column(String(10))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AgencyKey(Base):
    """An Ed25519 public key with which an agency signs the files it sends us."""

    __tablename__ = "agency_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("agencies.id", name="fk_agency_keys_agency_id"), index=True
    )
    #: The public JWK (kty OKP, crv Ed25519, x).
    jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class SharingAgreement(Base):
    """A data-sharing agreement: which datasets (and which fields of each) an agency may
    receive or send, on what legal basis, for what purpose, kept how long, valid when."""

    __tablename__ = "sharing_agreements"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("agencies.id", name="fk_sharing_agreements_agency_id"), index=True
    )
    #: The agreement's own number, as written on the paper (e.g. 肇人社数共〔2026〕3号).
    reference: Mapped[str] = mapped_column(String(100))
    legal_basis: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(String(500))
    #: dataset → the fields of it the agreement names (PIPL minimisation).
    datasets: Mapped[dict[str, list[str]]] = mapped_column(JSON)
    retention_days: Mapped[int] = mapped_column(Integer)
    valid_from: Mapped[datetime] = mapped_column(UtcDateTime)
    valid_until: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    #: Ended early by an officer (the agreement then grants nothing).
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class AgencyRead(Base):
    """One feed page an agency took: the range of feed entries it received, so a worker can
    see which agencies received changes of their record (and the audit entry that proves it)."""

    __tablename__ = "agency_reads"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    dataset: Mapped[str] = mapped_column(String(40))
    #: The feed entries delivered: seq in (after_seq, last_seq].
    after_seq: Mapped[int] = mapped_column(BigInteger)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    fields: Mapped[list[str]] = mapped_column(JSON)
    purpose: Mapped[str] = mapped_column(String(500))
    audit_hash: Mapped[str] = mapped_column(String(64))
    read_at: Mapped[datetime] = mapped_column(UtcDateTime)


Index("ix_agency_reads_range", AgencyRead.dataset, AgencyRead.after_seq, AgencyRead.last_seq)
