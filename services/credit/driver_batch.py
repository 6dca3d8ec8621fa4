"""Training certificates for a batch of completions, on the plain driver (the hot path).

Credit's share of a certificate's chain was the largest of any service: the set-based batch
(:mod:`services.credit.batch`) ran ~15 statements per transaction through the ORM session,
~220-320 µs of client CPU each plus the session's ceremony. This path runs the same effects
as Core :class:`~services.kit.statements.Statement` s in the inbox's
``Database.transaction()`` (asyncpg, or sqlite3 on the loop), for what nearly every
completion needs: certificates numbered, inserted and logged, the workers' files opened or
read, one positive record each, the files rescored, the events written.

What needs the ORM goes to the session path by
:class:`~services.kit.subscriptions.NeedsSession`, decided before anything is written where
it can be: a batch naming an enrolment or a worker twice, a certificate already issued for an
enrolment whose completion was not logged, a card to issue, suspend or reinstate, the year's
first certificate number. Three cases only show after the writes, and the transaction then
rolls back whole: a file another transaction opened meanwhile, a file on a list, a level that
moves into or out of a list's level.
The session path (``handlers.handle_enrollments_completed``) leaves the same state, so
either way the effects are the one-event handler's for each completion in turn.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, insert, select

from contracts.envelope import CloudEvent, EventData
from contracts.training import EnrollmentCompleted
from services.credit import batch
from services.credit.batch import certificate_row, completion_row, record_rows
from services.credit.credentials import cards
from services.credit.credentials import policy as card_policy
from services.credit.credentials.models import CardWorkerFacts, HomeServiceCard
from services.credit.files import service as credit_files
from services.credit.files.lists import live_conditions
from services.credit.files.models import CreditListEntry, CreditParty, CreditRecord
from services.credit.files.policy import Counted, explain
from services.credit.models import Certificate, TrainingCompletion
from services.credit.numbers import format_number, local_date
from services.credit.service import certificate_issued
from services.kit.dialect import insert_for, per_dialect
from services.kit.one_of import one_of_param
from services.kit.outbox import publish_many_in
from services.kit.statements import Statement
from services.kit.subscriptions import NeedsSession
from services.kit.transactions import Transaction, fetch_one
from services.kit.types import utcnow

_certificates = Certificate.__table__
_completions = TrainingCompletion.__table__
_parties = CreditParty.__table__

#: Every column of a certificate, of a completion and of a record, bound by name.
_INSERT_CERTIFICATE = Statement(
    insert(_certificates).values({c.key: bindparam(c.key) for c in _certificates.columns})
)
_INSERT_COMPLETION = Statement(
    insert(_completions).values({c.key: bindparam(c.key) for c in _completions.columns})
)
_RECORD_KEYS = (
    "id party_id party_kind kind polarity severity source source_ref dedupe_key reason "
    "effective_from effective_until publish_until supersedes_id recorded_by created_at"
).split()
_INSERT_RECORD = Statement(
    insert(CreditRecord.__table__).values({key: bindparam(key) for key in _RECORD_KEYS})
)
_BUMP_COUNTER = Statement(batch.BUMP_COUNTER)
_NEWEST_CREDIT_POLICY = Statement(credit_files.NEWEST_POLICY)
_NEWEST_CARD_POLICY = Statement(card_policy.NEWEST)
#: What rescoring needs of a file (its explanation is rewritten, never read).
_FILE_COLUMNS = (
    _parties.c.party_id,
    _parties.c.party_kind,
    _parties.c.score,
    _parties.c.level,
    _parties.c.policy_version,
    _parties.c.computed_at,
)
_UPDATE_FILE = Statement(credit_files.UPDATE_PARTY)


@per_dialect
def _logged_or_certified(dialect: str) -> Statement:
    return Statement(batch.logged_or_certified(dialect))


@per_dialect
def _facts_of(dialect: str) -> Statement:
    f = CardWorkerFacts.__table__.c
    return Statement(
        select(
            f.worker_id,
            f.identity_verified,
            f.registry_status,
            f.health_check_valid_until,
            f.no_criminal_record_valid_until,
            f.company_id,
            f.blacklisted,
        ).where(one_of_param(f.worker_id, "workers", dialect))
    )


@per_dialect
def _cards_of(dialect: str) -> Statement:
    c = HomeServiceCard.__table__.c
    return Statement(
        select(c.worker_id, c.state, c.suspension, c.exception_reason).where(
            one_of_param(c.worker_id, "workers", dialect)
        )
    )


@per_dialect
def _trained_counts(dialect: str) -> Statement:
    return Statement(cards.trained_counts(dialect))


@per_dialect
def _files_of(dialect: str) -> Statement:
    """When each file of ``:parties`` was opened, and what rescoring needs of it."""
    return Statement(
        select(_parties.c.opened_at, *_FILE_COLUMNS).where(
            one_of_param(_parties.c.party_id, "parties", dialect)
        )
    )


@per_dialect
def _open_files(dialect: str) -> Statement:
    """Open a file; a file another transaction opened is left alone."""
    return Statement(
        insert_for(dialect, _parties)
        .values({c.key: bindparam(c.key) for c in _parties.columns})
        .on_conflict_do_nothing(index_elements=[_parties.c.party_id])
    )


@per_dialect
def _records_in_force(dialect: str) -> Statement:
    return Statement(credit_files.records_in_force_of(dialect))


@per_dialect
def _listed(dialect: str) -> Statement:
    """The files of ``:parties`` with an entry in publication at ``:now``."""
    return Statement(
        select(CreditListEntry.party_id).where(
            one_of_param(CreditListEntry.party_id, "parties", dialect),
            *live_conditions(bindparam("now")),
        )
    )


async def issue_on_driver(
    tx: Transaction, events: Sequence[tuple[CloudEvent[Any], EventData]]
) -> None:
    """The credit-certificates subscription's transaction handler."""
    completions = [data for _, data in events if isinstance(data, EnrollmentCompleted)]
    if len(completions) != len(events):
        raise NeedsSession
    await issue_for_completions(tx, completions)


