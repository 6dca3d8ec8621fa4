"""API shapes of cards, card policies, insurance and credentials."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.common import County, Track
from contracts.credit import CardColour, CardState
from services.credit.credentials.policy import CardRules
from services.kit.strict import IsoDate

ConditionName = Literal[
    "registered",
    "identity_verified",
    "registry_standing",
    "health_check",
    "no_criminal_record",
    "training_certificate",
    "company",
    "not_blacklisted",
]


class ConditionOut(BaseModel):
    name: ConditionName
    met: bool
    detail: str = Field(examples=["expired on 2026-11-30"])


class EligibilityOut(BaseModel):
    worker_id: uuid.UUID
    policy_version: int
    eligible: bool
    conditions: list[ConditionOut]


class CardPolicyOut(BaseModel):
    version: int
    rules: CardRules
    note: str
    created_by: str
    created_at: datetime


class CardPolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: CardRules
    note: str = Field(min_length=1, max_length=500, description="Why this version")


class CardRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    worker_id: uuid.UUID
    exception_reason: str | None = Field(
        None,
        min_length=1,
        max_length=500,
        description="Officer's reason to issue without an employing company",
    )


class CardAction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)


class CardOut(BaseModel):
    id: uuid.UUID
    number: str = Field(examples=["ZQJZ-2026-000001"])
    worker_id: uuid.UUID
    state: CardState
    colour: CardColour
    suspension: Literal["conditions", "officer"] | None
    state_reason: str | None
    exception_reason: str | None
    policy_version: int
    issued_at: datetime
    valid_until: date
    verification_url: str | None = Field(
        description="What the card's QR code opens; for the holder and programme staff only"
    )
    version: int


class CardVerification(BaseModel):
    """What scanning a card shows: minimal facts, nothing that identifies beyond them."""

    number: str
    worker_name: str | None = Field(description="Masked: first character then asterisks")
    tracks: list[Track]
    stars: int | None = Field(
        ge=1, le=5, description="The latest published star level (1-5); null if none yet"
    )
    stars_year: int | None = Field(description="The assessment year of ``stars``")
    colour: CardColour
    state: CardState
    valid_until: date


class CardQr(BaseModel):
    verification_url: str = Field(description="What scanning the code opens")
    svg: str = Field(description="The QR code as an inline SVG document")


class CoverageRow(BaseModel):
    county: County
    active_workers: int
    card_holders: int
    coverage: float = Field(description="card_holders / active_workers (0 when none)")


class SweepOut(BaseModel):
    changed: int = Field(description="Cards whose state changed")
    insurance_notices: int = Field(
        0, description="Insurance renewal reminders and expiries announced"
    )


class InsurancePolicyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    policy_number: str
    card_id: uuid.UUID
    worker_id: uuid.UUID
    insurer: str
    starts_on: date
    ends_on: date
    premium_cents: int
    paid_by: Literal["programme"]
    policy_version: int
    reminded_at: datetime | None = Field(
        None, description="When the renewal reminder was sent (credit.insurance.renewal_due)"
    )
    expiry_announced_at: datetime | None = Field(
        None, description="When the end of cover was announced (credit.insurance.expired)"
    )


class ClaimIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    incident_date: IsoDate
    incident: str = Field(min_length=1, max_length=1000)


class ClaimDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["accepted", "rejected", "paid"] = Field(
        description="reported → accepted or rejected; accepted → paid"
    )


class InsuranceClaimOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    policy_id: uuid.UUID
    incident_date: date
    incident: str
    status: Literal["reported", "accepted", "rejected", "paid"]
    recorded_by: str
    recorded_at: datetime


#: A W3C VC 2.0 document or DID document, as JSON.
JsonDocument = dict[str, Any]
