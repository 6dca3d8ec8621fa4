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


#: Live status of a home-service card: green (valid), yellow (something lapses soon), red.
CardColour = Literal["green", "yellow", "red"]
#: Stored state of a home-service card (expiry is computed from valid_until).
CardState = Literal["active", "suspended", "revoked"]


class CardIssued(AggregateEvent):
    """A worker was issued the free home-service certificate (居家上门服务证)."""

    event_type = "jiasao.credit.card.issued.v1"
    subject = "credit.card.issued"
    producer = "credit"
    aggregate_field = "card_id"

    card_id: Id = Field(description="Id of the card")
    card_number: str = Field(
        pattern=r"^ZQJZ-[0-9]{4}-[0-9]{6}$", description="Public card number, e.g. ZQJZ-2026-000001"
    )
    worker_id: Id = Field(description="Holder of the card")
    policy_version: int = Field(ge=1, description="Card policy version the eligibility used")
    issued_at: AwareDatetime = Field(description="When the card was issued")
    valid_until: date = Field(description="Last day of validity (China time)")
    by_exception: bool = Field(description="Issued by an officer's exception (no company)")


class CardStatusChanged(AggregateEvent):
    """A card was suspended, reinstated, revoked or renewed; carries its whole state."""

    event_type = "jiasao.credit.card.status_changed.v1"
    subject = "credit.card.status_changed"
    producer = "credit"
    aggregate_field = "card_id"

    card_id: Id = Field(description="Id of the card")
    worker_id: Id = Field(description="Holder of the card")
    state: CardState = Field(description="State after the change")
    colour: CardColour = Field(description="Live status colour after the change")
    reason: str = Field(min_length=1, max_length=500, description="Why it changed")
    valid_until: date = Field(description="Last day of validity after the change")
    changed_at: AwareDatetime = Field(description="When it changed")


class InsuranceEnrolled(AggregateEvent):
    """A card holder was enrolled in the programme's free accident insurance."""

    event_type = "jiasao.credit.insurance.enrolled.v1"
    subject = "credit.insurance.enrolled"
    producer = "credit"
    aggregate_field = "insurance_policy_id"

    insurance_policy_id: Id = Field(description="Id of the insurance policy")
    policy_number: str = Field(min_length=1, max_length=24, description="Policy number")
    worker_id: Id = Field(description="Insured worker")
    card_id: Id = Field(description="The card the cover comes with")
    insurer: str = Field(min_length=1, max_length=200, description="Insurance company")
    starts_on: date = Field(description="First day of cover")
    ends_on: date = Field(description="Last day of cover")
    premium_cents: int = Field(ge=0, description="Premium paid by the programme, in fen")
