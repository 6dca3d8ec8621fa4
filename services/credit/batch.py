"""Set-based certificate issuing for a batch of training completions (credit-certificates).

:func:`issue_for_completions` leaves the state and events that the one-event path
(``record_completion`` → ``credit_files.record_certificate`` → ``cards.reevaluate``) leaves
for each completion in turn, with a few statements for the whole batch: the completions and
certificates are checked, numbered (one block of numbers, in the events' order) and inserted
together, the credit-file records are written and the files recomputed together, and only
the card re-evaluation stays per worker (skipped, as a no-op, for a worker with neither card
nor card facts). It takes a batch only when that equivalence is plain:
every enrolment and every worker appears once and no certificate exists yet for any of them;
otherwise it answers False and the caller applies the events one by one.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, insert, literal, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.credit import CertificateIssued
from contracts.training import EnrollmentCompleted
from services.credit.codes import new_check_code
from services.credit.credentials import cards
from services.credit.credentials.models import CardWorkerFacts, HomeServiceCard
from services.credit.files import service as credit_files
from services.credit.files.models import CreditParty, CreditRecord
from services.credit.files.policy import explain, polarity_of
from services.credit.models import Certificate, NumberCounter, TrainingCompletion
from services.credit.numbers import SERIES, format_number, local_date
from services.credit.service import TRAINING, TRAINING_VALIDITY_YEARS, add_years, certificate_issued
from services.kit.dialect import dialect_insert, insert_for, per_dialect
from services.kit.ids import new_id
from services.kit.one_of import one_of_param
from services.kit.outbox import publish_many
from services.kit.types import utcnow

_counters = NumberCounter.__table__
_certificates = Certificate.__table__
_completions = TrainingCompletion.__table__
_records = CreditRecord.__table__

# The batch's fixed statements, built once: built per batch, each cost 25-80 µs to construct
# and key for the compiled cache. RETURNING makes a many-row INSERT one statement
# ("insertmanyvalues").
_INSERT_CERTIFICATES = insert(_certificates).returning(_certificates.c.id)
_INSERT_COMPLETIONS = insert(_completions).returning(_completions.c.enrollment_id)
_INSERT_RECORDS = insert(_records).returning(_records.c.id)
BUMP_COUNTER = (
    update(_counters)
    .where(_counters.c.series == SERIES, _counters.c.year == bindparam("bump_year"))
    .values(value=_counters.c.value + bindparam("bump_count"))
    .returning(_counters.c.value)
)


#: A certificate of this batch as its row: the INSERT's parameters, and (as attributes) what
#: the event and the credit record read. An ORM ``Certificate`` per row cost ~40 µs to build
#: and read back, 12 % of the batch's CPU, for objects no session ever tracked.
_NO_VALUES: dict[str, object] = {column.key: None for column in _certificates.columns}


async def issue_for_completions(
    session: AsyncSession, completions: Sequence[EnrollmentCompleted]
) -> bool:
    """Apply ``completions`` set-based; False (nothing done) when the batch does not qualify."""
    enrollments = [uuid.UUID(c.enrollment_id) for c in completions]
    workers = [uuid.UUID(c.worker_id) for c in completions]
    if len(set(enrollments)) != len(enrollments) or len(set(workers)) != len(workers):
        return False
    logged, certified = await _logged_and_certified(session, enrollments)
    fresh = [c for c in completions if uuid.UUID(c.enrollment_id) not in logged]
    passed = [c for c in fresh if c.passed]
    if any(uuid.UUID(c.enrollment_id) in certified for c in passed):
        return False
    now = utcnow()
    first = await _reserve(session, local_date(now).year, len(passed))
    # Rows go in with one cached INSERT each for the whole batch (Core: no unit of work to
    # track; RETURNING makes it one multi-row statement on the server, "insertmanyvalues");
    # the certificates stay plain rows for the events and records.
    certificates: list[SimpleNamespace] = []
    completion_rows: list[dict[str, object]] = []
    for data in fresh:
        certificate: SimpleNamespace | None = None
        if data.passed:
            certificate = certificate_row(data, format_number(local_date(now).year, first), now)
            first += 1
            certificates.append(certificate)
        completion_rows.append(completion_row(data, certificate, now))
    if certificates:
        await session.execute(
            _INSERT_CERTIFICATES,
            [vars(c) for c in certificates],
        )
    if completion_rows:
        await session.execute(_INSERT_COMPLETIONS, completion_rows)
    await _record_certificates(session, certificates, now)
    await _reevaluate_cards(session, [c.worker_id for c in certificates])
    return True


async def _logged_and_certified(
    session: AsyncSession, enrollments: list[uuid.UUID]
) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    """Which of ``enrollments`` have a completion logged, and which a certificate: one round
    trip for both (each costs ~0.4 ms of CPU across client and server)."""
    rows = await session.execute(_logged_or_certified(session), {"enrollments": enrollments})
    logged: set[uuid.UUID] = set()
    certified: set[uuid.UUID] = set()
    for enrollment_id, is_logged in rows:
        (logged if is_logged else certified).add(enrollment_id)
    return logged, certified


def logged_or_certified(dialect: str) -> Any:
    """(enrollment id, True) per logged completion, (enrollment id, False) per certificate."""
    return union_all(
        select(_completions.c.enrollment_id, literal(True).label("logged")).where(
            one_of_param(_completions.c.enrollment_id, "enrollments", dialect)
        ),
        select(_certificates.c.enrollment_id, literal(False)).where(
            one_of_param(_certificates.c.enrollment_id, "enrollments", dialect)
        ),
    )


_logged_or_certified = per_dialect(logged_or_certified)


@per_dialect
def _cards_of(dialect: str) -> Any:
    return select(HomeServiceCard).where(
        one_of_param(HomeServiceCard.worker_id, "workers", dialect)
    )


@per_dialect
def _facts_of(dialect: str) -> Any:
    return select(CardWorkerFacts).where(
        one_of_param(CardWorkerFacts.worker_id, "workers", dialect)
    )


async def _reevaluate_cards(session: AsyncSession, worker_ids: list[uuid.UUID]) -> None:
    """``cards.reevaluate`` for each worker that has a card or card facts; for the others it
    is a no-op (no facts: not eligible, and no card to suspend). Cards, facts and the
    workers' valid training certificates are loaded in one statement each and held here
    while the workers are judged: the identity map holds objects weakly, and ``evaluate``'s
    ``session.get`` finds the facts only while something else keeps them alive."""
    if not worker_ids:
        return
    workers = {"workers": worker_ids}
    cards_by_worker = {
        card.worker_id: card for card in (await session.scalars(_cards_of(session), workers)).all()
    }
    facts_by_worker = {
        facts.worker_id: facts
        for facts in (await session.scalars(_facts_of(session), workers)).all()
    }
    judged = [w for w in worker_ids if w in cards_by_worker or w in facts_by_worker]
    if not judged:
        return
    day = cards.today()
    trained = await cards.valid_training_certificates_of(session, judged, day)
    for worker_id in judged:
        count = trained.get(worker_id, 0)
        card = cards_by_worker.get(worker_id)
        await cards.reevaluate_card(session, worker_id, card, day, trained=count)


def completion_row(
    data: EnrollmentCompleted, certificate: SimpleNamespace | None, recorded_at: datetime
) -> dict[str, object]:
    """The completion log's row for ``data`` (with its certificate, if it passed)."""
    return {
        "enrollment_id": uuid.UUID(data.enrollment_id),
        "worker_id": uuid.UUID(data.worker_id),
        "course_id": uuid.UUID(data.course_id),
        "course_title": data.course_title,
        "track": data.track,
        "training_type": data.training_type,
        "hours": data.hours,
        "score": data.score,
        "passed": data.passed,
        "completed_at": data.completed_at,
        "certificate_id": certificate.id if certificate is not None else None,
        "recorded_at": recorded_at,
    }


