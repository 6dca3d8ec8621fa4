"""Records → response models, masked or in full, plus the If-Match check for PATCH routes."""

from __future__ import annotations

from fastapi import Request

from services.kit.errors import Problem
from services.kit.http import etag_for
from services.kit.pii import PiiCipher
from services.registry.parties.consents import consent_status
from services.registry.parties.models import (
    COMPANY_CONTACT_PHONE_CONTEXT,
    EMPLOYER_PHONE_CONTEXT,
    INSTITUTION_CONTACT_PHONE_CONTEXT,
    PARTNER_CONTACT_PHONE_CONTEXT,
    WORKER_ID_CARD_CONTEXT,
    WORKER_PHONE_CONTEXT,
    Company,
    Consent,
    Employer,
    Employment,
    Institution,
    Partner,
    Worker,
    WorkerStatusChange,
)
from services.registry.parties.schemas.consent import ConsentOut
from services.registry.parties.schemas.employers import EmployerOut
from services.registry.parties.schemas.organisations import CompanyOut, ContactOut, InstitutionOut
from services.registry.parties.schemas.partners import PartnerOut
from services.registry.parties.schemas.workers import (
    EmploymentOut,
    HealthCheck,
    NoCriminalRecordCheck,
    StatusChangeOut,
    WorkerOut,
)


def etag(record: Worker | Company | Institution | Employer | Partner) -> str:
    return etag_for(record.id, record.version)


#: Characters of the ID-card number a masked view shows: the last four, as people are used to
#: ("尾号123X"). Never the region (6) or birth date (8): the masked view already shows the birth
#: year, gender and county, and region + birth date + last four is the whole number.
MASKED_ID_TAIL = 4


def masked_id_card(stored_mask: str) -> str:
    """``**************123X`` from the stored mask (``441202********123X``, the form events
    carry): a masked view shows the birth year beside it, so the region must go too."""
    return "*" * (len(stored_mask) - MASKED_ID_TAIL) + stored_mask[-MASKED_ID_TAIL:]


def worker_out(worker: Worker, cipher: PiiCipher, *, full: bool) -> WorkerOut:
    """``full``: decrypt the ID-card and phone numbers (self, officers); else masked forms.

    A masked view must not carry what rebuilds the masked number (GB 11643 embeds region and
    birth date): it shows the birth year instead of the date and only the last four characters.
    """
    health = None
    if worker.health_check_date is not None:
        health = HealthCheck.model_construct(
            date=worker.health_check_date,
            institution=worker.health_check_institution,
            valid_until=worker.health_check_valid_until,
        )
    record = None
    if worker.no_criminal_record_date is not None:
        record = NoCriminalRecordCheck.model_construct(
            date=worker.no_criminal_record_date,
            result=worker.no_criminal_record_result,
            valid_until=worker.no_criminal_record_valid_until,
        )
    return WorkerOut(
        id=worker.id,
        name=worker.name,
        gender=worker.gender,  # type: ignore[arg-type]
        birth_date=worker.birth_date if full else None,
        birth_year=worker.birth_date.year,
        id_card_number=(
            cipher.decrypt(worker.id_card_encrypted, context=WORKER_ID_CARD_CONTEXT)
            if full
            else masked_id_card(worker.id_card_masked)
        ),
        phone=(
            cipher.decrypt(worker.phone_encrypted, context=WORKER_PHONE_CONTEXT)
            if full
            else worker.phone_masked
        ),
        masked=not full,
        county=worker.county,  # type: ignore[arg-type]
        languages=worker.languages,
        education=worker.education,  # type: ignore[arg-type]
        tracks=worker.tracks,  # type: ignore[arg-type]
        target_groups=worker.target_groups,  # type: ignore[arg-type]
        health_check=health,
        no_criminal_record=record,
        status=worker.status,  # type: ignore[arg-type]
        verified_at=worker.verified_at,
        company_id=worker.company_id,
        employment_kind=worker.employment_kind,  # type: ignore[arg-type]
        version=worker.version,
        created_at=worker.created_at,
        updated_at=worker.updated_at,
    )


def _contact(
    cipher: PiiCipher,
    party: Company | Institution | Partner,
    context: str,
    *,
    full: bool,
) -> ContactOut:
    phone = (
        cipher.decrypt(party.contact_phone_encrypted, context=context)
        if full
        else party.contact_phone_masked
    )
    return ContactOut(name=party.contact_name, phone=phone)


