"""Registry events read back from the real nats-server: right models, right state, no numbers."""

from __future__ import annotations

from contracts.catalog import parse_data
from contracts.registry import (
    CompanyRegistered,
    EmployerRegistered,
    EmploymentChanged,
    InstitutionRegistered,
    PartnerRegistered,
    WorkerRegistered,
    WorkerStatusChanged,
    WorkerUpdated,
    WorkerVerified,
)
from services.kit.idnumbers import mask_id_card_tail
from tests.registry.test_parties_support import (
    OFFICER,
    Registry,
    bearer,
    mask_mobile,
    new_id_card,
    new_phone,
)


async def test_worker_events_carry_state_and_only_masked_numbers(registry: Registry) -> None:
    company = await registry.company()
    number, phone = new_id_card(), new_phone()
    staff = bearer("company", company["id"])
    worker = await registry.worker(
        as_=staff, id_card_number=number, phone=phone, target_groups=["4050"]
    )
    wid = worker["id"]
    await registry.post(f"/api/v1/workers/{wid}/verify", None, staff)
    await registry.status(wid, "active", staff, reason="上岗")
    etag = (await registry.client.get(f"/api/v1/workers/{wid}", headers=OFFICER)).headers["etag"]
    new_number = new_phone()
    patched = await registry.client.patch(
        f"/api/v1/workers/{wid}",
        json={"phone": new_number, "county": "dinghu"},
        headers={**OFFICER, "If-Match": etag},
    )
    assert patched.status_code == 200
    await registry.client.delete(f"/api/v1/workers/{wid}/employment", headers=OFFICER)

    events = await registry.events("registry.>")
    by_type: dict[type, list] = {}
    for envelope in events:
        data = parse_data(envelope)
        by_type.setdefault(type(data), []).append(data)
        assert envelope.source.endswith("registry")
        # Never a plaintext number anywhere in the envelope.
        raw = envelope.model_dump_json()
        for secret in (number, phone, new_number, number[6:14], new_number[6:14]):
            assert secret not in raw  # the plaintext, nor the birth date digits

    (registered,) = by_type[WorkerRegistered]
    assert registered.worker_id == wid
    # Events never carry what rebuilds the number: the tail only, and the birth year only.
    assert registered.id_card_masked == mask_id_card_tail(number)
    assert registered.birth_date is None
    assert registered.birth_year == int(number[6:10])

    assert registered.phone_masked == mask_mobile(phone)
    assert registered.target_groups == ["4050"]
    assert registered.status == "registered"

    joined, left = by_type[EmploymentChanged]
    assert (joined.company_id, joined.kind) == (company["id"], "employee_based")
    assert (left.company_id, left.previous_company_id, left.kind) == (None, company["id"], None)

    (verified,) = by_type[WorkerVerified]
    assert verified.worker_id == wid
    statuses = [(e.from_status, e.to_status) for e in by_type[WorkerStatusChanged]]
    assert statuses == [("registered", "verified"), ("verified", "active")]
    assert by_type[WorkerStatusChanged][1].reason == "上岗"

    (updated,) = by_type[WorkerUpdated]
    assert updated.county == "dinghu"
    assert updated.phone_masked == mask_mobile(new_number)
    assert updated.status == "active"

    # Per-aggregate order: registered before verified before the status change to active.
    order = [e.type for e in events if e.subject == wid]
    assert order.index("jiasao.registry.worker.registered.v1") < order.index(
        "jiasao.registry.worker.verified.v1"
    )


async def test_organisation_events(registry: Registry) -> None:
    company = await registry.company(honours=["省级家政服务示范企业"])
    institution = await registry.institution()
    employer = await registry.employer(city="macau", district="氹仔")
    partner = await registry.partner()
    events = {type(d): d for d in (parse_data(e) for e in await registry.events())}
    assert events[CompanyRegistered].company_id == company["id"]
    assert events[CompanyRegistered].credit_code == company["credit_code"]
    assert events[CompanyRegistered].honours == ["省级家政服务示范企业"]
    assert events[InstitutionRegistered].level == institution["level"]
    assert events[EmployerRegistered].employer_id == employer["id"]
    assert events[EmployerRegistered].district == "氹仔"
    assert events[PartnerRegistered].partner_id == partner["id"]
    assert events[PartnerRegistered].kind == "recruitment_platform"


async def test_a_refused_change_publishes_nothing(registry: Registry) -> None:
    worker = await registry.worker()
    await registry.events()  # everything so far is out
    before = len(await registry.events())
    response = await registry.status(worker["id"], "active")  # registered → active: refused
    assert response.status_code == 409
    assert len(await registry.events()) == before
