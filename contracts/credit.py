"""Events produced by the credit service (certificates and credit records)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import AwareDatetime, Field

from contracts.common import AggregateEvent, Id, Track

#: A training certificate, or the home-service worker certificate (家政服务员证).
CertificateKind = Literal["training", "home_service"]


class CertificateIssued(AggregateEvent):
    """A certificate was issued to a worker."""

    event_type = "jiasao.credit.certificate.issued.v1"
    subject = "credit.certificate.issued"
    producer = "credit"
    aggregate_field = "certificate_id"

    certificate_id: Id = Field(description="Id of the certificate")
    certificate_number: str = Field(
        pattern=r"^ZQJS-[0-9]{4}-[0-9]{6}$",
        description="Public certificate number people read, e.g. ZQJS-2026-000123",
    )
    kind: CertificateKind = Field(description="Kind of certificate")
    worker_id: Id = Field(description="Worker the certificate was issued to")
    track: Track | None = Field(description="Track the certificate covers, if any")
    course_id: Id | None = Field(description="Course it certifies, for training certificates")
    enrollment_id: Id | None = Field(
        description="Enrollment it was issued for, for training certificates"
    )
    issued_at: AwareDatetime = Field(description="When the certificate was issued")
    valid_until: date | None = Field(description="Last day of validity; null = no expiry")
