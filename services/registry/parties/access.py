"""Who may do what with the registry's parties — every rule in one place.

Two layers, both pure functions of the caller (a :class:`Principal`) and the record:

1. **Role capability** (:data:`CAPABILITIES`, :func:`require`): may this kind of caller ever
   do this? No → **403**. Checked before the database is touched, so the answer cannot reveal
   whether a record exists.
2. **Record relation** (``may_*`` predicates): may this caller touch *this* record? No → **404**
   for records the caller's role can see some of (a worker asking for another worker, a company
   for another company's worker), so nobody learns which ids exist.

Each route declares its kit policy with :func:`policy` (derived from :data:`CAPABILITIES` and
:data:`PARTNER_SCOPES`, so the route's declaration and this table cannot disagree); the kit
answers 401 without a valid token and 403 for other roles before the route runs.
:func:`require` stays as the second layer inside the route.

Plaintext personal numbers (:func:`sees_worker_numbers` and friends) go only to the person
themself, to an organisation's own staff for the organisation's contact, and to officers and
admins; everybody else gets the masked forms.

Partner platforms have no rights of their own: only their scopes count. ``workers:read`` lets a
partner list and read workers (always masked), and nothing else.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import Any, Protocol

from services.kit.errors import NotFound
from services.kit.policy import allow
from services.kit.principal import ROLES, Principal, Role, forbidden

#: Partner scope that lets a partner list and read (masked) worker records.
WORKERS_READ_SCOPE = "workers:read"


class Action(StrEnum):
    WORKER_REGISTER = "worker.register"
    WORKER_READ = "worker.read"
    WORKER_LIST = "worker.list"
    WORKER_UPDATE = "worker.update"
    WORKER_VERIFY = "worker.verify"
    WORKER_STATUS = "worker.status"
    WORKER_HISTORY = "worker.history"
    WORKER_LOOKUP = "worker.lookup"
    EMPLOYMENT_JOIN = "employment.join"
    EMPLOYMENT_LEAVE = "employment.leave"
    CONSENT_GRANT = "consent.grant"
    CONSENT_WITHDRAW = "consent.withdraw"
    CONSENT_READ = "consent.read"
    COMPANY_REGISTER = "company.register"
    COMPANY_READ = "company.read"
    COMPANY_LIST = "company.list"
    COMPANY_UPDATE = "company.update"
    INSTITUTION_REGISTER = "institution.register"
    INSTITUTION_READ = "institution.read"
    INSTITUTION_LIST = "institution.list"
    INSTITUTION_UPDATE = "institution.update"
    EMPLOYER_REGISTER = "employer.register"
    EMPLOYER_READ = "employer.read"
    EMPLOYER_LIST = "employer.list"
    PARTNER_REGISTER = "partner.register"
    PARTNER_READ = "partner.read"
    PARTNER_LIST = "partner.list"
    PARTNER_STATUS = "partner.status"


A = Action
_PRIVILEGED = frozenset(A) - {A.CONSENT_GRANT, A.CONSENT_WITHDRAW}

#: Role → actions its members may attempt at all. Partners: see :data:`PARTNER_SCOPES`.
CAPABILITIES: dict[Role, frozenset[Action]] = {
    # Officers and admins act for the programme: everything except speaking for a worker.
    "officer": _PRIVILEGED,
    "admin": _PRIVILEGED,
    "worker": frozenset(
        {
            A.WORKER_READ,  # own record only
            A.WORKER_UPDATE,  # own record, limited fields
            A.WORKER_STATUS,  # own record, only to "left"
            A.WORKER_HISTORY,
            A.EMPLOYMENT_LEAVE,  # leave own company
            A.CONSENT_GRANT,
            A.CONSENT_WITHDRAW,
            A.CONSENT_READ,
        }
    ),
    "company": frozenset(
        {
            A.WORKER_REGISTER,  # and employ them at once
            A.WORKER_READ,  # current employees only
            A.WORKER_LIST,  # current employees only
            A.WORKER_UPDATE,
            A.WORKER_VERIFY,
            A.WORKER_STATUS,  # limited transitions
            A.WORKER_HISTORY,
            A.EMPLOYMENT_JOIN,  # into their own company
            A.EMPLOYMENT_LEAVE,
            A.COMPANY_READ,  # own company
            A.COMPANY_UPDATE,
        }
    ),
    "institution": frozenset({A.INSTITUTION_READ, A.INSTITUTION_UPDATE}),  # own institution
    "employer": frozenset({A.EMPLOYER_READ}),  # own record
    "partner": frozenset(),
    # Agencies read registry data only through the change feeds of their data-sharing
    # agreements (services/registry/agencies), never through the party routes.
    "agency": frozenset(),
}

#: Partner scope → actions it grants (nothing else is ever open to a partner).
PARTNER_SCOPES: dict[str, frozenset[Action]] = {
    WORKERS_READ_SCOPE: frozenset({A.WORKER_READ, A.WORKER_LIST}),
}

#: Worker status life cycle. ``verified`` is reached only through POST .../verify. ``left``
#: ends the worker's time in the programme; an officer may re-admit them (left → registered),
#: after which they must be verified again. Nothing else leaves ``left``.
TRANSITIONS: dict[str, frozenset[str]] = {
    "registered": frozenset({"verified", "left"}),
    "verified": frozenset({"active", "suspended", "left"}),
    "active": frozenset({"suspended", "left"}),
    "suspended": frozenset({"active", "left"}),
    "left": frozenset({"registered"}),
}
#: Transitions a worker's current company may make (put to work, suspend, reinstate).
COMPANY_TRANSITIONS = frozenset(
    {("verified", "active"), ("active", "suspended"), ("suspended", "active")}
)


class WorkerLike(Protocol):
    id: uuid.UUID
    company_id: uuid.UUID | None


class PartyLike(Protocol):
    id: uuid.UUID


def capabilities(principal: Principal) -> frozenset[Action]:
    if principal.role == "partner":
        granted: set[Action] = set()
        for scope in principal.scopes:
            granted |= PARTNER_SCOPES.get(scope, frozenset())
        return frozenset(granted)
    return CAPABILITIES.get(principal.role, frozenset())


def can(principal: Principal, action: Action) -> bool:
    return action in capabilities(principal)


def require(principal: Principal, action: Action) -> Principal:
    """403 unless the caller's role (or partner scopes) allows ``action`` at all."""
    if not can(principal, action):
        if principal.role == "partner":
            raise forbidden(f"This partner's scopes do not allow {action}")
        raise forbidden(f"Role {principal.role} may not do {action}")
    return principal