async def issue_for_completions(
    tx: Transaction, completions: Sequence[EnrollmentCompleted]
) -> None:
    """Apply ``completions`` in ``tx``; :class:`NeedsSession` for what needs the ORM."""
    enrollments = [uuid.UUID(c.enrollment_id) for c in completions]
    workers = [uuid.UUID(c.worker_id) for c in completions]
    if len(set(enrollments)) != len(enrollments) or len(set(workers)) != len(workers):
        raise NeedsSession
    logged: set[uuid.UUID] = set()
    certified: set[uuid.UUID] = set()
    for row in await tx.fetch(_logged_or_certified(tx), enrollments=enrollments):
        (logged if row.logged else certified).add(row.enrollment_id)
    fresh = [c for c in completions if uuid.UUID(c.enrollment_id) not in logged]
    passed = [c for c in fresh if c.passed]
    if any(uuid.UUID(c.enrollment_id) in certified for c in passed):
        raise NeedsSession
    now = utcnow()
    await _refuse_card_changes(tx, [uuid.UUID(c.worker_id) for c in passed], local_date(now))
    first = await _reserve(tx, local_date(now).year, len(passed))
    certificates: list[SimpleNamespace] = []
    completion_rows: list[dict[str, object]] = []
    for data in fresh:
        certificate = None
        if data.passed:
            certificate = certificate_row(data, format_number(local_date(now).year, first), now)
            first += 1
            certificates.append(certificate)
        completion_rows.append(completion_row(data, certificate, now))
    await tx.execute_many(_INSERT_CERTIFICATE, [vars(c) for c in certificates])
    await tx.execute_many(_INSERT_COMPLETION, completion_rows)
    if certificates:
        await _record_certificates(tx, certificates, now)


async def _refuse_card_changes(tx: Transaction, workers: list[uuid.UUID], day: date) -> None:
    """NeedsSession if a certificate would issue, suspend or reinstate a card: judged as
    ``cards.reevaluate_card`` judges, with the new certificate counted."""
    if not workers:
        return
    facts = {row.worker_id: row for row in await tx.fetch(_facts_of(tx), workers=workers)}
    held = {row.worker_id: row for row in await tx.fetch(_cards_of(tx), workers=workers)}
    if not facts and not held:
        return
    _, rules = card_policy.rules_of(await fetch_one(tx, _NEWEST_CARD_POLICY))
    trained = {
        row.worker_id: int(row.count)
        for row in await tx.fetch(_trained_counts(tx), workers=workers, day=day)
    }
    for worker in workers:
        card = held.get(worker)
        conditions = cards.judge(
            facts.get(worker),
            rules,
            day,
            exception_reason=card.exception_reason if card is not None else None,
            trained=trained.get(worker, 0) + 1,  # the certificate this batch issues
        )
        if cards.change_due(card, all(c.met for c in conditions)) is not None:
            raise NeedsSession


