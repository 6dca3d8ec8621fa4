"""Events produced by the registry: workers, organisations, employment and consent."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, WithJsonSchema, model_validator

from contracts.common import (
    Actor,
    AggregateEvent,
    City,
    County,
    CreditCode,
    EmploymentKind,
    Id,
    IdCardMasked,
    Language,
    Name,
    PhoneMasked,
    Track,
    WorkerStatus,
)

#: Employment-support target groups ("4050": women over 40 and men over 50 seeking work).
TargetGroup = Literal["poverty_alleviation", "4050", "left_behind_woman", "rural_surplus_labour"]

#: Demonstration level of a training institution.
InstitutionLevel = Literal["provincial_demonstration", "municipal_demonstration", "ordinary"]

#: What kind of partner a partner platform is.
PartnerKind = Literal["recruitment_platform", "agency"]

#: A masked mobile number, or null. The schema keeps the mask pattern at the top level (a JSON
#: Schema ``pattern`` constrains strings only, so null still validates), as for required ones.
PhoneMaskedOrNull = Annotated[
    PhoneMasked | None,
    WithJsonSchema({"type": ["string", "null"], "pattern": r"^[0-9]{3}\*{4}[0-9]{4}$"}),
]

#: An honour or title awarded to a company.
Honour = Annotated[str, Field(min_length=1, max_length=200)]


class WorkerRegistered(AggregateEvent):
    """A domestic worker's record was created in the registry."""

    event_type = "jiasao.registry.worker.registered.v1"
    subject = "registry.worker.registered"
    producer = "registry"
    aggregate_field = "worker_id"

    worker_id: Id = Field(description="Id of the worker")
    name: Name = Field(description="Worker's full name")
    gender: Literal["male", "female"] = Field(description="Gender as on the ID card")
    birth_date: date | None = Field(
        default=None,
        description="Deprecated, no longer sent: beside the masked number it rebuilt the ID "
        "number; see birth_year",
    )
    birth_year: int | None = Field(
        default=None, ge=1900, le=2100, description="Year of birth (added, optional)"
    )
    county: County = Field(description="County of residence")
    id_card_masked: IdCardMasked = Field(
        description="Masked resident ID number, last four only, e.g. **************123X; "
        "never the plaintext"
    )
    phone_masked: PhoneMasked = Field(
        description="Masked mobile number, e.g. 138****5678; never the plaintext"
    )
    tracks: list[Track] = Field(description="Service tracks the worker works in")
    languages: list[Language] = Field(description="Languages and dialects spoken")
    status: WorkerStatus = Field(description="Status right after registration")
    company_id: Id | None = Field(description="Employing company, or null if independent")
    registered_at: AwareDatetime = Field(description="When the record was created")
    education: str | None = Field(
        default=None,
        max_length=64,
        description="Highest education, e.g. junior_high; null if unknown (added, optional)",
    )
    target_groups: list[TargetGroup] = Field(
        default_factory=list,
        description="Employment-support target groups the worker belongs to (added, optional)",
    )
    health_check_valid_until: date | None = Field(
        default=None,
        description="Last day the health certificate is valid; null if none (added, optional)",
    )
    no_criminal_record_valid_until: date | None = Field(
        default=None,
        description=(
            "Last day the no-criminal-record certificate is valid; null if none (added, optional)"
        ),
    )


class WorkerUpdated(AggregateEvent):
    """A worker's profile changed; carries the whole current profile, not a diff."""

    event_type = "jiasao.registry.worker.updated.v1"
    subject = "registry.worker.updated"
    producer = "registry"
    aggregate_field = "worker_id"

    worker_id: Id = Field(description="Id of the worker")
    name: Name = Field(description="Worker's full name")
    county: County = Field(description="County of residence")
    tracks: list[Track] = Field(description="Service tracks the worker works in")
    languages: list[Language] = Field(description="Languages and dialects spoken")
    education: str | None = Field(
        max_length=64, description="Highest education, e.g. junior_high; null if unknown"
    )
    target_groups: list[TargetGroup] = Field(
        description="Employment-support target groups the worker belongs to"
    )
    health_check_valid_until: date | None = Field(
        description="Last day the health certificate is valid; null if none on file"
    )
    no_criminal_record_valid_until: date | None = Field(
        description="Last day the no-criminal-record certificate is valid; null if none on file"
    )
    updated_at: AwareDatetime = Field(description="When the profile changed")
    phone_masked: PhoneMaskedOrNull = Field(
        default=None,
        description="Masked mobile number after the change; null if not sent (added, optional)",
    )
    status: WorkerStatus | None = Field(
        default=None, description="Status at the time of the change (added, optional)"
    )
    company_id: Id | None = Field(
        default=None,
        description="Current employing company, or null if independent (added, optional)",
    )