def policy(action: Action) -> Callable[..., Any]:
    """The kit route policy for ``action``: the roles of :data:`CAPABILITIES` that may attempt
    it, and the partner scope that grants it (if any)."""
    roles = [r for r in ROLES if r != "partner" and action in CAPABILITIES.get(r, frozenset())]
    scopes = [s for s, actions in PARTNER_SCOPES.items() if action in actions]
    return allow(*roles, scopes=scopes)


def roles_allowed(action: Action) -> list[str]:
    """For documentation: roles (and partner scopes) that may attempt ``action``."""
    roles = [role for role in ROLES if action in CAPABILITIES.get(role, frozenset())]
    scopes = [f"partner[{s}]" for s, actions in PARTNER_SCOPES.items() if action in actions]
    return roles + scopes


# --- workers -------------------------------------------------------------------------------


def is_self(principal: Principal, worker: WorkerLike) -> bool:
    return principal.role == "worker" and principal.acts_for(worker.id)


def is_employer_company(principal: Principal, worker: WorkerLike) -> bool:
    return principal.role == "company" and principal.acts_for(worker.company_id)


def may_touch_worker(principal: Principal, action: Action, worker: WorkerLike) -> bool:
    """Record-level rule for an action the caller's role may attempt (see :func:`require`)."""
    if not can(principal, action):
        return False
    if principal.is_privileged:
        return True
    if principal.role == "partner":
        return action in (A.WORKER_READ, A.WORKER_LIST)
    if action in (
        A.WORKER_READ,
        A.WORKER_UPDATE,
        A.WORKER_STATUS,
        A.WORKER_HISTORY,
        A.EMPLOYMENT_LEAVE,
    ):
        return is_self(principal, worker) or is_employer_company(principal, worker)
    if action in (A.WORKER_VERIFY,):
        return is_employer_company(principal, worker)
    if action in (A.CONSENT_GRANT, A.CONSENT_WITHDRAW, A.CONSENT_READ):
        return is_self(principal, worker)
    if action == A.EMPLOYMENT_JOIN:
        # Any existing worker may be asked to join; the company must be the caller's own
        # (checked by may_employ_into), and the worker must be free (a 409 otherwise).
        return principal.role == "company"
    return False