async def _reserve(tx: Transaction, year: int, count: int) -> int:
    """The first of ``count`` consecutive certificate numbers of ``year`` (the year's first
    number, which creates its counter, is left to the session path)."""
    if count == 0:
        return 0
    rows = await tx.fetch(_BUMP_COUNTER, bump_year=year, bump_count=count)
    if not rows:
        raise NeedsSession
    last = int(rows[0].value)
    format_number(year, last)  # the last one must fit the public format
    return last - count + 1


async def _record_certificates(
    tx: Transaction, certificates: Sequence[SimpleNamespace], now: datetime
) -> None:
    """Each worker's file (opened if new), its positive record, its new score; the events."""
    policy = credit_files.policy_of(await fetch_one(tx, _NEWEST_CREDIT_POLICY))
    party_ids = [c.worker_id for c in certificates]
    files = {
        f.party_id: credit_files.PartyState(*f[1:], explanation=[])
        for f in await tx.fetch(_files_of(tx), parties=party_ids)
    }
    missing = [p for p in party_ids if p not in files]
    opened = await _open(tx, missing, policy, now)
    if len(opened) != len(missing):
        raise NeedsSession  # a file opened meanwhile by another transaction
    files.update(opened)
    await publish_many_in(
        tx,
        [certificate_issued(c) for c in certificates]
        + [credit_files.level_event(opened[p], None, None) for p in missing],
    )
    await tx.execute_many(_INSERT_RECORD, record_rows(certificates, now))
    await _rescore(tx, [files[p] for p in party_ids], policy, now)


async def _open(
    tx: Transaction, missing: list[uuid.UUID], policy: credit_files.Policy, now: datetime
) -> dict[uuid.UUID, credit_files.PartyState]:
    """Open the files of ``missing``: one INSERT for all (RETURNING is not portable with
    many parameter sets), then one read; a file opened at another time is another
    transaction's, and left out."""
    if not missing:
        return {}
    await tx.execute_many(_open_files(tx), batch.new_file_rows(missing, policy, now))
    return {
        row.party_id: credit_files.PartyState(*row[1:], explanation=[])
        for row in await tx.fetch(_files_of(tx), parties=missing)
        if row.opened_at == now
    }


async def _rescore(
    tx: Transaction,
    files: list[credit_files.PartyState],
    policy: credit_files.Policy,
    now: datetime,
) -> None:
    """``credit_files.recompute_many`` for files on no list whose level stays clear of the
    lists' levels (the automatic list rules then do nothing)."""
    ids = [f.party_id for f in files]
    if await tx.fetch(_listed(tx), parties=ids, now=now):
        raise NeedsSession
    counted: dict[uuid.UUID, list[Counted]] = {}
    for party_id, record_id, kind, severity, effective_from, _ in await tx.fetch(
        _records_in_force(tx), parties=ids, now=now
    ):
        counted.setdefault(party_id, []).append(
            Counted(str(record_id), kind, severity, effective_from)
        )
    listed_levels = {policy.rules.blacklist_level, policy.rules.redlist_level} - {None}
    events: list[EventData] = []
    for party in files:
        score, level, lines = explain(policy.rules, counted.get(party.party_id, []))
        previous_level, previous_score = party.level, party.score
        if level != previous_level and {level, previous_level} & listed_levels:
            raise NeedsSession
        party.score, party.level, party.explanation = score, level, lines
        party.policy_version, party.computed_at = policy.version, now
        if level != previous_level:
            events.append(credit_files.level_event(party, previous_level, previous_score))
    await tx.execute_many(_UPDATE_FILE, [credit_files.update_params(f) for f in files])
    await publish_many_in(tx, events)