class WorkerVerified(AggregateEvent):
    """An officer (or an automatic check) confirmed a worker's identity documents."""

    event_type = "jiasao.registry.worker.verified.v1"
    subject = "registry.worker.verified"
    producer = "registry"
    aggregate_field = "worker_id"

    worker_id: Id = Field(description="Id of the worker")
    verified_by: Actor = Field(description="Account id of the verifier, or 'system'")
    verified_at: AwareDatetime = Field(description="When the worker was verified")


class WorkerStatusChanged(AggregateEvent):
    """A worker's status moved from one life-cycle state to another."""

    event_type = "jiasao.registry.worker.status_changed.v1"
    subject = "registry.worker.status_changed"
    producer = "registry"
    aggregate_field = "worker_id"

    worker_id: Id = Field(description="Id of the worker")
    from_status: WorkerStatus = Field(description="Status before the change")
    to_status: WorkerStatus = Field(description="Status after the change")
    changed_by: Actor = Field(description="Account id of who changed it, or 'system'")
    reason: str = Field(min_length=1, max_length=500, description="Why the status changed")
    changed_at: AwareDatetime = Field(description="When the status changed")


class EmploymentChanged(AggregateEvent):
    """A worker joined, moved between or left household-service companies.

    The aggregate is the worker: one worker has at most one employer at a time.
    """

    event_type = "jiasao.registry.employment.changed.v1"
    subject = "registry.employment.changed"
    producer = "registry"
    aggregate_field = "worker_id"

    worker_id: Id = Field(description="Id of the worker")
    company_id: Id | None = Field(description="New company, or null if the worker left")
    previous_company_id: Id | None = Field(description="Company before the change, if any")
    kind: EmploymentKind | None = Field(
        description="How the worker is attached to the new company; null when company_id is null"
    )
    changed_at: AwareDatetime = Field(description="When the employment changed")

    @model_validator(mode="after")
    def _no_kind_without_company(self) -> EmploymentChanged:
        # A worker who left has no attachment; a kind there would be a producer bug.
        if self.company_id is None and self.kind is not None:
            raise ValueError("kind must be null when company_id is null")
        return self


class ConsentChanged(AggregateEvent):
    """A worker granted or withdrew consent to share data of one scope with one recipient."""

    event_type = "jiasao.registry.consent.changed.v1"
    subject = "registry.consent.changed"
    producer = "registry"
    aggregate_field = "consent_id"

    consent_id: Id = Field(description="Id of the consent record")
    worker_id: Id = Field(description="Worker who gave or withdrew consent")
    scope: str = Field(
        min_length=1, max_length=64, description="What may be shared, e.g. 'credit_data'"
    )
    recipient: str = Field(
        min_length=1, max_length=128, description="Who may receive it, e.g. a partner id"
    )
    granted: bool = Field(description="True if consent is now given, false if withdrawn")
    expires_at: AwareDatetime | None = Field(description="When consent lapses; null = no expiry")
    changed_at: AwareDatetime = Field(description="When consent changed")


class CompanyRegistered(AggregateEvent):
    """A household-service company was registered."""

    event_type = "jiasao.registry.company.registered.v1"
    subject = "registry.company.registered"
    producer = "registry"
    aggregate_field = "company_id"

    company_id: Id = Field(description="Id of the company")
    name: Name = Field(description="Registered company name")
    credit_code: CreditCode = Field(description="Unified social credit code (public)")
    county: County = Field(description="County of the registered address")
    kind: EmploymentKind = Field(description="Whether the company employs or brokers its workers")
    honours: list[Honour] = Field(
        description="Honours and titles awarded, e.g. provincial demonstration enterprise"
    )
    registered_at: AwareDatetime = Field(description="When the company was registered")


class InstitutionRegistered(AggregateEvent):
    """A training institution was registered."""

    event_type = "jiasao.registry.institution.registered.v1"
    subject = "registry.institution.registered"
    producer = "registry"
    aggregate_field = "institution_id"

    institution_id: Id = Field(description="Id of the institution")
    name: Name = Field(description="Registered institution name")
    credit_code: CreditCode = Field(description="Unified social credit code (public)")
    county: County = Field(description="County of the registered address")
    level: InstitutionLevel = Field(description="Demonstration level")
    tracks: list[Track] = Field(description="Tracks the institution is approved to train")
    registered_at: AwareDatetime = Field(description="When the institution was registered")


class EmployerRegistered(AggregateEvent):
    """An employer (a household hiring domestic help) registered."""

    event_type = "jiasao.registry.employer.registered.v1"
    subject = "registry.employer.registered"
    producer = "registry"
    aggregate_field = "employer_id"

    employer_id: Id = Field(description="Id of the employer")
    name: Name = Field(description="Employer's name")
    city: City = Field(description="City the household is in")
    district: str | None = Field(max_length=64, description="District within the city, if given")
    registered_at: AwareDatetime = Field(description="When the employer registered")


