"""Every event model, indexed by type and subject, and the JetStream streams they live in."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from contracts.credit import (
    CardIssued,
    CardStatusChanged,
    CertificateIssued,
    CreditLevelChanged,
    CreditListEntryAdded,
    CreditListEntryRemoved,
    InsuranceClaimRecorded,
    InsuranceEnrolled,
    InsuranceExpired,
    InsuranceRenewalDue,
)
from contracts.envelope import CloudEvent, EventData
from contracts.matching import EngagementFinished, EngagementStarted, JobChanged
from contracts.rating import WorkerRatingChanged
from contracts.registry import (
    AgencyKeyChanged,
    AgencyStatusChanged,
    AgreementChanged,
    CompanyRegistered,
    ConsentChanged,
    EmployerRegistered,
    EmploymentChanged,
    InstitutionRegistered,
    PartnerRegistered,
    PartnerStatusChanged,
    WorkerRegistered,
    WorkerStatusChanged,
    WorkerUpdated,
    WorkerVerified,
)
from contracts.training import CompetitionAwarded, EnrollmentCompleted

ALL_EVENTS: tuple[type[EventData], ...] = (
    WorkerRegistered,
    WorkerUpdated,
    WorkerVerified,
    WorkerStatusChanged,
    EmploymentChanged,
    ConsentChanged,
    CompanyRegistered,
    InstitutionRegistered,
    EmployerRegistered,
    PartnerRegistered,
    PartnerStatusChanged,
    AgreementChanged,
    AgencyStatusChanged,
    AgencyKeyChanged,
    EnrollmentCompleted,
    CompetitionAwarded,
    CertificateIssued,
    CreditLevelChanged,
    CreditListEntryAdded,
    CreditListEntryRemoved,
    CardIssued,
    CardStatusChanged,
    InsuranceClaimRecorded,
    InsuranceEnrolled,
    InsuranceExpired,
    InsuranceRenewalDue,
    WorkerRatingChanged,
    EngagementStarted,
    EngagementFinished,
    JobChanged,
)

EVENTS_BY_TYPE: dict[str, type[EventData]] = {m.event_type: m for m in ALL_EVENTS}
EVENTS_BY_SUBJECT: dict[str, type[EventData]] = {m.subject: m for m in ALL_EVENTS}

# Two models claiming one type or subject would make dispatch ambiguous: fail at import.
if len(EVENTS_BY_TYPE) != len(ALL_EVENTS) or len(EVENTS_BY_SUBJECT) != len(ALL_EVENTS):
    raise RuntimeError("duplicate event type or subject in contracts.catalog.ALL_EVENTS")

#: One JetStream stream per producing service, named after it, holding all its subjects.
STREAMS: dict[str, list[str]] = {
    producer.upper(): [f"{producer}.>"] for producer in sorted({m.producer for m in ALL_EVENTS})
}


class UnknownEventType(KeyError, ValueError):
    """No model is registered for an envelope's ``type``.

    Both a ``KeyError`` (a failed lookup) and a ``ValueError`` (bad input), so handlers that
    treat invalid payloads as poison messages catch it too.
    """

    def __init__(self, event_type: str) -> None:
        super().__init__(event_type)
        self.event_type = event_type

    def __str__(self) -> str:  # KeyError would otherwise print the repr of its argument
        return f"unknown event type {self.event_type!r}; known: {sorted(EVENTS_BY_TYPE)}"


def model_for(event_type: str) -> type[EventData]:
    """The payload model for a CloudEvents ``type``, or :class:`UnknownEventType`."""
    try:
        return EVENTS_BY_TYPE[event_type]
    except KeyError:
        raise UnknownEventType(event_type) from None


def stream_for(subject: str) -> str:
    """The stream a subject is published to, e.g. ``REGISTRY`` for ``registry.worker.updated``."""
    stream = subject.split(".", 1)[0].upper()
    if stream not in STREAMS:
        raise KeyError(f"no stream for subject {subject!r}")
    return stream


def parse_data(envelope: CloudEvent[Any]) -> EventData:
    """Validate ``envelope.data`` as the model its ``type`` names.

    Raises :class:`UnknownEventType` for an unknown type and ``pydantic.ValidationError`` for a
    payload that does not match the model.
    """
    model = model_for(envelope.type)
    data = envelope.data
    if isinstance(data, model):
        return data
    if isinstance(data, BaseModel):  # e.g. a different model: re-validate its JSON form
        data = data.model_dump(mode="json")
    return model.model_validate(data)
