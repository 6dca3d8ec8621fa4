"""Credit API shapes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from contracts.common import Track
from contracts.credit import CertificateKind


class CertificateOut(BaseModel):
    """A certificate as its reader may see it: what the mask hides is null, not partly there."""

    id: uuid.UUID
    number: str = Field(examples=["ZQJS-2026-000123"])
    check_code: str | None = Field(
        examples=["7K3M9QTX"],
        description="Printed on the certificate; with the number it lets anyone verify it. "
        "Shown only to the holder and to programme staff, null for everyone else",
    )
    kind: CertificateKind
    worker_id: uuid.UUID
    worker_name: str | None = Field(description="Null until the registry's event has arrived")
    worker_id_card: str | None = Field(
        description="Masked resident ID number, if known; for the holder, their company and "
        "programme staff only (null for employers and partners)"
    )
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


class AccessLogEntry(BaseModel):
    """One read of a worker's credit data by a company, employer or partner platform."""

    id: uuid.UUID
    reader_role: str = Field(examples=["partner"])
    reader_party_id: uuid.UUID | None = Field(
        description="The company, employer or partner platform that read"
    )
    reader_subject: str = Field(description="The reading account, or the partner's client id")
    resource: Literal["certificate", "certificates", "credit", "credit_file", "credit_records"] = (
        Field(
            description="One certificate, a page of the worker's certificates, the credit "
            "summary, the credit file, or a page of its records"
        )
    )
    certificate_id: uuid.UUID | None = Field(description="The certificate, for single reads")
    items: int = Field(description="How many certificates the answer carried")
    read_at: datetime