class PartnerRegistered(AggregateEvent):
    """A partner (recruitment platform or agency) was registered for API access."""

    event_type = "jiasao.registry.partner.registered.v1"
    subject = "registry.partner.registered"
    producer = "registry"
    aggregate_field = "partner_id"

    partner_id: Id = Field(description="Id of the partner")
    name: Name = Field(description="Partner's name")
    city: City = Field(description="City the partner is based in")
    kind: PartnerKind = Field(description="What kind of partner it is")
    registered_at: AwareDatetime = Field(description="When the partner was registered")


#: A partner's or an agency's standing: ``active``, or ``suspended`` (its tokens are refused).
PartyStanding = Literal["active", "suspended"]


class PartnerStatusChanged(AggregateEvent):
    """A partner platform was suspended or reactivated by an officer.

    Every service that accepts partner tokens keeps the suspended partners and refuses their
    tokens (401) from the moment it applies the suspension, although the tokens are unexpired
    and verify offline; the reactivation's event lets them in again. The registry revokes the
    partner's OAuth clients in the suspending transaction, so no new token is issued."""

    event_type = "jiasao.registry.partner.status_changed.v1"
    subject = "registry.partner.status_changed"
    producer = "registry"
    aggregate_field = "partner_id"

    partner_id: Id = Field(description="Id of the partner (token party_id of its OAuth clients)")
    status: PartyStanding = Field(description="Standing after the change")
    changed_at: AwareDatetime = Field(description="When it changed (orders the changes)")


class AgencyStatusChanged(AggregateEvent):
    """A government agency was suspended or reactivated by an officer: as
    :class:`PartnerStatusChanged`, for agency tokens (its agreements' own events still say
    ``agency_suspended`` for the feeds)."""

    event_type = "jiasao.registry.agency.status_changed.v1"
    subject = "registry.agency.status_changed"
    producer = "registry"
    aggregate_field = "agency_id"

    agency_id: Id = Field(description="Id of the agency (token party_id of its OAuth clients)")
    status: PartyStanding = Field(description="Standing after the change")
    changed_at: AwareDatetime = Field(description="When it changed (orders the changes)")


#: An agreement's standing: ``active`` (in force between valid_from and valid_until),
#: ``revoked`` by an officer (grants nothing, for good), ``agency_suspended`` (grants nothing
#: while its agency is suspended; back to ``active`` when it is reactivated).
AgreementStatus = Literal["active", "revoked", "agency_suspended"]

#: A dataset name of the exchange catalogue (workers, certificates, hires …).
DatasetName = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_-]*$")]
#: A field name of a dataset.
DatasetField = Annotated[str, Field(min_length=1, max_length=64)]


class AgreementChanged(AggregateEvent):
    """A data-sharing agreement with a government agency was made, revoked, or its agency was
    suspended or reactivated; carries the agreement's whole state. Services that serve the
    agency a dataset keep it and decide at every read what the agency may receive: only while
    the status is ``active`` and now is within [valid_from, valid_until), only the fields named."""

    event_type = "jiasao.registry.agreement.changed.v1"
    subject = "registry.agreement.changed"
    producer = "registry"
    aggregate_field = "agreement_id"

    agreement_id: Id = Field(description="Id of the agreement")
    agency_id: Id = Field(description="The agency (token party_id of its OAuth clients)")
    datasets: dict[DatasetName, list[DatasetField]] = Field(
        description="Dataset → the fields of it the agency may receive or send"
    )
    purpose: str = Field(min_length=1, max_length=500, description="Purpose of the exchange")
    retention_days: int = Field(ge=1, le=3650, description="How long the agency may keep data")
    valid_from: AwareDatetime = Field(description="Start of validity")
    valid_until: AwareDatetime = Field(description="End of validity (exclusive)")
    status: AgreementStatus = Field(description="Standing after the change")
    changed_at: AwareDatetime = Field(description="When it changed (orders the changes)")


#: A signing key's standing: ``active`` (files signed with it are accepted) or ``revoked``.
AgencyKeyStatus = Literal["active", "revoked"]


class AgencyKeyChanged(AggregateEvent):
    """An agency registered an Ed25519 signing key, or one was revoked; carries the key's whole
    state. Services that accept signed imports from agencies (matching's job import) keep the
    keys and accept a file only when signed by an ``active`` key of the calling agency."""

    event_type = "jiasao.registry.agency_key.changed.v1"
    subject = "registry.agency_key.changed"
    producer = "registry"
    aggregate_field = "agency_id"

    agency_id: Id = Field(description="The agency that owns the key")
    kid: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="Key id (the ``kid`` of the JWS header of a signed file)",
    )
    jwk: dict[str, str] = Field(description="The public JWK (kty OKP, crv Ed25519, x)")
    status: AgencyKeyStatus = Field(description="Standing after the change")
    changed_at: AwareDatetime = Field(description="When it changed (orders the changes)")
