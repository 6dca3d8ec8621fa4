"""A batch of completions issued set-based leaves what one completion at a time leaves.

Same events, two fresh databases: one applies them with ``credit.batch`` in one transaction,
the other with the one-event handler, each in its own transaction. Real database (SQLite, and
PostgreSQL when configured); no NATS needed.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

from contracts.credit import CertificateIssued, CreditLevelChanged
from contracts.envelope import envelope_for
from contracts.training import EnrollmentCompleted
from services.credit import batch
from services.credit.credentials import facts
from services.credit.credentials.models import HomeServiceCard
from services.credit.files import service as credit_files
from services.credit.files.models import CreditParty, CreditRecord
from services.credit.handlers import handle_enrollment_completed
from services.credit.models import Certificate, TrainingCompletion
from services.kit.db import Database
from services.kit.tables import outbox
from tests.credit.credit_support import enrollment_completed
from tests.credit.test_credentials_cards import registered
from tests.support.databases import service_database


async def _state(db: Database) -> dict[str, Any]:
    """Everything the completions changed, without the ids and times each run mints."""
    async with db.read() as session:
        certificates = (await session.scalars(select(Certificate))).all()
        by_id = {c.id: str(c.enrollment_id) for c in certificates}
        completions = (await session.scalars(select(TrainingCompletion))).all()
        records = (await session.scalars(select(CreditRecord))).all()
        parties = (await session.scalars(select(CreditParty))).all()
        events = (await session.execute(select(outbox).order_by(outbox.c.seq))).all()
    return {
        "numbers": sorted((str(c.enrollment_id), c.number, c.kind, c.track) for c in certificates),
        "completions": sorted(
            (str(c.enrollment_id), c.passed, by_id.get(c.certificate_id)) for c in completions
        ),
        "records": sorted(
            (str(r.party_id), r.kind, r.polarity, r.severity, r.source, r.reason[:20])
            for r in records
        ),
        "parties": sorted((str(p.party_id), p.score, p.level, p.policy_version) for p in parties),
        # Per aggregate, the subjects in publishing order (only that order is promised).
        "events": sorted(
            (aggregate, [e.subject for e in events if e.aggregate_id == aggregate])
            for aggregate in {e.aggregate_id for e in events if e.subject.startswith("credit.le")}
        ),
        "event_count": sorted(e.subject for e in events),
    }


async def test_a_set_based_batch_leaves_what_one_at_a_time_leaves(
    backend: str, tmp_path: Path
) -> None:
    workers = [uuid.uuid4() for _ in range(6)]
    completions = [enrollment_completed(w) for w in workers[:5]]
    completions.append(enrollment_completed(workers[5], passed=False))
    with (
        service_database("credit", backend, tmp_path) as batch_url,
        service_database("credit", backend, tmp_path) as single_url,
    ):
        together, alone = Database(batch_url), Database(single_url)
        try:
            async with together.write() as session:
                assert await batch.issue_for_completions(session, completions)
            for data in completions:
                async with alone.write() as session:
                    await handle_enrollment_completed(session, envelope_for(data), data)
            assert await _state(together) == await _state(alone)
            state = await _state(together)
            assert [n for _, n, _, _ in state["numbers"]] != []
            assert len(state["numbers"]) == 5 and len(state["completions"]) == 6
            # The numbers follow the events' order, gap-free.
            numbers = dict((e, n) for e, n, _, _ in state["numbers"])
            seqs = [int(numbers[c.enrollment_id][-6:]) for c in completions[:5]]
            assert seqs == list(range(seqs[0], seqs[0] + 5))

            # Applied again (a redelivered batch): nothing changes.
            async with together.write() as session:
                assert await batch.issue_for_completions(session, completions)
            assert await _state(together) == state
        finally:
            await together.dispose()
            await alone.dispose()


async def test_a_batch_that_names_a_worker_twice_is_left_to_the_one_event_path(
    backend: str, tmp_path: Path
) -> None:
    worker = uuid.uuid4()
    twice: list[EnrollmentCompleted] = [enrollment_completed(worker), enrollment_completed(worker)]
    with service_database("credit", backend, tmp_path) as url:
        db = Database(url)
        try:
            async with db.write() as session:
                assert not await batch.issue_for_completions(session, twice)
            assert (await _state(db))["numbers"] == []
        finally:
            await db.dispose()


async def _cards(db: Database) -> list[tuple[str, str]]:
    async with db.read() as session:
        cards = (await session.scalars(select(HomeServiceCard))).all()
    return sorted((str(c.worker_id), c.state) for c in cards)


async def test_a_batch_judges_cards_as_one_at_a_time_does_reading_facts_and_cards_once(
    backend: str, tmp_path: Path
) -> None:
    """Workers whose last missing card condition is the training certificate get their card
    from a batch exactly as from single events; the batch reads the workers' card facts,
    cards, valid training certificates and credit files in one statement each, however many
    workers it names."""
    checks_until = date.today() + timedelta(days=400)
    workers = [uuid.uuid4() for _ in range(4)]
    completions = [enrollment_completed(w) for w in workers]
    with (
        service_database("credit", backend, tmp_path) as batch_url,
        service_database("credit", backend, tmp_path) as single_url,
    ):
        together, alone = Database(batch_url), Database(single_url)
        try:
            for db in (together, alone):
                async with db.write() as session:
                    for worker in workers:
                        await facts.apply(session, registered(worker, uuid.uuid4(), checks_until))
            engine = together.write_engine.sync_engine
            selects: list[str] = []
            checks: list[str] = []  # the SELECTs that look for enrolments

            def record(*args: object) -> None:
                words = str(args[2]).split()
                if words[0].upper() == "SELECT" and "FROM" in words:
                    selects.append(words[words.index("FROM") + 1])
                    if "enrollment_id" in str(args[2]):
                        checks.append(" ".join(words))

            event.listen(engine, "before_cursor_execute", record)
            try:
                async with together.write() as session:
                    assert await batch.issue_for_completions(session, completions)
            finally:
                event.remove(engine, "before_cursor_execute", record)
            for data in completions:
                async with alone.write() as session:
                    await handle_enrollment_completed(session, envelope_for(data), data)
            assert await _cards(together) == await _cards(alone)
            assert [state for _, state in await _cards(together)] == ["active"] * 4
            assert await _state(together) == await _state(alone)
            assert selects.count("card_worker_facts") == 1, selects
            assert selects.count("home_service_cards") == 1, selects
            # The four workers' valid training certificates: one count for all of them.
            assert selects.count("certificates") == 1, selects
            # The files: one read finds none; the INSERT that opens them returns them.
            assert selects.count("credit_parties") == 1, selects
            # The completion log and the certificates are checked in one statement (a UNION).
            assert len(checks) == 1, checks
            assert "FROM training_completions" in checks[0], checks
            assert "FROM certificates" in checks[0], checks
        finally:
            await together.dispose()
            await alone.dispose()


async def test_a_file_opened_meanwhile_by_another_transaction_is_loaded_not_opened_again(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch reads the workers' files, finds none, and opens them; a file another
    transaction opened in between is not returned by that INSERT: it is read, gets the
    certificate's record, and has only its opener's "file opened" event."""
    worker = uuid.uuid4()
    with service_database("credit", backend, tmp_path) as url:
        db = Database(url)
        try:
            async with db.write() as session:  # the other transaction, already committed
                await credit_files.open_file(session, worker, "worker")
            real_files = batch._files
            reads: list[list[uuid.UUID]] = []

            async def first_read_before_the_other_commit(
                session: Any, party_ids: list[uuid.UUID]
            ) -> dict[uuid.UUID, CreditParty]:
                reads.append(list(party_ids))
                return {} if len(reads) == 1 else await real_files(session, party_ids)

            monkeypatch.setattr(batch, "_files", first_read_before_the_other_commit)
            async with db.write() as session:
                assert await batch.issue_for_completions(session, [enrollment_completed(worker)])
            assert reads == [[worker], [worker]]
            async with db.read() as session:
                kinds = (
                    await session.scalars(
                        select(CreditRecord.kind).where(CreditRecord.party_id == worker)
                    )
                ).all()
                level_events = [
                    json.loads(payload)["data"]
                    for payload in await session.scalars(
                        select(outbox.c.payload).where(
                            outbox.c.event_type == CreditLevelChanged.event_type,
                            outbox.c.aggregate_id == str(worker),
                        )
                    )
                ]
            assert kinds == ["certificate"]
            assert [e["previous_level"] for e in level_events].count(None) == 1, level_events
        finally:
            await db.dispose()


