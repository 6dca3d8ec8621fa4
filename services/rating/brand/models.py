"""Brand tables, in the rating service's database (own metadata, same migrations chain)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Index, Integer, LargeBinary, String, UniqueConstraint, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.kit.types import UtcDateTime


class BrandBase(DeclarativeBase):
    pass


class BrandCase(BrandBase):
    """A typical case or model worker: a draft until an officer publishes it."""

    __tablename__ = "brand_cases"
    __table_args__ = (Index("ix_brand_cases_kind_state", "kind", "state"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))  # case | model_worker
    #: draft | published | withdrawn
    state: Mapped[str] = mapped_column(String(10))
    #: {"zh-CN": ..., "zh-HK": ..., "en": ...}; zh-CN always present.
    title: Mapped[dict[str, str]] = mapped_column(JSON)
    body: Mapped[dict[str, str]] = mapped_column(JSON)
    county: Mapped[str] = mapped_column(String(12))
    source: Mapped[str] = mapped_column(String(24))
    worker_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    company_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    #: The accepted nomination this draft came from.
    nomination_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    #: Grows on every change; part of the ETag.
    version: Mapped[int] = mapped_column(Integer, default=1)


class BrandCasePhoto(BrandBase):
    """The one photo of a case (kept apart so lists never load image bytes)."""

    __tablename__ = "brand_case_photos"

    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    media_type: Mapped[str] = mapped_column(String(20))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class BrandNomination(BrandBase):
    """A nomination by open call (worker, employer) or a company's recommendation."""

    __tablename__ = "brand_nominations"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))
    source: Mapped[str] = mapped_column(String(24))  # open_call | company_recommendation
    title: Mapped[dict[str, str]] = mapped_column(JSON)
    body: Mapped[dict[str, str]] = mapped_column(JSON)
    county: Mapped[str] = mapped_column(String(12))
    worker_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    company_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    #: Who nominated, from the token: account id, role and party.
    nominated_by: Mapped[str] = mapped_column(String(64))
    nominator_role: Mapped[str] = mapped_column(String(12))
    nominator_party_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    #: pending | accepted | rejected
    status: Mapped[str] = mapped_column(String(10), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decision_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    case_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)


class BrandWorker(BrandBase):
    """What a public roll may show of a worker (masked name, county), from registry events.
    Never the full name."""

    __tablename__ = "brand_workers"

    worker_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    masked_name: Mapped[str] = mapped_column(String(200))
    county: Mapped[str] = mapped_column(String(12))
    #: Time of the registry event that set this; an older one arriving late is ignored.
    as_of: Mapped[datetime] = mapped_column(UtcDateTime)


class SkillMaster(BrandBase):
    """One 技术能手 award (training.competition.awarded), one row per award."""

    __tablename__ = "brand_skill_masters"
    __table_args__ = (UniqueConstraint("award_id", name="uq_brand_skill_masters_award"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    award_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    competition_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    competition_title: Mapped[str] = mapped_column(String(200))
    worker_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    track: Mapped[str] = mapped_column(String(20))
    rank: Mapped[int] = mapped_column(Integer)
    year: Mapped[int] = mapped_column(Integer, index=True)
    awarded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class TopCompany(BrandBase):
    """One of a campaign year's 百户十强 companies; a year is replaced as a whole."""

    __tablename__ = "brand_top_companies"
    __table_args__ = (UniqueConstraint("year", "rank", name="uq_brand_top_companies_rank"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    rank: Mapped[int] = mapped_column(Integer)
    company_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    name: Mapped[dict[str, str]] = mapped_column(JSON)
    citation: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)
    county: Mapped[str] = mapped_column(String(12))
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CountyBrand(BrandBase):
    """A county's sub-brand in the city's brand matrix."""

    __tablename__ = "brand_counties"
    __table_args__ = (UniqueConstraint("county", name="uq_brand_counties_county"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    county: Mapped[str] = mapped_column(String(12))
    name: Mapped[dict[str, str]] = mapped_column(JSON)
    slogan: Mapped[dict[str, str]] = mapped_column(JSON)
    description: Mapped[dict[str, str]] = mapped_column(JSON)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)
