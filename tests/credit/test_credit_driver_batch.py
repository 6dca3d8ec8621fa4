"""Certificates on the plain driver leave what the one-event handler leaves, or nothing.

Same events, two fresh databases: one applies them with ``credit.driver_batch`` in
``Database.transaction()``, the other with the one-event handler, each in its own session.
What the driver path leaves to the session (NeedsSession) rolls back whole, and through the
inbox comes out as the session path leaves it. Real SQLite files and PostgreSQL; no NATS.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event

from contracts.envelope import envelope_for
from contracts.training import EnrollmentCompleted
from services.credit import driver_batch
from services.credit.credentials import facts
from services.credit.feeds import register_feeds
from services.credit.handlers import SUBSCRIPTIONS, handle_enrollment_completed
from services.kit.bus import Bus
from services.kit.db import Database
from services.kit.inbox import ConsumerRunner
from services.kit.subscriptions import NeedsSession
from tests.credit.credit_support import enrollment_completed
from tests.credit.test_credentials_cards import registered
from tests.credit.test_credit_batch import _cards, _state
from tests.support.databases import service_database


async def _one_at_a_time(db: Database, completions: list[EnrollmentCompleted]) -> None:
    for data in completions:
        async with db.write() as session:
            await handle_enrollment_completed(session, envelope_for(data), data)


async def _register(db: Database, workers: list[uuid.UUID], company: uuid.UUID | None) -> None:
    checks_until = date.today() + timedelta(days=400)
    async with db.write() as session:
        for worker in workers:
            await facts.apply(session, registered(worker, company, checks_until))


async def test_the_driver_leaves_what_one_at_a_time_leaves_with_driver_statements_only(
    backend: str, tmp_path: Path
) -> None:
    register_feeds()  # as the app does: certificate events feed the agencies' feed
    # This year's first certificate (it creates the number counter) is the session's.
    opening = [enrollment_completed(uuid.uuid4())]
    known = [uuid.uuid4() for _ in range(3)]  # registered: facts, but no card comes of it
    strangers = [uuid.uuid4() for _ in range(3)]
    completions = [enrollment_completed(w) for w in known + strangers[:2]]
    completions.append(enrollment_completed(strangers[2], passed=False))
    with (
        service_database("credit", backend, tmp_path) as driver_url,
        service_database("credit", backend, tmp_path) as single_url,
    ):
        driver, single = Database(driver_url), Database(single_url)
        try:
            for db in (driver, single):
                await _one_at_a_time(db, opening)
                await _register(db, known, company=None)
            sent: list[str] = []
            through_session: list[str] = []

            def on_session(*args: object) -> None:
                through_session.append(str(args[2]))

            engine = driver.write_engine.sync_engine
            driver.statement_observers.append(sent.append)
            event.listen(engine, "before_cursor_execute", on_session)
            try:
                async with driver.transaction() as tx:
                    await driver_batch.issue_for_completions(tx, completions)
            finally:
                driver.statement_observers.remove(sent.append)
                event.remove(engine, "before_cursor_execute", on_session)
            await _one_at_a_time(single, completions)
            state = await _state(driver)
            assert state == await _state(single)
            assert len(state["numbers"]) == 6 and len(state["completions"]) == 7
            assert await _cards(driver) == await _cards(single) == []
            # Every statement went to the driver, none through a session: 18 for the whole
            # batch of six workers (five with no credit file yet).
            assert through_session == []
            assert len(sent) == 18, "\n".join(s[:60] for s in sent)
            # The certificate numbers follow the events' order, gap-free, after the first.
            numbers = {e: n for e, n, _, _ in state["numbers"]}
            seqs = [int(numbers[c.enrollment_id][-6:]) for c in completions[:5]]
            assert seqs == list(range(2, 7))

            # Applied again (a redelivered batch): nothing changes.
            async with driver.transaction() as tx:
                await driver_batch.issue_for_completions(tx, completions)
            assert await _state(driver) == state
        finally:
            await driver.dispose()
            await single.dispose()


async def test_a_card_to_issue_rolls_the_driver_back_and_the_inbox_applies_it_in_a_session(
    backend: str, tmp_path: Path
) -> None:
    """Workers whose last missing card condition is the training certificate: the driver
    path leaves them to the session (nothing written), and the inbox's session path issues
    the certificates and the cards as the one-event handler does."""
    workers = [uuid.uuid4() for _ in range(3)]
    completions = [enrollment_completed(w) for w in workers]
    pairs = [(envelope_for(c), c) for c in completions]
    with (
        service_database("credit", backend, tmp_path) as inbox_url,
        service_database("credit", backend, tmp_path) as single_url,
    ):
        through_inbox, single = Database(inbox_url), Database(single_url)
        try:
            opening = [enrollment_completed(uuid.uuid4())]
            for db in (through_inbox, single):
                await _one_at_a_time(db, opening)
                await _register(db, workers, company=uuid.uuid4())
            before = await _state(through_inbox)
            with pytest.raises(NeedsSession):
                async with through_inbox.transaction() as tx:
                    await driver_batch.issue_for_completions(tx, completions)
            assert await _state(through_inbox) == before, "nothing half-written"

            subscription = next(s for s in SUBSCRIPTIONS if s.name == "credit-certificates")
            runner = ConsumerRunner(
                subscription, through_inbox, Bus("nats://127.0.0.1:1", name="credit-test")
            )
            assert await runner.apply_many(pairs) == 3
            await _one_at_a_time(single, completions)
            assert await _state(through_inbox) == await _state(single)
            assert [s for _, s in await _cards(through_inbox)] == ["active"] * 3
            assert await _cards(through_inbox) == await _cards(single)
        finally:
            await through_inbox.dispose()
            await single.dispose()


async def test_the_years_first_number_and_a_repeated_worker_are_left_to_the_session(
    backend: str, tmp_path: Path
) -> None:
    worker = uuid.uuid4()
    with service_database("credit", backend, tmp_path) as url:
        db = Database(url)
        try:
            before = await _state(db)
            for completions in (
                [enrollment_completed(uuid.uuid4())],  # no counter for this year yet
                [enrollment_completed(worker), enrollment_completed(worker)],
            ):
                with pytest.raises(NeedsSession):
                    async with db.transaction() as tx:
                        await driver_batch.issue_for_completions(tx, completions)
                assert await _state(db) == before
        finally:
            await db.dispose()


async def test_workers_whose_cards_stay_active_are_applied_on_the_driver(
    backend: str, tmp_path: Path
) -> None:
    """A second certificate for card holders changes no card: the driver applies it, reading
    their facts, cards and training counts, and leaves what one completion at a time leaves."""
    workers = [uuid.uuid4() for _ in range(3)]
    first = [enrollment_completed(w) for w in workers]  # completes the cards: the session's
    second = [enrollment_completed(w) for w in workers]
    with (
        service_database("credit", backend, tmp_path) as driver_url,
        service_database("credit", backend, tmp_path) as single_url,
    ):
        driver, single = Database(driver_url), Database(single_url)
        try:
            for db in (driver, single):
                await _register(db, workers, company=uuid.uuid4())
                await _one_at_a_time(db, first)
            assert [s for _, s in await _cards(driver)] == ["active"] * 3
            sent: list[str] = []
            driver.statement_observers.append(sent.append)
            try:
                async with driver.transaction() as tx:
                    await driver_batch.issue_for_completions(tx, second)
            finally:
                driver.statement_observers.remove(sent.append)
            await _one_at_a_time(single, second)
            assert await _state(driver) == await _state(single)
            assert await _cards(driver) == await _cards(single)
            assert [s for _, s in await _cards(driver)] == ["active"] * 3
            # On the driver (its observers see only the driver's statements), cards read.
            assert any(s.startswith("INSERT INTO certificates") for s in sent), sent
            assert any("FROM home_service_cards" in s for s in sent), sent
        finally:
            await driver.dispose()
            await single.dispose()
