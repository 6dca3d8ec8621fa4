"""Party API shapes, one module per kind of party. Personal numbers are validated on input and
masked on output.

``fields`` holds the field types and validators they share; ``workers``, ``organisations``
(companies and institutions), ``employers``, ``partners`` and ``consent`` the shapes of each.
Input models double as the bulk importer's row models: build a ``WorkerCreate`` from a CSV row
and pass it to :func:`services.registry.parties.registration.register_worker`.

This package re-exports every public name its modules define, so the long-standing import path
``services.registry.parties.schemas`` keeps working; code in the registry imports from the module
that owns a name.
"""

from services.registry.parties.schemas.consent import (
    MAX_CONSENT_YEARS,
    ConsentCreate,
    ConsentOut,
    ConsentScope,
    ConsentStatus,
    years_later,
)
from services.registry.parties.schemas.employers import EmployerCreate, EmployerOut
from services.registry.parties.schemas.fields import (
    CREDIT_CODE,
    MOBILE,
    RESIDENT_ID,
    UNIQUE_ITEMS,
    Address,
    OrgName,
    PersonName,
    never_null,
)
from services.registry.parties.schemas.organisations import (
    CompanyCreate,
    CompanyOut,
    ContactIn,
    ContactOut,
    InstitutionCreate,
    InstitutionOut,
    OrganisationPatch,
)
from services.registry.parties.schemas.partners import (
    PartnerCreate,
    PartnerOut,
    PartnerStatus,
    PartnerStatusRequest,
    https_webhook,
)
from services.registry.parties.schemas.workers import (
    MIN_WORKER_AGE,
    WORKER_SELF_EDITABLE,
    CheckResult,
    Education,
    EmploymentJoin,
    EmploymentOut,
    Gender,
    HealthCheck,
    LanguageName,
    NoCriminalRecordCheck,
    Reason,
    StatusChangeOut,
    StatusChangeRequest,
    StatusTarget,
    VerifyRequest,
    WorkerCreate,
    WorkerLookup,
    WorkerOut,
    WorkerPatch,
    age_on,
)

__all__ = [
    "CREDIT_CODE",
    "MAX_CONSENT_YEARS",
    "MIN_WORKER_AGE",
    "MOBILE",
    "RESIDENT_ID",
    "UNIQUE_ITEMS",
    "WORKER_SELF_EDITABLE",
    "Address",
    "CheckResult",
    "CompanyCreate",
    "CompanyOut",
    "ConsentCreate",
    "ConsentOut",
    "ConsentScope",
    "ConsentStatus",
    "ContactIn",
    "ContactOut",
    "Education",
    "EmployerCreate",
    "EmployerOut",
    "EmploymentJoin",
    "EmploymentOut",
    "Gender",
    "HealthCheck",
    "InstitutionCreate",
    "InstitutionOut",
    "LanguageName",
    "NoCriminalRecordCheck",
    "OrgName",
    "OrganisationPatch",
    "PartnerCreate",
    "PartnerOut",
    "PartnerStatus",
    "PartnerStatusRequest",
    "PersonName",
    "Reason",
    "StatusChangeOut",
    "StatusChangeRequest",
    "StatusTarget",
    "VerifyRequest",
    "WorkerCreate",
    "WorkerLookup",
    "WorkerOut",
    "WorkerPatch",
    "age_on",
    "https_webhook",
    "never_null",
    "years_later",
]