def record_rows(certificates: Sequence[SimpleNamespace], now: datetime) -> list[dict[str, object]]:
    """The positive credit-file record of each certificate (``record_certificate``'s)."""
    polarity = polarity_of("certificate")
    return [
        {
            "id": new_id(),
            "party_id": certificate.worker_id,
            "party_kind": "worker",
            "kind": "certificate",
            "polarity": polarity,
            "severity": 1,
            "source": "event",
            "source_ref": f"{CertificateIssued.event_type}:{certificate.id}"[:200],
            "dedupe_key": f"certificate:{certificate.id}",
            "reason": f"{certificate.kind} certificate {certificate.number}",
            "effective_from": certificate.issued_at,
            "effective_until": None,
            "publish_until": None,
            "supersedes_id": None,
            "recorded_by": "system",
            "created_at": now,
        }
        for certificate in certificates
    ]


def certificate_row(data: EnrollmentCompleted, number: str, issued_at: datetime) -> SimpleNamespace:
    """Every column of the certificate for ``data``; those it leaves unset are None, as the
    ORM object inserted them."""
    row = dict(_NO_VALUES)
    row.update(
        id=new_id(),
        number=number,
        check_code=new_check_code(),
        kind=TRAINING,
        worker_id=uuid.UUID(data.worker_id),
        track=data.track,
        course_id=uuid.UUID(data.course_id),
        course_title=data.course_title,
        training_type=data.training_type,
        enrollment_id=uuid.UUID(data.enrollment_id),
        issued_at=issued_at,
        valid_until=add_years(local_date(issued_at), TRAINING_VALIDITY_YEARS),
        version=1,
    )
    return SimpleNamespace(**row)


