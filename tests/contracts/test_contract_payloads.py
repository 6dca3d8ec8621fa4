"""Contract tests of event payloads: each event round-trips through its envelope, personal
numbers travel only masked, payloads are strict, and unknown event types are refused."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from contracts import generate
from contracts.catalog import (
    ALL_EVENTS,
    EVENTS_BY_SUBJECT,
    UnknownEventType,
    parse_data,
)
from contracts.envelope import CloudEvent, EventData, envelope_for
from contracts.registry import EmploymentChanged, WorkerRegistered

WORKER = "0190f3a4-5b6c-7d8e-9f01-23456789abcd"
COMPANY = "0190f3a4-5b6c-7d8e-9f01-23456789abce"
OTHER = "0190f3a4-5b6c-7d8e-9f01-23456789abcf"
AT = "2026-03-01T09:30:00+08:00"

# One valid payload per event; test_samples_cover_every_event keeps this list complete.
SAMPLES: dict[type[EventData], dict[str, Any]] = {
    WorkerRegistered: {
        "worker_id": WORKER,
        "name": "陈秀英",
        "gender": "female",
        "birth_date": "1978-05-04",
        "county": "gaoyao",
        "id_card_masked": "441202********123X",
        "phone_masked": "138****5678",
        "tracks": ["maternal_infant", "housekeeping"],
        "languages": ["cantonese", "mandarin"],
        "status": "registered",
        "company_id": None,
        "registered_at": AT,
    },
    EVENTS_BY_SUBJECT["registry.worker.updated"]: {
        "worker_id": WORKER,
        "name": "陈秀英",
        "county": "gaoyao",
        "tracks": ["elderly_care"],
        "languages": ["cantonese"],
        "education": "junior_high",
        "target_groups": ["4050", "rural_surplus_labour"],
        "health_check_valid_until": "2027-02-28",
        "no_criminal_record_valid_until": None,
        "updated_at": AT,
    },
    EVENTS_BY_SUBJECT["registry.worker.verified"]: {
        "worker_id": WORKER,
        "verified_by": OTHER,
        "verified_at": AT,
    },
    EVENTS_BY_SUBJECT["registry.worker.status_changed"]: {
        "worker_id": WORKER,
        "from_status": "verified",
        "to_status": "active",
        "changed_by": "system",
        "reason": "first contract signed",
        "changed_at": AT,
    },
    EmploymentChanged: {
        "worker_id": WORKER,
        "company_id": COMPANY,
        "previous_company_id": None,
        "kind": "employee_based",
        "changed_at": AT,
    },
    EVENTS_BY_SUBJECT["registry.consent.changed"]: {
        "consent_id": OTHER,
        "worker_id": WORKER,
        "scope": "credit",
        "recipient": COMPANY,
        "granted": True,
        "expires_at": "2027-03-01T00:00:00+08:00",
        "changed_at": AT,
    },
    EVENTS_BY_SUBJECT["registry.company.registered"]: {
        "company_id": COMPANY,
        "name": "肇庆市好家嫂家政服务有限公司",
        "credit_code": "91441200MA4UJ1234X",
        "county": "duanzhou",
        "kind": "employee_based",
        "honours": ["广东省家政服务业示范企业"],
        "registered_at": AT,
    },
    EVENTS_BY_SUBJECT["registry.institution.registered"]: {
        "institution_id": OTHER,
        "name": "肇庆市家政职业培训学校",
        "credit_code": "52441200MJL123456Y",
        "county": "dinghu",
        "level": "municipal_demonstration",
        "tracks": ["maternal_infant", "elderly_care"],
        "registered_at": AT,
    },
    EVENTS_BY_SUBJECT["registry.employer.registered"]: {
        "employer_id": OTHER,
        "name": "Wong Family",
        "city": "hong_kong",
        "district": "Sha Tin",
        "registered_at": AT,
    },
    EVENTS_BY_SUBJECT["registry.partner.registered"]: {
        "partner_id": OTHER,
        "name": "湾区家政人才网",
        "city": "shenzhen",
        "kind": "recruitment_platform",
        "registered_at": AT,
    },
    EVENTS_BY_SUBJECT["training.enrollment.completed"]: {
        "enrollment_id": OTHER,
        "worker_id": WORKER,
        "course_id": COMPANY,
        "course_title": "母婴护理（初级）",
        "track": "maternal_infant",
        "training_type": "pre_job",
        "hours": 56.5,
        "score": 88,
        "passed": True,
        "completed_at": AT,
    },
    EVENTS_BY_SUBJECT["training.competition.awarded"]: {
        "award_id": OTHER,
        "competition_id": COMPANY,
        "competition_title": "肇庆市家政服务职业技能大赛",
        "worker_id": WORKER,
        "track": "maternal_infant",
        "rank": 1,
        "total_score": 271.5,
        "title": "technical_expert",
        "policy_version": 1,
        "awarded_at": AT,
    },
    EVENTS_BY_SUBJECT["credit.certificate.issued"]: {
        "certificate_id": OTHER,
        "certificate_number": "ZQJS-2026-000123",
        "kind": "training",
        "worker_id": WORKER,
        "track": "maternal_infant",
        "course_id": COMPANY,
        "enrollment_id": OTHER,
        "issued_at": AT,
        "valid_until": None,
    },
    EVENTS_BY_SUBJECT["credit.level.changed"]: {
        "party_id": WORKER,
        "party_kind": "worker",
        "level": "C",
        "previous_level": "B",
        "score": 58,
        "previous_score": 73,
        "policy_version": 1,
        "changed_at": AT,
    },
    EVENTS_BY_SUBJECT["credit.list_entry.added"]: {
        "entry_id": OTHER,
        "list_kind": "black",
        "party_id": WORKER,
        "party_kind": "worker",
        "basis": "automatic",
        "legal_basis": None,
        "starts_at": AT,
        "publish_until": AT,
        "policy_version": 1,
    },
    EVENTS_BY_SUBJECT["credit.list_entry.removed"]: {
        "entry_id": OTHER,
        "list_kind": "red",
        "party_id": COMPANY,
        "party_kind": "company",
        "basis": "officer",
        "legal_basis": "国家发展改革委令第58号",
        "starts_at": AT,
        "publish_until": AT,
        "policy_version": 2,
        "ended_at": AT,
        "end_reason": "repaired",
    },
    EVENTS_BY_SUBJECT["credit.card.issued"]: {
        "card_id": OTHER,
        "card_number": "ZQJZ-2026-000001",
        "worker_id": WORKER,
        "policy_version": 1,
        "issued_at": AT,
        "valid_until": "2028-03-01",
        "by_exception": False,
    },
    EVENTS_BY_SUBJECT["credit.card.status_changed"]: {
        "card_id": OTHER,
        "worker_id": WORKER,
        "state": "suspended",
        "colour": "red",
        "reason": "health check expired",
        "valid_until": "2028-03-01",
        "changed_at": AT,
    },
    EVENTS_BY_SUBJECT["credit.insurance.enrolled"]: {
        "insurance_policy_id": COMPANY,
        "policy_number": "ZQBX-2026-000001",
        "worker_id": WORKER,
        "card_id": OTHER,
        "insurer": "中国人民财产保险股份有限公司肇庆市分公司",
        "starts_on": "2026-03-01",
        "ends_on": "2027-02-28",
        "premium_cents": 5000,
    },
    EVENTS_BY_SUBJECT["credit.insurance.renewal_due"]: {
        "insurance_policy_id": COMPANY,
        "policy_number": "ZQBX-2026-000001",
        "worker_id": WORKER,
        "card_id": OTHER,
        "ends_on": "2027-02-28",
    },
    EVENTS_BY_SUBJECT["credit.insurance.expired"]: {
        "insurance_policy_id": COMPANY,
        "policy_number": "ZQBX-2026-000001",
        "worker_id": WORKER,
        "card_id": OTHER,
        "ends_on": "2027-02-28",
        "renewed": False,
    },
    EVENTS_BY_SUBJECT["credit.insurance.claim_recorded"]: {
        "claim_id": OTHER,
        "insurance_policy_id": COMPANY,
        "worker_id": WORKER,
        "incident_date": "2026-05-01",
        "status": "reported",
        "changed_at": AT,
    },
    EVENTS_BY_SUBJECT["rating.worker.changed"]: {
        "worker_id": WORKER,
        "year": 2026,
        "stars": 4,
        "previous_stars": 3,
        "score": 82.5,
        "changed_at": AT,
    },
    EVENTS_BY_SUBJECT["matching.engagement.started"]: {
        "engagement_id": OTHER,
        "job_id": COMPANY,
        "worker_id": WORKER,
        "employer_id": None,
        "company_id": COMPANY,
        "poster_account_id": "0190f3a4-5b6c-7d8e-9f01-23456789ab00",
        "track": "elderly_care",
        "start_date": "2026-03-02",
        "started_at": AT,
    },
    EVENTS_BY_SUBJECT["matching.job.changed"]: {
        "job_id": OTHER,
        "title": "住家保姆",
        "track": "housekeeping",
        "duties": ["cooking"],
        "city": "zhaoqing",
        "district": "duanzhou",
        "live_in": True,
        "schedule": "Mon-Sat",
        "pay_min": 5000,
        "pay_max": 6500,
        "pay_period": "month",
        "languages": ["cantonese"],
        "certificate_required": True,
        "min_stars": None,
        "positions": 1,
        "start_date": "2027-01-04",
        "expires_at": None,
        "status": "open",
        "version": 1,
        "changed_at": AT,
    },
    EVENTS_BY_SUBJECT["matching.engagement.finished"]: {
        "engagement_id": OTHER,
        "job_id": COMPANY,
        "worker_id": WORKER,
        "employer_id": None,
        "company_id": COMPANY,
        "poster_account_id": "0190f3a4-5b6c-7d8e-9f01-23456789ab00",
        "track": "elderly_care",
        "start_date": "2026-03-02",
        "end_date": "2026-06-30",
        "finished_at": AT,
    },
    EVENTS_BY_SUBJECT["registry.partner.status_changed"]: {
        "partner_id": OTHER,
        "status": "suspended",
        "changed_at": AT,
    },
    EVENTS_BY_SUBJECT["registry.agency.status_changed"]: {
        "agency_id": OTHER,
        "status": "active",
        "changed_at": AT,
    },
    EVENTS_BY_SUBJECT["registry.agreement.changed"]: {
        "agreement_id": OTHER,
        "agency_id": COMPANY,
        "datasets": {"workers": ["name", "county"], "certificates": ["kind", "valid_until"]},
        "purpose": "就业服务统计",
        "retention_days": 365,
        "valid_from": "2026-12-01T00:00:00+08:00",
        "valid_until": "2027-12-01T00:00:00+08:00",
        "status": "active",
        "changed_at": AT,
    },
    EVENTS_BY_SUBJECT["registry.agency_key.changed"]: {
        "agency_id": COMPANY,
        "kid": "civil-2026-01",
        "jwk": {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
        "status": "revoked",
        "changed_at": AT,
    },
}

EVENT_IDS = [m.__name__ for m in ALL_EVENTS]


# (a) round trip -------------------------------------------------------------------------------


def test_samples_cover_every_event() -> None:
    assert set(SAMPLES) == set(ALL_EVENTS)


@pytest.mark.parametrize("model", ALL_EVENTS, ids=EVENT_IDS)
def test_envelope_round_trips_through_json(model: type[EventData]) -> None:
    data = model.model_validate(SAMPLES[model])
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    raw = envelope_for(data, traceparent=traceparent).model_dump_json()

    received = CloudEvent[Any].model_validate_json(raw)
    parsed = parse_data(received)

    assert type(parsed) is model
    assert parsed == data
    assert received.type == model.event_type
    assert received.source == f"/jiasao/{model.producer}"
    assert received.subject == data.aggregate_id() == getattr(data, generate.aggregate_field(model))
    assert received.traceparent == traceparent
    # The typed envelope accepts the same bytes, as the generated schema promises.
    assert CloudEvent[model].model_validate_json(raw).data == data


def test_parse_data_accepts_an_already_typed_payload() -> None:
    data = WorkerRegistered.model_validate(SAMPLES[WorkerRegistered])
    envelope = CloudEvent[WorkerRegistered](
        id="e1",
        source="/jiasao/registry",
        type=data.event_type,
        subject=data.worker_id,
        time=datetime.now(UTC),
        data=data,
    )
    assert parse_data(envelope) is data


# (b) no plaintext personal numbers --------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id_card_masked", "44120219780504123X"),  # plaintext 18-digit ID number
        ("id_card_masked", "441202197805041234"),
        ("id_card_masked", "441202********123x"),  # lowercase check letter is not the format
        ("id_card_masked", "٤٤١٢٠٢********١٢٣٤"),  # non-ASCII digits
        ("phone_masked", "13812345678"),  # plaintext mobile number
        ("phone_masked", "138****567"),
    ],
)
def test_plaintext_in_masked_fields_is_rejected(field: str, value: str) -> None:
    with pytest.raises(ValidationError):
        WorkerRegistered.model_validate({**SAMPLES[WorkerRegistered], field: value})


@pytest.mark.parametrize("model", ALL_EVENTS, ids=EVENT_IDS)
def test_personal_numbers_only_travel_masked(model: type[EventData]) -> None:
    # Any field about ID cards or phones must be a *_masked field with a masking pattern.
    properties = model.model_json_schema()["properties"]
    for name, prop in properties.items():
        if re.search(r"id_card|id_number|phone|mobile", name):
            assert name.endswith("_masked"), f"{model.__name__}.{name} may carry plaintext"
            assert r"\*" in prop.get("pattern", ""), f"{model.__name__}.{name} has no mask pattern"


# (c) strictness -------------------------------------------------------------------------------


def test_unknown_fields_are_rejected() -> None:
    payload = {**SAMPLES[WorkerRegistered], "id_card": "44120219780504123X"}
    with pytest.raises(ValidationError, match="extra"):
        WorkerRegistered.model_validate(payload)


def test_unknown_fields_inside_an_envelope_are_rejected() -> None:
    data = WorkerRegistered.model_validate(SAMPLES[WorkerRegistered])
    envelope = envelope_for(data)
    envelope.data["phone"] = "13812345678"
    with pytest.raises(ValidationError):
        parse_data(envelope)


def test_payloads_are_frozen() -> None:
    data = WorkerRegistered.model_validate(SAMPLES[WorkerRegistered])
    with pytest.raises(ValidationError):
        data.name = "someone else"  # type: ignore[misc]


def test_naive_datetimes_are_rejected() -> None:
    with pytest.raises(ValidationError):
        WorkerRegistered.model_validate(
            {**SAMPLES[WorkerRegistered], "registered_at": "2026-03-01T09:30:00"}
        )


@pytest.mark.parametrize(
    ("model", "changes"),
    [
        (WorkerRegistered, {"worker_id": "w1"}),
        (WorkerRegistered, {"county": "guangzhou"}),
        (WorkerRegistered, {"tracks": ["gardening"]}),
        (EVENTS_BY_SUBJECT["training.enrollment.completed"], {"score": 100.5}),
        (EVENTS_BY_SUBJECT["training.enrollment.completed"], {"hours": -1}),
        (EVENTS_BY_SUBJECT["rating.worker.changed"], {"stars": 6}),
        (EVENTS_BY_SUBJECT["rating.worker.changed"], {"previous_stars": 0}),
        (EVENTS_BY_SUBJECT["credit.certificate.issued"], {"certificate_number": "ZQJS-26-123"}),
        (EVENTS_BY_SUBJECT["registry.company.registered"], {"credit_code": "not-a-code"}),
        (EmploymentChanged, {"company_id": None}),  # left, but still has a kind
    ],
)
def test_constraints_reject_bad_values(model: type[EventData], changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        model.model_validate({**SAMPLES[model], **changes})


def test_leaving_a_company_has_no_kind() -> None:
    left = {**SAMPLES[EmploymentChanged], "company_id": None, "kind": None}
    assert EmploymentChanged.model_validate(left).aggregate_id() == WORKER


# (d) unknown types ----------------------------------------------------------------------------


def test_unknown_type_raises_unknown_event_type() -> None:
    data = WorkerRegistered.model_validate(SAMPLES[WorkerRegistered])
    envelope = envelope_for(data).model_copy(update={"type": "jiasao.registry.worker.exploded.v1"})
    with pytest.raises(UnknownEventType) as caught:
        parse_data(envelope)
    assert caught.value.event_type == "jiasao.registry.worker.exploded.v1"
    assert "jiasao.registry.worker.exploded.v1" in str(caught.value)
    assert isinstance(caught.value, KeyError)
    assert isinstance(caught.value, ValueError)
