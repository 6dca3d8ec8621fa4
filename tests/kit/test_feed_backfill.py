"""``python -m services.credit backfill-feeds`` and ``python -m services.matching backfill-feeds``
(issue 14): records that existed before the feeds enter them once, as ``upsert`` entries of
their current state (``event_type`` ``backfill``), in the fields the events would have carried;
a record already in its feed, a revoked certificate, an ended list entry, a job off the board and
an engagement that never started are left out; a second run adds nothing. On migrated SQLite and
PostgreSQL databases, the command in a fresh process."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from contracts.matching import JobChanged
from services.credit.credentials.models import HomeServiceCard
from services.credit.feeds import SOURCES as CREDIT_SOURCES
from services.credit.files.models import CreditListEntry, CreditParty
from services.credit.models import Certificate
from services.credit.service import certificate_issued
from services.kit.db import Database
from services.kit.feed import feed_log
from services.kit.ids import new_id
from services.kit.types import utcnow
from services.matching.feeds import SOURCES as MATCHING_SOURCES
from services.matching.recruitment.jobs import ADVERTISED
from services.matching.recruitment.models import Engagement, Job
from tests.support.databases import service_database

NOW = utcnow()
WORKER = new_id()


def _certificate(n: int, revoked: bool = False) -> Certificate:
    return Certificate(
        id=new_id(),
        number=f"ZQJS-2025-{n:06d}",
        check_code=f"{n:08d}",
        kind="training",
        worker_id=WORKER,
        track="housekeeping",
        course_id=new_id(),
        enrollment_id=new_id(),
        issued_at=NOW - timedelta(days=300),
        valid_until=date(2028, 1, 31),
        revoked_at=NOW if revoked else None,
        version=1,
    )


def _listing(ended: bool) -> CreditListEntry:
    return CreditListEntry(
        id=new_id(),
        public_code=uuid.uuid4().hex[:20],
        list_kind="red",
        party_id=WORKER,
        party_kind="worker",
        basis="honour",
        legal_basis=None,
        reason="市级表彰",
        starts_at=NOW - timedelta(days=10),
        publish_until=NOW + timedelta(days=355),
        ended_at=NOW if ended else None,
        end_reason="officer" if ended else None,
        policy_version=1,
        created_by="officer-1",
    )


def _job(status: str) -> Job:
    return Job(
        id=new_id(),
        poster_role="employer",
        poster_party_id=new_id(),
        poster_account_id="account-1",
        title="育婴师",
        track="maternal_infant",
        duties=["照护婴儿"],
        city="肇庆",
        district="端州区",
        live_in=False,
        schedule="周一至周五",
        pay_min=5000,
        pay_max=7000,
        pay_period="month",
        languages=["粤语"],
        certificate_required=True,
        min_stars=None,
        positions=1,
        start_date=date(2027, 1, 4),
        expires_at=NOW + timedelta(days=30),
        status=status,
        version=3,
        created_at=NOW,
        updated_at=NOW,
    )


def _engagement(job: Job, started: bool, finished: bool) -> Engagement:
    return Engagement(
        id=new_id(),
        application_id=new_id(),
        job_id=job.id,
        worker_id=new_id(),
        employer_id=job.poster_party_id,
        company_id=None,
        partner_id=None,
        poster_role="employer",
        poster_party_id=job.poster_party_id,
        poster_account_id="account-1",
        track="maternal_infant",
        start_date=date(2026, 3, 2),
        end_date=date(2026, 9, 30) if finished else None,
        terms={},
        status="finished" if finished else ("active" if started else "scheduled"),
        started_at=NOW - timedelta(days=200) if started else None,
        finished_at=NOW - timedelta(days=60) if finished else None,
        version=2,
        created_at=NOW,
        updated_at=NOW,
    )


async def _seed(url: str, rows: list[Any], already_fed: tuple[str, str]) -> None:
    db = Database(url)
    try:
        async with db.write() as session:
            session.add_all(rows)
            await session.flush()
            dataset, record_id = already_fed
            await session.execute(
                insert(feed_log).values(
                    dataset=dataset,
                    op="upsert",
                    record_id=record_id,
                    event_id=str(new_id()),
                    event_type="an-event",
                    record="{}",
                    recorded_at=NOW,
                )
            )
    finally:
        await db.dispose()


async def _feed(url: str) -> dict[tuple[str, str], dict[str, Any]]:
    db = Database(url)
    try:
        async with db.read() as session:
            rows = (
                await session.execute(select(feed_log).where(feed_log.c.event_type == "backfill"))
            ).all()
    finally:
        await db.dispose()
    assert all(r.op == "upsert" for r in rows)
    found = {(r.dataset, r.record_id): json.loads(r.record) for r in rows}
    assert len(found) == len(rows), "a record entered its feed twice"
    return found


def _backfill(service: str, url: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", f"services.{service}", "backfill-feeds"],
        env={**os.environ, f"{service.upper()}_DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_credit_backfill_feeds_once(backend: str, tmp_path: Path) -> None:
    kept, revoked, fed = _certificate(1), _certificate(2, revoked=True), _certificate(3)
    card = HomeServiceCard(
        id=new_id(),
        number="ZQJZ-2025-000001",
        verify_code="v" * 22,
        worker_id=WORKER,
        state="suspended",
        suspension="officer",
        state_reason="投诉核查中",
        exception_reason=None,
        policy_version=2,
        issued_at=NOW - timedelta(days=100),
        valid_until=date(2028, 4, 30),
        expiry_announced=False,
        changed_at=NOW - timedelta(days=3),
        version=2,
    )
    party = CreditParty(
        party_id=WORKER,
        party_kind="worker",
        name=None,
        opened_at=NOW - timedelta(days=400),
        score=88,
        level="A",
        policy_version=1,
        computed_at=NOW - timedelta(days=1),
        explanation=[],
    )
    listed, ended = _listing(ended=False), _listing(ended=True)
    rows = [kept, revoked, fed, card, party, listed, ended]
    with service_database("credit", backend, tmp_path) as url:
        asyncio.run(_seed(url, rows, ("certificates", str(fed.id))))
        out = _backfill("credit", url)
        assert "certificates 1, cards 1, credit-levels 1, credit-lists 1" in out, out
        found = asyncio.run(_feed(url))
        assert set(found) == {
            ("certificates", str(kept.id)),
            ("cards", str(card.id)),
            ("credit-levels", str(WORKER)),
            ("credit-lists", str(listed.id)),
        }
        # The same record the CertificateIssued event makes.
        event = certificate_issued(kept)
        (source,) = [s for s in CREDIT_SOURCES if s.dataset == "certificates"]
        made = source.record(event.model_dump(mode="json"))
        assert found[("certificates", str(kept.id))] == made
        assert found[("cards", str(card.id))]["state"] == "suspended"
        assert found[("cards", str(card.id))]["reason"] == "投诉核查中"
        assert found[("credit-levels", str(WORKER))]["level"] == "A"
        assert "credit-lists 0" in _backfill("credit", url)
        assert len(asyncio.run(_feed(url))) == 4


def test_matching_backfill_feeds_once(backend: str, tmp_path: Path) -> None:
    open_job, closed_job, fed_job = _job("open"), _job("closed"), _job("paused")
    started = _engagement(open_job, started=True, finished=False)
    finished = _engagement(open_job, started=True, finished=True)
    scheduled = _engagement(open_job, started=False, finished=False)
    rows = [open_job, closed_job, fed_job, started, finished, scheduled]
    with service_database("matching", backend, tmp_path) as url:
        asyncio.run(_seed(url, rows, ("jobs", str(fed_job.id))))
        out = _backfill("matching", url)
        assert "jobs 1, hires 2" in out, out
        found = asyncio.run(_feed(url))
        assert set(found) == {
            ("jobs", str(open_job.id)),
            ("hires", str(started.id)),
            ("hires", str(finished.id)),
        }
        # The same record the JobChanged event makes.
        event = JobChanged(
            job_id=str(open_job.id),
            **{f: getattr(open_job, f) for f in ADVERTISED},
            status=open_job.status,
            version=open_job.version,
            changed_at=open_job.updated_at,
        )
        (jobs_source,) = [s for s in MATCHING_SOURCES if s.dataset == "jobs"]
        assert found[("jobs", str(open_job.id))] == jobs_source.record(
            event.model_dump(mode="json")
        )
        assert found[("hires", str(finished.id))]["end_date"] == "2026-09-30"
        assert "finished_at" not in found[("hires", str(started.id))]
        assert "jobs 0, hires 0" in _backfill("matching", url)
        assert len(asyncio.run(_feed(url))) == 3