async def test_a_batch_writes_its_certificates_and_new_files_events_with_one_insert(
    backend: str, tmp_path: Path
) -> None:
    """Each outbox INSERT is a round trip: a batch for workers credit has no file for yet
    writes the certificates' events and the new files' first levels together, certificates
    first (the order the one-event path writes them in)."""
    workers = [uuid.uuid4() for _ in range(3)]
    with service_database("credit", backend, tmp_path) as url:
        db = Database(url)
        inserts: list[str] = []

        def record(*args: object) -> None:
            if str(args[2]).lstrip().upper().startswith("INSERT INTO KIT_OUTBOX"):
                inserts.append(str(args[2]))

        engine = db.write_engine.sync_engine
        event.listen(engine, "before_cursor_execute", record)
        try:
            async with db.write() as session:
                assert await batch.issue_for_completions(
                    session, [enrollment_completed(w) for w in workers]
                )
        finally:
            event.remove(engine, "before_cursor_execute", record)
        try:
            async with db.read() as session:
                rows = await session.execute(select(outbox).order_by(outbox.c.seq))
                subjects = [r.subject for r in rows]
        finally:
            await db.dispose()
    assert len(inserts) == 1, inserts
    assert subjects == [CertificateIssued.subject] * 3 + [CreditLevelChanged.subject] * 3
