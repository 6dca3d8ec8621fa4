"""Credit API shapes."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, Field

from contracts.common import Track
from contracts.credit import CertificateKind


class CertificateOut(BaseModel):
    id: uuid.UUID
    number: str = Field(examples=["ZQJS-2026-000123"])
    kind: CertificateKind
    worker_id: uuid.UUID
    worker_name: str | None = Field(description="Null until the registry's event has arrived")
    worker_id_card: str | None = Field(description="Masked resident ID number, if known")
    track: Track | None
    course_id: uuid.UUID | None
    course_title: str | None
    training_type: str | None
    enrollment_id: uuid.UUID | None
    issued_at: datetime
    valid_until: date | None
    revoked_at: datetime | None
    valid: bool = Field(description="Not revoked and not past valid_until (China time)")
    version: int


class CertificateVerification(BaseModel):
    """What anyone may learn from a certificate number: enough to check it, little more."""

    number: str
    kind: CertificateKind
    track: Track | None
    worker_name: str | None = Field(description="Masked: first character then asterisks")
    issued_at: datetime
    valid_until: date | None
    valid: bool
