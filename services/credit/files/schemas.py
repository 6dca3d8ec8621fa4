"""API shapes of the credit files."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.credit import CreditLevel, ListKind, PartyKind
from services.credit.files.policy import CreditRules, NegativeKind, RecordKind
from services.kit.strict import IsoDateTime, WholeNumber


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PolicyOut(BaseModel):
    version: int
    rules: CreditRules
    reason: str
    created_by: str
    created_at: datetime


class PolicyIn(Strict):
    rules: CreditRules
    reason: str = Field(min_length=1, max_length=500, description="Why the policy changes")


class PolicyCreated(PolicyOut):
    recomputed: int = Field(description="Files recomputed under the new version")
    levels_changed: int = Field(description="Files whose level changed")


class ExplanationLine(BaseModel):
    record_id: uuid.UUID
    kind: RecordKind
    severity: int | None = Field(None, description="The record's severity (1-3)")
    weight: int | None = Field(None, description="The policy's weight of the kind")
    factor: int | None = Field(None, description="The policy's factor of the severity")
    points: int = Field(
        description="What the record added to (or took from) the score: weight × factor, "
        "0 when capped"
    )
    capped: bool = Field(description="Beyond the policy's max_counted for its kind: 0 points")


class ListingOut(BaseModel):
    id: uuid.UUID
    public_code: str
    list_kind: ListKind
    basis: Literal["automatic", "officer"]
    legal_basis: str | None
    reason: str
    record_id: uuid.UUID | None
    starts_at: datetime
    publish_until: datetime
    ended_at: datetime | None
    end_reason: str | None
    policy_version: int


class CreditSummary(BaseModel):
    """A party's score and level with the records that made them."""

    party_id: uuid.UUID
    party_kind: PartyKind
    name: str | None
    score: int
    level: CreditLevel
    base_score: int = Field(description="The policy's score of an empty file")
    explanation: list[ExplanationLine] = Field(
        description="base_score plus the sum of points equals score, exactly"
    )
    policy_version: int = Field(description="Credit policy version that computed the score")
    computed_at: datetime
    lists: list[ListingOut] = Field(description="Red/black list entries in publication now")
    guarantee_mark: bool = Field(description="Red-listed: trustworthy, government-guaranteed")


class RecordOut(BaseModel):
    id: uuid.UUID
    party_id: uuid.UUID
    party_kind: PartyKind
    kind: RecordKind
    polarity: Literal["positive", "negative"]
    severity: int
    source: Literal["event", "officer", "complaint"]
    source_ref: str
    reason: str
    effective_from: datetime
    effective_until: datetime | None
    publish_until: datetime | None
    supersedes_id: uuid.UUID | None
    superseded_by_id: uuid.UUID | None
    repaired_at: datetime | None
    withdrawn_at: datetime | None
    created_at: datetime


class RecordIn(Strict):
    """An officer's record, with its reason; ``supersedes_id`` makes it a correction."""

    kind: RecordKind
    severity: WholeNumber = Field(1, ge=1, le=3)
    reason: str = Field(min_length=1, max_length=2000)
    effective_from: IsoDateTime | None = Field(
        None, description="When the fact took effect (not in the future); default now"
    )
    effective_until: IsoDateTime | None = None
    supersedes_id: uuid.UUID | None = Field(None, description="The record this one corrects")


class ListingIn(Strict):
    list_kind: ListKind
    legal_basis: str = Field(min_length=1, max_length=500)
    reason: str = Field(min_length=1, max_length=2000)
    record_id: uuid.UUID | None = Field(None, description="The record the decision rests on")


class ListingEnd(Strict):
    reason: str = Field(min_length=1, max_length=2000)


class PublicListing(BaseModel):
    """An entry of the public red or black list: no walkable ids, names of people masked."""

    public_code: str
    party_kind: PartyKind
    name: str | None = Field(description="Organisations in full; people masked")
    basis: Literal["automatic", "officer"]
    legal_basis: str | None
    starts_at: datetime
    publish_until: datetime


class Attachment(Strict):
    name: str = Field(min_length=1, max_length=200)
    media_type: str = Field(min_length=3, max_length=100, pattern=r"^[\w.+-]+/[\w.+-]+$")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    url: str = Field(min_length=1, max_length=500, description="Where the file is stored")


ComplaintCategory = Literal[
    "service_quality", "fraud", "contract_breach", "misconduct", "record_dispute", "other"
]


class ComplaintIn(Strict):
    target_kind: PartyKind
    target_id: uuid.UUID
    category: ComplaintCategory = "other"
    description: str = Field(min_length=1, max_length=2000)
    record_id: uuid.UUID | None = Field(
        None, description="A dispute: the record of your own file you contest"
    )


class ComplaintStepOut(BaseModel):
    step: Literal["filed", "assigned", "evidence", "decided"]
    actor_role: str
    note: str
    attachment: Attachment | None
    at: datetime


class ComplaintOut(BaseModel):
    id: uuid.UUID
    complainant_role: str
    target_kind: PartyKind
    target_id: uuid.UUID
    record_id: uuid.UUID | None
    category: ComplaintCategory
    description: str
    status: Literal["filed", "assigned", "investigating", "upheld", "rejected"]
    assignee: str | None
    due_at: datetime
    overdue: bool = Field(description="Open past its decision deadline")
    decided_at: datetime | None
    decision_reason: str | None
    resulting_record_id: uuid.UUID | None
    policy_version: int
    created_at: datetime
    history: list[ComplaintStepOut]


class AssignIn(Strict):
    assignee: str = Field(min_length=1, max_length=128, description="Officer's account")


class EvidenceIn(Strict):
    note: str = Field(min_length=1, max_length=2000)
    attachment: Attachment | None = None


class ComplaintDecisionIn(Strict):
    outcome: Literal["upheld", "rejected"]
    reason: str = Field(min_length=1, max_length=2000)
    record_kind: NegativeKind = Field(
        "complaint_upheld", description="Kind of the negative record an upheld complaint adds"
    )
    severity: WholeNumber = Field(1, ge=1, le=3)
    occurred_at: IsoDateTime | None = Field(
        None, description="When the misconduct happened (not in the future); default now"
    )


class RepairIn(Strict):
    record_id: uuid.UUID
    proof: str = Field(min_length=1, max_length=2000)


class RepairOut(BaseModel):
    id: uuid.UUID
    record_id: uuid.UUID
    party_id: uuid.UUID
    party_kind: PartyKind
    proof: str
    status: Literal["pending", "approved", "rejected"]
    decision_reason: str | None
    decided_at: datetime | None
    policy_version: int
    created_at: datetime


class RepairDecisionIn(Strict):
    approve: bool = Field(strict=True)
    reason: str = Field(min_length=1, max_length=2000)