def _organisation_fields(
    org: Company | Institution, cipher: PiiCipher, context: str, full: bool
) -> dict[str, object]:
    return {
        "id": org.id,
        "credit_code": org.credit_code,
        "name": org.name,
        "legal_representative": org.legal_representative,
        "county": org.county,
        "address": org.address,
        "contact": _contact(cipher, org, context, full=full),
        "masked": not full,
        "version": org.version,
        "created_at": org.created_at,
        "updated_at": org.updated_at,
    }


def company_out(company: Company, cipher: PiiCipher, *, full: bool) -> CompanyOut:
    return CompanyOut.model_validate(
        {
            **_organisation_fields(company, cipher, COMPANY_CONTACT_PHONE_CONTEXT, full),
            "kind": company.kind,
            "honours": company.honours,
        }
    )


def institution_out(institution: Institution, cipher: PiiCipher, *, full: bool) -> InstitutionOut:
    return InstitutionOut.model_validate(
        {
            **_organisation_fields(institution, cipher, INSTITUTION_CONTACT_PHONE_CONTEXT, full),
            "level": institution.level,
            "tracks": institution.tracks,
        }
    )


def employer_out(employer: Employer, cipher: PiiCipher, *, full: bool) -> EmployerOut:
    return EmployerOut(
        id=employer.id,
        name=employer.name,
        phone=(
            cipher.decrypt(employer.phone_encrypted, context=EMPLOYER_PHONE_CONTEXT)
            if full
            else employer.phone_masked
        ),
        masked=not full,
        city=employer.city,  # type: ignore[arg-type]
        district=employer.district,
        address=employer.address,
        version=employer.version,
        created_at=employer.created_at,
        updated_at=employer.updated_at,
    )


def partner_out(partner: Partner, cipher: PiiCipher, *, full: bool) -> PartnerOut:
    return PartnerOut(
        id=partner.id,
        name=partner.name,
        credit_code=partner.credit_code,
        city=partner.city,  # type: ignore[arg-type]
        kind=partner.kind,  # type: ignore[arg-type]
        contact=_contact(cipher, partner, PARTNER_CONTACT_PHONE_CONTEXT, full=full),
        masked=not full,
        webhook_url=partner.webhook_url,
        status=partner.status,  # type: ignore[arg-type]
        version=partner.version,
        created_at=partner.created_at,
        updated_at=partner.updated_at,
    )


def employment_out(employment: Employment) -> EmploymentOut:
    return EmploymentOut(
        id=employment.id,
        worker_id=employment.worker_id,
        company_id=employment.company_id,
        kind=employment.kind,  # type: ignore[arg-type]
        joined_at=employment.joined_at,
        left_at=employment.left_at,
        leave_reason=employment.leave_reason,
    )


def status_change_out(change: WorkerStatusChange) -> StatusChangeOut:
    return StatusChangeOut(
        from_status=change.from_status,  # type: ignore[arg-type]
        to_status=change.to_status,  # type: ignore[arg-type]
        reason=change.reason,
        changed_by=change.changed_by,
        changed_by_role=change.changed_by_role,
        changed_at=change.changed_at,
    )


def consent_out(consent: Consent) -> ConsentOut:
    return ConsentOut(
        id=consent.id,
        worker_id=consent.worker_id,
        scope=consent.scope,
        recipient=consent.recipient,
        status=consent_status(consent),  # type: ignore[arg-type]
        granted_at=consent.granted_at,
        expires_at=consent.expires_at,
        withdrawn_at=consent.withdrawn_at,
    )


# --- optimistic concurrency ----------------------------------------------------------------


def _opaque(tag: str) -> str:
    """Weak comparison (RFC 9110 §8.8.3.2): ``W/"x"`` and ``"x"`` name the same version."""
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag


def require_if_match(request: Request) -> str:
    """428 when a PATCH comes without ``If-Match``: blind overwrites are refused."""
    header = request.headers.get("if-match")
    if header is None or not header.strip():
        raise Problem(
            428,
            "precondition-required",
            "Precondition required",
            "Send If-Match with the ETag of the version you read, so changes are not lost",
        )
    return header


def check_if_match(header: str, current: str) -> None:
    """412 when none of the client's tags names the current version (``*`` matches any)."""
    tags = [_opaque(t) for t in header.split(",") if t.strip()]
    if "*" in tags or _opaque(current) in tags:
        return
    raise Problem(
        412,
        "precondition-failed",
        "Precondition failed",
        "The record changed since you read it; read it again and reapply your change",
        headers={"ETag": current},
    )
