"""Matching API shapes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import get_args

from pydantic import BaseModel, Field

from contracts.common import County, Track
from contracts.credit import CertificateKind

#: Tracks in the programme's canonical order, for stable output.
TRACK_ORDER: tuple[str, ...] = get_args(Track)


class CandidateCertificate(BaseModel):
    """A certificate as a candidate listing shows it (credit's CertificateOut is the full one)."""

    number: str = Field(examples=["ZQJS-2026-000123"])
    track: Track | None
    kind: CertificateKind
    issued_at: datetime
    valid_until: date | None = Field(description="Last day of validity; null = no expiry")


class CandidateOut(BaseModel):
    worker_id: uuid.UUID
    name: str
    county: County
    stars: int | None = Field(
        ge=1,
        le=5,
        description="Latest published star level (provisional levels of an open year are not "
        "taken); null if none was published",
    )
    rating_year: int | None = Field(description="Year the stars are for")
    tracks: list[Track] = Field(description="Declared tracks and tracks of valid certificates")
    certificates: list[CandidateCertificate] = Field(description="All certificates, oldest first")


class CandidateListItem(CandidateOut):
    certified_in_track: bool = Field(description="Holds a valid certificate in the listed track")
