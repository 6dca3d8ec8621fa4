"""Unit tests of services.registry.parties.access: the rules themselves, without HTTP."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

from services.kit.errors import NotFound, Problem
from services.kit.principal import ROLES, Principal, Role
from services.registry.parties import access
from services.registry.parties.access import (
    CAPABILITIES,
    COMPANY_TRANSITIONS,
    TRANSITIONS,
    WORKERS_READ_SCOPE,
    Action,
)
from services.registry.parties.schemas import WORKER_SELF_EDITABLE, WorkerPatch


@dataclass
class W:
    id: uuid.UUID
    company_id: uuid.UUID | None


@dataclass
class P:
    id: uuid.UUID


WORKER = W(uuid.uuid4(), uuid.uuid4())
FREE_WORKER = W(uuid.uuid4(), None)


def who(role: Role, party: uuid.UUID | None = None, *scopes: str) -> Principal:
    return Principal(subject=str(uuid.uuid4()), role=role, party_id=party, scopes=frozenset(scopes))


OFFICER = who("officer")
ADMIN = who("admin")
SELF = who("worker", WORKER.id)
OTHER_WORKER = who("worker", uuid.uuid4())
EMPLOYER_CO = who("company", WORKER.company_id)
OTHER_CO = who("company", uuid.uuid4())
READER = who("partner", uuid.uuid4(), WORKERS_READ_SCOPE)
PARTNER = who("partner", uuid.uuid4(), "jobs:write")


def test_every_role_has_an_entry_and_partners_rely_on_scopes() -> None:
    assert set(CAPABILITIES) == set(ROLES)
    assert CAPABILITIES["partner"] == frozenset()
    assert access.capabilities(READER) == {Action.WORKER_READ, Action.WORKER_LIST}
    assert access.capabilities(PARTNER) == frozenset()


def test_every_action_is_open_to_someone() -> None:
    for action in Action:
        assert access.roles_allowed(action), action


def test_officers_do_everything_but_speak_for_a_worker() -> None:
    for principal in (OFFICER, ADMIN):
        for action in Action:
            expected = action not in (Action.CONSENT_GRANT, Action.CONSENT_WITHDRAW)
            assert access.can(principal, action) is expected, (principal.role, action)


def test_require_is_403_with_the_reason() -> None:
    with pytest.raises(Problem) as caught:
        access.require(who("employer"), Action.WORKER_READ)
    assert caught.value.status == 403
    with pytest.raises(Problem) as caught:
        access.require(PARTNER, Action.WORKER_LIST)
    assert caught.value.status == 403
    assert "scopes" in (caught.value.detail or "")
    assert access.require(READER, Action.WORKER_LIST) is READER


@pytest.mark.parametrize(
    ("principal", "action", "expected"),
    [
        (SELF, Action.WORKER_READ, True),
        (OTHER_WORKER, Action.WORKER_READ, False),
        (EMPLOYER_CO, Action.WORKER_READ, True),
        (OTHER_CO, Action.WORKER_READ, False),
        (READER, Action.WORKER_READ, True),
        (PARTNER, Action.WORKER_READ, False),
        (who("institution", uuid.uuid4()), Action.WORKER_READ, False),
        (SELF, Action.WORKER_UPDATE, True),
        (EMPLOYER_CO, Action.WORKER_UPDATE, True),
        (READER, Action.WORKER_UPDATE, False),
        (SELF, Action.WORKER_VERIFY, False),
        (EMPLOYER_CO, Action.WORKER_VERIFY, True),
        (OTHER_CO, Action.WORKER_VERIFY, False),
        (SELF, Action.CONSENT_GRANT, True),
        (OTHER_WORKER, Action.CONSENT_GRANT, False),
        (OFFICER, Action.CONSENT_GRANT, False),
        (EMPLOYER_CO, Action.CONSENT_READ, False),
        (OFFICER, Action.CONSENT_READ, True),
        (SELF, Action.EMPLOYMENT_LEAVE, True),
        (OTHER_CO, Action.EMPLOYMENT_LEAVE, False),
        (OTHER_CO, Action.EMPLOYMENT_JOIN, True),  # into its own company (checked separately)
        (SELF, Action.EMPLOYMENT_JOIN, False),
        (READER, Action.WORKER_HISTORY, False),
        (SELF, Action.WORKER_LOOKUP, False),
        (OFFICER, Action.WORKER_LOOKUP, True),
    ],
)
def test_record_relations(principal: Principal, action: Action, expected: bool) -> None:
    assert access.may_touch_worker(principal, action, WORKER) is expected


def test_a_worker_without_company_is_nobodys_employee() -> None:
    nobody = who("company", None)
    assert not access.may_touch_worker(nobody, Action.WORKER_READ, FREE_WORKER)
    assert not access.is_employer_company(nobody, FREE_WORKER)


def test_hidden_records_are_404() -> None:
    with pytest.raises(NotFound):
        access.ensure_worker(OTHER_CO, Action.WORKER_READ, WORKER)
    access.ensure_worker(EMPLOYER_CO, Action.WORKER_READ, WORKER)


def test_plaintext_numbers_for_self_and_officers_only() -> None:
    assert access.sees_worker_numbers(SELF, WORKER)
    assert access.sees_worker_numbers(OFFICER, WORKER)
    assert access.sees_worker_numbers(ADMIN, WORKER)
    for principal in (EMPLOYER_CO, READER, OTHER_WORKER):
        assert not access.sees_worker_numbers(principal, WORKER)


def test_editable_fields() -> None:
    assert access.editable_worker_fields(OFFICER, WORKER) is None
    assert access.editable_worker_fields(EMPLOYER_CO, WORKER) is None
    assert access.editable_worker_fields(SELF, WORKER) == WORKER_SELF_EDITABLE
    assert WORKER_SELF_EDITABLE <= set(WorkerPatch.model_fields)
    access.ensure_fields(SELF, WORKER, ["phone", "tracks"])
    with pytest.raises(Problem) as caught:
        access.ensure_fields(SELF, WORKER, ["phone", "target_groups", "name"])
    assert caught.value.status == 403
    assert "name, target_groups" in (caught.value.detail or "")


def test_life_cycle_table() -> None:
    statuses = {"registered", "verified", "active", "suspended", "left"}
    assert set(TRANSITIONS) == statuses
    assert all(targets <= statuses for targets in TRANSITIONS.values())
    assert TRANSITIONS["left"] == {"registered"}  # re-admission only
    assert "active" in TRANSITIONS["suspended"]
    assert all(target in TRANSITIONS[source] for source, target in COMPANY_TRANSITIONS)


@pytest.mark.parametrize(
    ("principal", "source", "target", "expected"),
    [
        (OFFICER, "left", "registered", True),
        (EMPLOYER_CO, "verified", "active", True),
        (EMPLOYER_CO, "active", "suspended", True),
        (EMPLOYER_CO, "suspended", "active", True),
        (EMPLOYER_CO, "active", "left", False),
        (EMPLOYER_CO, "left", "registered", False),
        (OTHER_CO, "verified", "active", False),
        (SELF, "active", "left", True),
        (SELF, "suspended", "active", False),
        (READER, "active", "left", False),
    ],
)
def test_who_moves_a_worker(principal: Principal, source: str, target: str, expected: bool) -> None:
    assert access.may_transition(principal, WORKER, source, target) is expected


def test_worker_list_scope() -> None:
    assert access.worker_list_company(OFFICER, None) is None
    company = uuid.uuid4()
    assert access.worker_list_company(OFFICER, company) == company
    assert access.worker_list_company(READER, None) is None
    assert access.worker_list_company(EMPLOYER_CO, None) == WORKER.company_id
    with pytest.raises(Problem):
        access.worker_list_company(EMPLOYER_CO, company)
    with pytest.raises(Problem):
        access.worker_list_company(who("company", None), None)
    for principal in (SELF, PARTNER, who("institution"), who("employer")):
        with pytest.raises(Problem):
            access.worker_list_company(principal, None)


def test_employ_into_own_company_only() -> None:
    assert access.may_employ_into(OFFICER, uuid.uuid4())
    assert access.may_employ_into(EMPLOYER_CO, WORKER.company_id)  # type: ignore[arg-type]
    assert not access.may_employ_into(EMPLOYER_CO, uuid.uuid4())
    assert not access.may_employ_into(SELF, uuid.uuid4())


def test_organisations_are_seen_by_their_own_staff() -> None:
    company = P(uuid.uuid4())
    assert access.may_see_party(who("company", company.id), "company", company)
    assert not access.may_see_party(who("company", uuid.uuid4()), "company", company)
    assert not access.may_see_party(who("institution", company.id), "company", company)
    assert access.may_see_party(OFFICER, "partner", company)
    partner = P(uuid.uuid4())
    assert not access.may_see_party(
        who("partner", partner.id, WORKERS_READ_SCOPE), "partner", partner
    )
    employer = P(uuid.uuid4())
    assert access.sees_party_numbers(who("employer", employer.id), "employer", employer)
    assert not access.sees_party_numbers(who("employer", uuid.uuid4()), "employer", employer)
