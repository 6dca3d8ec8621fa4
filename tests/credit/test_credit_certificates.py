"""Certificates issued from training's completion events, over a real nats-server."""

from __future__ import annotations

import uuid
from datetime import date

from contracts.credit import CertificateIssued
from services.credit.numbers import local_date
from services.credit.service import add_years
from tests.credit.credit_support import Credit, enrollment_completed
from tests.support.apps import eventually

CONSUMER = "credit-certificates"


async def issued_events(credit: Credit) -> list[CertificateIssued]:
    """Every CertificateIssued on the CREDIT stream, once the relay has drained the outbox."""
    await eventually(credit.all_published)
    envelopes = await credit.peer.read("CREDIT", "credit.certificate.issued")
    assert all(e.type == CertificateIssued.event_type for e in envelopes)
    return [CertificateIssued.model_validate(e.data) for e in envelopes]


def seq_of(number: str) -> int:
    return int(number.rsplit("-", 1)[1])


async def test_one_certificate_per_completion_even_if_redelivered(credit: Credit) -> None:
    worker_id = await credit.known_worker()
    event = enrollment_completed(worker_id)
    envelope = await credit.peer.publish(event)
    # The same CloudEvent again under another Nats-Msg-Id: JetStream keeps both messages,
    # so only the inbox stands between it and a second certificate.
    await credit.peer.publish(envelope, msg_id=str(uuid.uuid4()))
    await eventually(lambda: credit.processed(CONSUMER, 2))

    [certificate] = await credit.certificates()
    year = local_date(certificate.issued_at).year
    assert certificate.number == f"ZQJS-{year}-000001"
    assert certificate.kind == "training"
    assert str(certificate.enrollment_id) == event.enrollment_id
    assert certificate.worker_id == worker_id
    assert certificate.track == "elderly_care"
    assert certificate.valid_until == add_years(local_date(certificate.issued_at), 3)

    [issued] = await issued_events(credit)
    assert issued.certificate_id == str(certificate.id)
    assert issued.certificate_number == certificate.number
    assert issued.kind == "training"
    assert issued.worker_id == str(worker_id)
    assert (issued.course_id, issued.enrollment_id) == (event.course_id, event.enrollment_id)
    assert issued.track == "elderly_care"
    assert issued.issued_at == certificate.issued_at
    assert issued.valid_until == certificate.valid_until

    # A second completion (another enrolment) takes the next number of the year.
    second = enrollment_completed(worker_id)
    await credit.peer.publish(second)
    [next_one] = await eventually(lambda: credit.certificates(second.enrollment_id))
    assert seq_of(next_one.number) == seq_of(certificate.number) + 1
    assert len(await issued_events(credit)) == 2


async def test_a_completion_republished_under_a_new_event_id_changes_nothing(
    credit: Credit,
) -> None:
    worker_id = await credit.known_worker()
    event = enrollment_completed(worker_id)
    await credit.peer.publish(event)
    await credit.peer.publish(event)  # a fresh envelope: new CloudEvent id, same enrolment
    await eventually(lambda: credit.processed(CONSUMER, 2))
    assert len(await credit.certificates(event.enrollment_id)) == 1
    assert len(await issued_events(credit)) == 1


async def test_no_certificate_when_not_passed(credit: Credit) -> None:
    worker_id = await credit.known_worker()
    failed = enrollment_completed(worker_id, passed=False)
    await credit.peer.publish(failed)
    completion = await eventually(lambda: credit.completion(failed.enrollment_id))
    assert completion.passed is False
    assert completion.certificate_id is None
    assert await credit.certificates() == []

    # The failure took no number: the next pass is still the year's first certificate.
    passed = await credit.issue(worker_id)
    assert seq_of(passed.number) == 1
    completion = await credit.completion(str(passed.enrollment_id))
    assert completion is not None and completion.certificate_id == passed.id
    assert [e.certificate_id for e in await issued_events(credit)] == [str(passed.id)]


async def test_certificate_valid_for_three_years(credit: Credit) -> None:
    certificate = await credit.issue(await credit.known_worker())
    issued_on = local_date(certificate.issued_at)
    assert certificate.valid_until == add_years(issued_on, 3)
    assert certificate.valid_until is not None and certificate.valid_until > date.today()
