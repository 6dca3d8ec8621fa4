"""Events produced by the credit service (certificates and credit records)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import AwareDatetime, Field

from contracts.common import AggregateEvent, Id, Track

#: A training certificate, the home-service worker certificate (家政服务员证), or the
#: 肇庆市技术能手 title certificate awarded to a skill competition's winner (added).
CertificateKind = Literal["training", "home_service", "skill_title"]


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


#: The four kinds of party that have a credit file.
PartyKind = Literal["worker", "company", "institution", "employer"]

#: Credit levels, best first; the policy says which score each needs.
CreditLevel = Literal["A", "B", "C", "D"]

#: 诚信红名单 (red) or 失信黑名单 (black).
ListKind = Literal["red", "black"]


class CreditLevelChanged(AggregateEvent):
    """A party's credit level changed (its score is recomputed whenever its records change)."""

    event_type = "jiasao.credit.level.changed.v1"
    subject = "credit.level.changed"
    producer = "credit"
    aggregate_field = "party_id"

    party_id: Id = Field(description="Worker, company, institution or employer id")
    party_kind: PartyKind = Field(description="What kind of party the id names")
    level: CreditLevel = Field(description="The new level")
    previous_level: CreditLevel | None = Field(description="The level before; null if first")
    score: int = Field(description="The score that gave the level")
    previous_score: int | None = Field(description="The score before; null if first")
    policy_version: int = Field(ge=1, description="Version of the credit policy that computed it")
    changed_at: AwareDatetime = Field(description="When the level was recomputed")


class _ListingEvent(AggregateEvent):
    """What every red/black list event carries."""

    producer = "credit"
    aggregate_field = "party_id"

    entry_id: Id = Field(description="Id of the list entry")
    list_kind: ListKind = Field(description="red (诚信红名单) or black (失信黑名单)")
    party_id: Id = Field(description="Worker, company, institution or employer listed")
    party_kind: PartyKind = Field(description="What kind of party the id names")
    basis: Literal["automatic", "officer"] = Field(
        description="Entered by the policy's rule, or by an officer's decision"
    )
    legal_basis: str | None = Field(
        max_length=500, description="Legal basis an officer cited; null for automatic entries"
    )
    starts_at: AwareDatetime = Field(description="Start of the publication period")
    publish_until: AwareDatetime = Field(description="End of the publication period")
    policy_version: int = Field(ge=1, description="Credit policy version in force at entry")


class CreditListEntryAdded(_ListingEvent):
    """A party entered the red or the black list. While listed: black keeps a worker from
    candidates and the home-service certificate; red ranks first with the guarantee mark."""

    event_type = "jiasao.credit.list_entry.added.v1"
    subject = "credit.list_entry.added"


class CreditListEntryRemoved(_ListingEvent):
    """A party left the red or black list: publication period over, repair approved, level
    recovered (automatic entries) or an officer ended it."""

    event_type = "jiasao.credit.list_entry.removed.v1"
    subject = "credit.list_entry.removed"

    ended_at: AwareDatetime = Field(description="When the entry ended")
    end_reason: Literal["period_ended", "repaired", "level_changed", "officer"] = Field(
        description="Why it ended"
    )


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


class _InsuranceNotice(AggregateEvent):
    producer = "credit"
    aggregate_field = "insurance_policy_id"

    insurance_policy_id: Id = Field(description="Id of the insurance policy")
    policy_number: str = Field(min_length=1, max_length=24, description="Policy number")
    worker_id: Id = Field(description="Insured worker")
    card_id: Id = Field(description="The card the cover comes with")
    ends_on: date = Field(description="Last day of cover")


class InsuranceRenewalDue(_InsuranceNotice):
    """A card holder's accident cover ends within the card policy's warning period and no
    following policy exists yet: a renewal reminder (once per policy)."""

    event_type = "jiasao.credit.insurance.renewal_due.v1"
    subject = "credit.insurance.renewal_due"


class InsuranceExpired(_InsuranceNotice):
    """A policy's period of cover ended (once per policy); ``renewed`` says whether a following
    policy continues the cover, false when the holder is now uninsured."""

    event_type = "jiasao.credit.insurance.expired.v1"
    subject = "credit.insurance.expired"

    renewed: bool = Field(description="A following policy continues the cover")


class InsuranceClaimRecorded(AggregateEvent):
    """A claim under a card holder's accident insurance was recorded, or its status moved on
    (reported → accepted or rejected, accepted → paid)."""

    event_type = "jiasao.credit.insurance.claim_recorded.v1"
    subject = "credit.insurance.claim_recorded"
    producer = "credit"
    aggregate_field = "claim_id"

    claim_id: Id = Field(description="Id of the claim")
    insurance_policy_id: Id = Field(description="The policy claimed under")
    worker_id: Id = Field(description="Insured worker")
    incident_date: date = Field(description="Day of the incident")
    status: Literal["reported", "accepted", "rejected", "paid"] = Field(
        description="Status of the claim after this change"
    )
    changed_at: AwareDatetime = Field(description="When the claim was recorded or changed")