async def _reserve(session: AsyncSession, year: int, count: int) -> int:
    """The first of ``count`` consecutive certificate numbers of ``year``, reserved in this
    transaction (one ``UPDATE … RETURNING``, as ``numbers.next_seq`` does for one)."""
    if count == 0:
        return 0
    bump = {"bump_year": year, "bump_count": count}
    value = (await session.execute(BUMP_COUNTER, bump)).scalar_one_or_none()
    if value is None:
        await session.execute(
            dialect_insert(session, _counters)
            .values(series=SERIES, year=year, value=0)
            .on_conflict_do_nothing(index_elements=["series", "year"])
        )
        value = (await session.execute(BUMP_COUNTER, bump)).scalar_one()
    format_number(year, int(value))  # the last one must fit the public format
    return int(value) - count + 1


async def _record_certificates(
    session: AsyncSession, certificates: Sequence[SimpleNamespace], now: datetime
) -> None:
    """``credit_files.record_certificate`` for each (new workers' files, one record each),
    with the certificates' events and the new files' ones in one outbox INSERT."""
    if not certificates:
        return
    policy = await credit_files.current_policy(session)
    party_ids = [c.worker_id for c in certificates]
    parties = await _files(session, party_ids)
    missing = [p for p in party_ids if p not in parties]
    opened: dict[uuid.UUID, CreditParty] = {}
    if missing:
        opened = await _open_files(session, missing, policy, now)
        parties.update(opened)
        lost_race = [p for p in missing if p not in parties]  # a concurrent opener's files
        if lost_race:
            parties.update(await _files(session, lost_race))
    # The certificates' events first, as the one-event path writes them.
    await publish_many(
        session,
        [certificate_issued(c) for c in certificates]
        + [credit_files.level_event(opened[p], None, None) for p in missing if p in opened],
    )
    await session.execute(_INSERT_RECORDS, record_rows(certificates, now))
    await credit_files.recompute_many(session, [parties[p] for p in party_ids], policy)


async def _files(session: AsyncSession, party_ids: list[uuid.UUID]) -> dict[uuid.UUID, CreditParty]:
    """The credit files of ``party_ids`` that exist, fresh from the database."""
    found = await session.scalars(_files_of(session), {"parties": party_ids})
    return {p.party_id: p for p in found.all()}


@per_dialect
def _files_of(dialect: str) -> Any:
    return (
        select(CreditParty)
        .where(one_of_param(CreditParty.party_id, "parties", dialect))
        .execution_options(populate_existing=True)
    )


@per_dialect
def _open_missing(dialect: str) -> Any:
    """INSERT files, skipping those another transaction opened; RETURNING the ORM rows."""
    return (
        insert_for(dialect, CreditParty)
        .on_conflict_do_nothing(index_elements=[CreditParty.party_id])
        .returning(CreditParty)
    )


def new_file_rows(
    missing: Sequence[uuid.UUID], policy: credit_files.Policy, now: datetime
) -> list[dict[str, object]]:
    """A worker's new credit file per id, at the policy's base score (``open_file``'s)."""
    score, level, _ = explain(policy.rules, [])
    return [
        {
            "party_id": party_id,
            "party_kind": "worker",
            "name": None,
            "opened_at": now,
            "score": score,
            "level": level,
            "policy_version": policy.version,
            "computed_at": now,
            "explanation": [],
        }
        for party_id in missing
    ]


async def _open_files(
    session: AsyncSession, missing: list[uuid.UUID], policy: credit_files.Policy, now: datetime
) -> dict[uuid.UUID, CreditParty]:
    """``credit_files.open_file`` for workers that had no file; the files this transaction
    opened (a concurrent opener's file wins: then it is not here, and gets no event). The
    caller writes their events."""
    values = new_file_rows(missing, policy, now)
    # One cached statement for many parameter sets (a multi-row VALUES literal would be
    # compiled anew per batch). RETURNING the entity gives the files as ORM rows for the
    # recompute, so they need not be read back.
    return {
        party.party_id: party
        for party in (await session.scalars(_open_missing(session), values)).all()
    }