def ensure_worker(principal: Principal, action: Action, worker: WorkerLike) -> None:
    """404 (not 403) when the caller may not touch this worker: existence stays private."""
    if not may_touch_worker(principal, action, worker):
        raise NotFound("worker", worker.id)


def may_employ_into(principal: Principal, company_id: uuid.UUID) -> bool:
    """Officers may attach a worker to any company; company staff only to their own."""
    return principal.is_privileged or (
        principal.role == "company" and principal.acts_for(company_id)
    )


def ensure_employ_into(principal: Principal, company_id: uuid.UUID) -> None:
    if not may_employ_into(principal, company_id):
        raise forbidden("Company staff may only employ workers into their own company")


def sees_worker_numbers(principal: Principal, worker: WorkerLike) -> bool:
    """Plaintext ID-card and phone numbers: the worker themself, officers and admins."""
    return principal.is_privileged or is_self(principal, worker)


def editable_worker_fields(principal: Principal, worker: WorkerLike) -> frozenset[str] | None:
    """Fields the caller may PATCH; None means every patchable field."""
    from services.registry.parties.schemas.workers import WORKER_SELF_EDITABLE

    if principal.is_privileged or is_employer_company(principal, worker):
        return None
    if is_self(principal, worker):
        return WORKER_SELF_EDITABLE
    return frozenset()


def ensure_fields(principal: Principal, worker: WorkerLike, fields: Iterable[str]) -> None:
    allowed = editable_worker_fields(principal, worker)
    if allowed is None:
        return
    refused = sorted(set(fields) - allowed)
    if refused:
        raise forbidden(f"You may not change {', '.join(refused)}; ask your company or an officer")


def may_transition(principal: Principal, worker: WorkerLike, source: str, target: str) -> bool:
    """Role-level part of a status change (the life-cycle table is checked separately)."""
    if principal.is_privileged:
        return True
    if is_employer_company(principal, worker):
        return (source, target) in COMPANY_TRANSITIONS
    if is_self(principal, worker):
        return target == "left"
    return False


def worker_list_company(principal: Principal, requested: uuid.UUID | None) -> uuid.UUID | None:
    """The company filter a worker list must apply for this caller.

    Officers, admins and partners with ``workers:read`` list everyone (optionally filtered);
    company staff always see only their own current employees.
    """
    require(principal, A.WORKER_LIST)
    if principal.role != "company":
        return requested
    if principal.party_id is None:
        raise forbidden("This company account is not linked to a company")
    if requested is not None and requested != principal.party_id:
        raise forbidden("Company staff may list only their own company's workers")
    return principal.party_id


# --- organisations, employers, partners -------------------------------------------------------

_OWN_ROLE: dict[str, Role] = {
    "company": "company",
    "institution": "institution",
    "employer": "employer",
}


def may_see_party(principal: Principal, kind: str, party: PartyLike) -> bool:
    """Company/institution staff see their own organisation; an employer their own record."""
    return principal.is_privileged or (
        principal.role == _OWN_ROLE.get(kind) and principal.acts_for(party.id)
    )


def ensure_party(principal: Principal, kind: str, party: PartyLike) -> None:
    if not may_see_party(principal, kind, party):
        raise NotFound(kind, party.id)


def sees_party_numbers(principal: Principal, kind: str, party: PartyLike) -> bool:
    """An organisation's contact phone (or an employer's phone) in full: own staff, officers."""
    return may_see_party(principal, kind, party)
