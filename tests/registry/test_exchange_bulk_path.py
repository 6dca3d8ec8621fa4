"""Bulk import's fast path writes what the API writes: an imported worker is stored exactly as
one registered through the API (rows, encrypted numbers, events), and a batch the database
refuses is done again row by row."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.pii import PiiCipher
from services.kit.tables import outbox
from services.registry.exchange.worker_handler import WorkerHandler
from services.registry.parties import registration
from services.registry.parties.models import (
    WORKER_ID_CARD_CONTEXT,
    WORKER_PHONE_CONTEXT,
    Employment,
    Worker,
    WorkerStatusChange,
    WorkerTargetGroup,
    WorkerTrack,
)
from tests.registry.test_exchange_support import (
    NDJSON,
    WORKER_COLUMNS,
    counts,
    csv_bytes,
    finished,
    imported,
    jsonl_bytes,
    lookup,
    outbox_rows,
    report,
    submit,
    worker_count,
    worker_row,
)
from tests.registry.test_parties_support import (
    Registry,
    bearer,
    worker_body,
)
from tests.support.apps import eventually

#: Columns that differ between any two registrations: ids, clocks, and the AEAD tokens (a fresh
#: nonce each time; their plaintexts are compared instead).
_VOLATILE = {
    "id",
    "worker_id",
    "created_at",
    "updated_at",
    "changed_at",
    "joined_at",
    "id_card_encrypted",
    "phone_encrypted",
}

#: Outbox columns that differ likewise (the aggregate is the worker: it is how events are found).
_OUTBOX_VOLATILE = {"seq", "event_id", "aggregate_id", "created_at", "published_at", "payload"}


def _stable(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in _VOLATILE}


async def _stored(registry: Registry, worker_id: str) -> dict[str, Any]:
    """Everything registering the worker wrote (rows of every table, and its events), minus
    what differs between any two registrations."""
    cipher: PiiCipher = registry.ctx.extras["pii"]
    wid = uuid.UUID(worker_id)
    async with registry.ctx.db.read() as session:

        async def rows(table: sa.Table, order: sa.ColumnElement[Any]) -> list[Any]:
            query = sa.select(table).where(table.c.worker_id == wid).order_by(order)
            return [dict(r) for r in (await session.execute(query)).mappings()]

        [worker] = [
            dict(r)
            for r in (
                await session.execute(sa.select(Worker.__table__).where(Worker.id == wid))
            ).mappings()
        ]
        tracks = await rows(WorkerTrack.__table__, WorkerTrack.track)
        groups = await rows(WorkerTargetGroup.__table__, WorkerTargetGroup.target_group)
        history = await rows(WorkerStatusChange.__table__, WorkerStatusChange.changed_at)
        employments = await rows(Employment.__table__, Employment.joined_at)
        events = (
            await session.execute(
                sa.select(outbox).where(outbox.c.aggregate_id == worker_id).order_by(outbox.c.seq)
            )
        ).mappings()
        envelopes = [(dict(e), orjson.loads(e["payload"])) for e in events]
    assert worker["updated_at"] >= worker["created_at"]
    return {
        "worker": {
            **_stable(worker),
            "id_card": cipher.decrypt(worker["id_card_encrypted"], context=WORKER_ID_CARD_CONTEXT),
            "phone": cipher.decrypt(worker["phone_encrypted"], context=WORKER_PHONE_CONTEXT),
        },
        "tracks": [_stable(r) for r in tracks],
        "target_groups": [_stable(r) for r in groups],
        "history": [_stable(r) for r in history],
        "employments": [_stable(r) for r in employments],
        "events": [
            {
                "row": {k: v for k, v in row.items() if k not in _OUTBOX_VOLATILE},
                "envelope": sorted(envelope),
                "type": envelope["type"],
                "source": envelope["source"],
                "data": {
                    k: v
                    for k, v in envelope["data"].items()
                    if k not in ("worker_id", "registered_at", "changed_at")
                },
            }
            for row, envelope in envelopes
        ],
    }


async def _forget(registry: Registry, worker_ids: list[str]) -> None:
    """Delete workers with their rows and events, so the same numbers can be registered again."""
    await eventually(registry.all_published)  # the relay is done with their events
    ids = [uuid.UUID(w) for w in worker_ids]
    async with registry.ctx.db.write() as session:
        for model in (WorkerTrack, WorkerTargetGroup, WorkerStatusChange, Employment):
            await session.execute(sa.delete(model).where(model.worker_id.in_(ids)))
        await session.execute(sa.delete(Worker).where(Worker.id.in_(ids)))
        await session.execute(sa.delete(outbox).where(outbox.c.aggregate_id.in_(worker_ids)))


async def test_an_imported_worker_is_stored_exactly_as_one_registered_through_the_api(
    registry: Registry,
) -> None:
    company = await registry.company(kind="agency_based")
    officer = bearer("officer", subject="officer-who-imports")
    bodies = [
        worker_body(  # everything, and a company with a kind of its own
            county="sihui",
            tracks=["elderly_care", "housekeeping", "maternal_infant"],
            target_groups=["4050", "rural_surplus_labour"],
            health_check={
                "date": "2025-03-01",
                "institution": "肇庆市第一人民医院",
                "valid_until": "2026-02-28",
            },
            no_criminal_record={
                "date": "2025-02-01",
                "result": "clear",
                "valid_until": "2026-01-31",
            },
            employment={"company_id": company["id"], "kind": "employee_based"},
        ),
        worker_body(languages=[], education=None, tracks=[], target_groups=[]),  # the least
        worker_body(employment={"company_id": company["id"]}),  # the company's kind
        worker_body(  # no health check, and a record
            no_criminal_record={
                "date": "2025-05-01",
                "result": "record",
                "valid_until": "2026-04-30",
            }
        ),
    ]
    via_api = [(await registry.created("/api/v1/workers", b, officer))["id"] for b in bodies]
    expected = [await _stored(registry, w) for w in via_api]
    await _forget(registry, via_api)

    lines = []
    for body in bodies:
        line = {k: v for k, v in body.items() if k != "employment"}
        if "employment" in body:
            line["company_credit_code"] = company["credit_code"]
            line["employment_kind"] = body["employment"].get("kind")
        lines.append(line)
    response = await submit(registry, "workers", jsonl_bytes(lines), NDJSON, headers=officer)
    assert response.status_code == 202, response.text
    job = await finished(registry, response.json()["id"])

    assert counts(job) == {"total": len(bodies), "created": len(bodies)}
    imported_ids = [(await lookup(registry, b["id_card_number"]))["id"] for b in bodies]
    for body, want, worker_id in zip(bodies, expected, imported_ids, strict=True):
        got = await _stored(registry, worker_id)
        assert got == want, body
    # The API would answer the same for either.
    first = await registry.get(f"/api/v1/workers/{imported_ids[0]}", officer)
    assert first["version"] == 2
    assert first["company_id"] == company["id"]
    assert first["employment_kind"] == "employee_based"
    assert [e["type"] for e in expected[0]["events"]] == [
        "jiasao.registry.worker.registered.v1",
        "jiasao.registry.employment.changed.v1",
    ]
    # And the relay publishes them, in order per worker.
    published = await registry.events("registry.>")
    order = [e.type for e in published if e.subject == imported_ids[2]]
    assert order == [
        "jiasao.registry.worker.registered.v1",
        "jiasao.registry.employment.changed.v1",
    ]


async def test_a_batch_that_fails_in_the_database_is_done_again_row_by_row(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker registered (through the API) between the batch's lookup and its INSERT: the
    bulk INSERT fails on the unique index, and the batch is redone one SAVEPOINT per row."""
    raced = await registry.worker()
    rows = [worker_row() for _ in range(3)]
    racer = worker_row(
        id_card_number=raced["id_card_number"],
        phone=raced["phone"],
        county=raced["county"],
        name=raced["name"],
        languages="|".join(raced["languages"]),
        education=raced["education"],
        tracks="|".join(raced["tracks"]),
        target_groups="|".join(raced["target_groups"]),
    )
    real = WorkerHandler.existing

    async def blind_to_the_race(
        self: WorkerHandler, session: AsyncSession, lookups: list[str]
    ) -> dict[str, Any]:
        found = await real(self, session, lookups)
        if len(lookups) > 1:  # the batch's lookup misses it; the single-row recheck finds it
            found = {k: v for k, v in found.items() if v[0].id != uuid.UUID(raced["id"])}
        return found

    monkeypatch.setattr(WorkerHandler, "existing", blind_to_the_race)
    before = await outbox_rows(registry)
    calls: list[int] = []
    bulk = registration.register_workers

    async def counted(*args: Any, **kwargs: Any) -> list[uuid.UUID]:
        calls.append(len(args[2]))
        return await bulk(*args, **kwargs)

    monkeypatch.setattr(registration, "register_workers", counted)

    job = await imported(
        registry, "workers", csv_bytes(WORKER_COLUMNS, [*rows[:2], racer, rows[2]])
    )

    assert calls == [4]  # the bulk attempt, which failed and was rolled back
    assert counts(job) == {"total": 4, "created": 3, "unchanged": 1}
    assert await report(registry, job["id"]) == []
    assert await outbox_rows(registry) == before + 3  # nothing of the rolled-back attempt
    for row in rows:
        assert (await lookup(registry, row["id_card_number"]))["version"] == 1
    assert await worker_count(registry) == 4
