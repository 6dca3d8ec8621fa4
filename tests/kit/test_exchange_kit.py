"""The kit's exchange parts on a real database: the hash-chained audit log detects any changed
byte, removed entry or truncated tail; a change feed is appended with its outbox row and read
in order after a cursor; a detached signature fails for a changed byte."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

from services.kit import audit_chain, feed
from services.kit.auth import SigningKeys
from services.kit.db import Database
from services.kit.outbox import publish, publish_many
from services.kit.signing import (
    ExchangeSigner,
    SignatureError,
    ensure_dev_exchange_keys,
    public_keys_from_jwks,
    sha256_hex,
    verify,
)
from services.kit.tables import exchange_metadata
from tests.kit.kit_harness import rating_event


@pytest.fixture(autouse=True)
async def _exchange_tables(db: Database) -> None:
    async with db.write_engine.begin() as connection:
        await connection.run_sync(exchange_metadata.create_all)


def _exchange(n: int) -> audit_chain.Exchange:
    return audit_chain.Exchange(
        action="feed_read",
        dataset="workers",
        actor="client-1",
        actor_role="agency",
        party_id=str(uuid.UUID(int=n)),
        purpose="就业补贴审核",
        record_count=n,
        content_sha256=sha256_hex(str(n).encode()),
        signature_sha256=None,
        detail={"after": n},
    )


async def test_the_audit_chain_detects_any_change(db: Database) -> None:
    assert (await audit_chain.verify(db)).ok
    for n in range(5):
        async with db.write() as session:
            await audit_chain.append(session, _exchange(n))
    verdict = await audit_chain.verify(db, page_size=2)
    assert verdict.ok and verdict.entries == 5
    log = audit_chain.audit_log

    async with db.read() as session:
        third = (await session.execute(select(log).where(log.c.seq == 3))).one()
    # One byte of the body (record count 2 → 3): the entry's hash no longer matches.
    async with db.write() as session:
        await session.execute(
            update(log)
            .where(log.c.seq == 3)
            .values(body=third.body.replace('"record_count":2', '"record_count":3'))
        )
    bad = await audit_chain.verify(db)
    assert (bad.ok, bad.bad_seq) == (False, 3) and "modified" in (bad.reason or "")
    # Recomputing that entry's hash breaks the link of the next one.
    async with db.write() as session:
        body = third.body.replace('"record_count":2', '"record_count":3')
        await session.execute(
            update(log)
            .where(log.c.seq == 3)
            .values(entry_hash=audit_chain.chain_hash(third.prev_hash, body))
        )
    bad = await audit_chain.verify(db)
    assert (bad.ok, bad.bad_seq) == (False, 4)
    # Put it back; then drop the last entry: the head tells.
    async with db.write() as session:
        await session.execute(
            update(log).where(log.c.seq == 3).values(body=third.body, entry_hash=third.entry_hash)
        )
    assert (await audit_chain.verify(db)).ok
    async with db.write() as session:
        await session.execute(delete(log).where(log.c.seq == 5))
    bad = await audit_chain.verify(db)
    assert not bad.ok and bad.bad_seq is None and "removed" in (bad.reason or "")


async def test_a_feed_is_written_with_its_events_and_read_after_a_cursor(db: Database) -> None:
    source = feed.FeedSource(rating_event().event_type, "test-ratings", "upsert", "worker_id")
    feed.register(source)
    try:
        await _feed_round_trip(db)
    finally:
        feed.unregister(source)


async def _feed_round_trip(db: Database) -> None:
    first = rating_event(stars=4)
    async with db.write() as session:
        await publish(session, first)
        await publish_many(session, [rating_event(stars=2), rating_event(stars=5)])
    async with db.read() as session:
        entries, more = await feed.read_page(session, "test-ratings", 0, 2)
        assert [e.record["stars"] for e in entries] == [4, 2] and more
        assert entries[0].record_id == first.worker_id
        assert entries[0].projected(["stars"])["record"] == {"stars": 4}
        rest, more = await feed.read_page(session, "test-ratings", entries[-1].seq, 10)
        assert [e.record["stars"] for e in rest] == [5] and not more
    # A rolled-back transaction leaves no feed entry.
    with pytest.raises(RuntimeError):
        async with db.write() as session:
            await publish(session, rating_event(stars=1))
            raise RuntimeError("rollback")
    async with db.read() as session:
        again, _ = await feed.read_page(session, "test-ratings", 0, 10)
    assert len(again) == 3


def test_a_detached_signature_fails_for_a_changed_byte(tmp_path: Path) -> None:
    signer = ExchangeSigner(SigningKeys.load(ensure_dev_exchange_keys(tmp_path)), "jiasao")
    content = b'{"entries":[]}'
    jws = signer.sign(sha256_hex(content), len(content), dataset="workers")
    keys = public_keys_from_jwks(signer.jwks())
    assert verify(jws, keys, content_sha256=sha256_hex(content))["dataset"] == "workers"
    with pytest.raises(SignatureError):
        verify(jws, keys, content_sha256=sha256_hex(b'{"entries":[1]}'))
    with pytest.raises(SignatureError):
        verify(
            jws[:-2] + ("A" if jws[-2] != "A" else "B") + jws[-1],
            keys,
            content_sha256=sha256_hex(content),
        )
