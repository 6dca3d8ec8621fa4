"""A tamper-evident, append-only audit log: every entry carries the SHA-256 of the one before.

Any service records its data exchanges here (who, which dataset, which purpose, how many
records, the digest of what was signed and sent) with :func:`append`, in the transaction of
the exchange itself. Each entry's ``body`` is canonical JSON (sorted keys, no spaces) and its
hash is ``SHA-256(prev_hash || "\\n" || body)``; the head row holds the last hash. Appends take
the head row's lock (``FOR UPDATE`` on PostgreSQL; SQLite's single writer anyway), so the chain
is a line, never a tree.

:func:`verify` walks the chain from the first entry (in pages, flat memory) and reports the
first entry whose body, hash, link or indexed columns do not match, and a head that does not
name the last entry (a truncated tail). A changed byte anywhere is detected. What the walk
alone cannot detect is a consistent rewrite: someone with write access to the database who
changes an entry and recomputes every later hash and the head leaves a chain that verifies.

Anchors close that gap (both sides keep evidence, as in X-Road): every signed feed page, pull
and export states, inside its signed manifest, the audit entry recording that very exchange
(``audit: {chain, seq, hash}``; the entry is appended with :func:`append_entry` first, in the
same transaction, then the manifest is signed — so the entry's ``signature_sha256`` is null:
it cannot cover a signature that covers it). Each agency therefore holds platform-signed
statements of the chain at points of its history, which nobody can recompute without the
exchange key; :func:`check_anchor` compares one with the chain (``audit verify --anchor``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.db import Database
from services.kit.tables import exchange_metadata
from services.kit.types import BigIntPK, UtcDateTime, utcnow

if TYPE_CHECKING:
    from services.kit.signing import ExchangeSigner

GENESIS = "0" * 64
HEAD = "audit"

audit_log = Table(
    "kit_audit_log",
    exchange_metadata,
    Column("seq", BigIntPK, primary_key=True, autoincrement=True),
    Column("prev_hash", String(64), nullable=False),
    Column("entry_hash", String(64), nullable=False, unique=True),
    #: Canonical JSON of the entry: what the hash covers.
    Column("body", Text, nullable=False),
    # Copies of body fields for queries (verify checks they match the body).
    Column("action", String(20), nullable=False),
    Column("dataset", String(40), nullable=False),
    Column("party_id", String(64), nullable=True),
    Column("recorded_at", UtcDateTime, nullable=False),
)
Index("ix_kit_audit_log_party", audit_log.c.party_id, audit_log.c.dataset)

audit_head = Table(
    "kit_audit_head",
    exchange_metadata,
    Column("name", String(20), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("entry_hash", String(64), nullable=False),
    Column("entries", Integer, nullable=False),
)

#: Body fields copied to columns, checked by :func:`verify`.
_INDEXED = ("action", "dataset", "party_id")


def canonical(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def chain_hash(prev_hash: str, body: str) -> str:
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


@dataclass(frozen=True)
class Exchange:
    """One exchange of data with an outside party."""

    #: feed_read, export, import
    action: str
    dataset: str
    #: Token subject (client id or account id) and role of who exchanged.
    actor: str
    actor_role: str
    #: The agency / partner the actor acts for, if any.
    party_id: str | None
    purpose: str | None
    record_count: int
    #: SHA-256 of the bytes exchanged, and of the signature (JWS) that covered them.
    content_sha256: str
    signature_sha256: str | None
    #: Anything else worth keeping (cursor range, file name, agreement id): small, no PII.
    detail: dict[str, Any]


async def _head(session: AsyncSession) -> Any:
    query = select(audit_head).where(audit_head.c.name == HEAD)
    if session.bind is not None and session.bind.dialect.name != "sqlite":
        query = query.with_for_update()
    return (await session.execute(query)).one_or_none()


@dataclass(frozen=True)
class Anchor:
    """Where an entry sits in a chain: what a signed manifest states (``audit`` claim)."""

    seq: int
    entry_hash: str

    def claim(self, chain: str | None) -> dict[str, Any]:
        return {"chain": chain, "seq": self.seq, "hash": self.entry_hash}


async def append(session: AsyncSession, exchange: Exchange) -> str:
    """Append an entry in the caller's (write) transaction; returns its hash."""
    return (await append_entry(session, exchange)).entry_hash


async def append_entry(session: AsyncSession, exchange: Exchange) -> Anchor:
    """Append an entry in the caller's (write) transaction; returns its seq and hash (to be
    stated in the manifest the caller signs next, in the same transaction)."""
    head = await _head(session)
    prev_hash = head.entry_hash if head is not None else GENESIS
    now = utcnow()
    body = canonical(
        {
            "action": exchange.action,
            "dataset": exchange.dataset,
            "actor": exchange.actor,
            "actor_role": exchange.actor_role,
            "party_id": exchange.party_id,
            "purpose": exchange.purpose,
            "record_count": exchange.record_count,
            "content_sha256": exchange.content_sha256,
            "signature_sha256": exchange.signature_sha256,
            "detail": exchange.detail,
            "at": now.isoformat().replace("+00:00", "Z"),
        }
    )
    entry_hash = chain_hash(prev_hash, body)
    result = await session.execute(
        insert(audit_log).values(
            prev_hash=prev_hash,
            entry_hash=entry_hash,
            body=body,
            action=exchange.action,
            dataset=exchange.dataset,
            party_id=exchange.party_id,
            recorded_at=now,
        )
    )
    seq = result.inserted_primary_key[0] if result.inserted_primary_key else 0
    if head is None:
        await session.execute(
            insert(audit_head).values(name=HEAD, seq=seq, entry_hash=entry_hash, entries=1)
        )
    else:
        await session.execute(
            update(audit_head)
            .where(audit_head.c.name == HEAD)
            .values(seq=seq, entry_hash=entry_hash, entries=head.entries + 1)
        )
    return Anchor(int(seq), entry_hash)


async def append_signed(
    session: AsyncSession,
    signer: ExchangeSigner,
    exchange: Exchange,
    *,
    sent_sha256: str,
    size: int,
    **claims: Any,
) -> tuple[str, Anchor]:
    """Record the exchange, then sign the manifest of what is sent (``sent_sha256``, ``size``)
    stating that entry (the anchor): the JWS and the anchor, in the caller's transaction."""
    anchor = await append_entry(session, replace(exchange, signature_sha256=None))
    jws = signer.sign(sent_sha256, size, audit=anchor.claim(signer.chain), **claims)
    return jws, anchor


@dataclass(frozen=True)
class Verdict:
    ok: bool
    entries: int
    head_hash: str
    #: The first entry found wrong (None when ok or when only the head is wrong), and why.
    bad_seq: int | None = None
    reason: str | None = None


async def verify(db: Database, page_size: int = 1000) -> Verdict:
    """Walk the whole chain in ``seq`` order; the first mismatch ends the walk."""
    prev_hash = GENESIS
    after = 0
    count = 0
    last_seq = 0
    while True:
        async with db.read() as session:
            rows = (
                await session.execute(
                    select(audit_log)
                    .where(audit_log.c.seq > after)
                    .order_by(audit_log.c.seq)
                    .limit(page_size)
                )
            ).all()
        for row in rows:
            problem = _check(row, prev_hash)
            if problem is not None:
                return Verdict(False, count, prev_hash, row.seq, problem)
            prev_hash = row.entry_hash
            last_seq = row.seq
            count += 1
        if len(rows) < page_size:
            break
        after = rows[-1].seq
    async with db.read() as session:
        head = (
            await session.execute(select(audit_head).where(audit_head.c.name == HEAD))
        ).one_or_none()
    if head is None:
        if count:
            return Verdict(False, count, prev_hash, None, "the chain has entries but no head")
        return Verdict(True, 0, GENESIS)
    if (head.entry_hash, head.seq, head.entries) != (prev_hash, last_seq, count):
        return Verdict(
            False,
            count,
            prev_hash,
            None,
            f"the head names entry {head.seq} ({head.entries} entries, hash "
            f"{head.entry_hash[:12]}…) but the chain ends at {last_seq} ({count} entries, "
            f"hash {prev_hash[:12]}…): entries were removed or the head was rewritten",
        )
    return Verdict(True, count, prev_hash)


def _check(row: Any, prev_hash: str) -> str | None:
    if row.prev_hash != prev_hash:
        return "its link to the previous entry is broken (an entry was removed or changed)"
    if chain_hash(prev_hash, row.body) != row.entry_hash:
        return "its content does not match its hash (the entry was modified)"
    try:
        body = json.loads(row.body)
    except ValueError:
        return "its content is not JSON"
    if not isinstance(body, dict) or canonical(body) != row.body:
        return "its content is not in canonical form"
    for name in _INDEXED:
        if body.get(name) != getattr(row, name):
            return f"its column {name} does not match its content"
    return None


async def check_anchor(db: Database, anchor: Anchor, content_sha256: str | None) -> str | None:
    """None when the chain holds ``anchor`` (the entry at its seq has its hash and records the
    content the manifest names); else why not."""
    async with db.read() as session:
        row = (
            await session.execute(select(audit_log).where(audit_log.c.seq == anchor.seq))
        ).one_or_none()
    if row is None:
        return f"entry {anchor.seq} is not in the chain (removed)"
    if row.entry_hash != anchor.entry_hash:
        return (
            f"entry {anchor.seq} has hash {row.entry_hash[:12]}… in the chain but the signed "
            f"anchor states {anchor.entry_hash[:12]}…: the chain was rewritten at or before "
            f"entry {anchor.seq}"
        )
    if content_sha256 is not None:
        try:
            body = json.loads(row.body)
        except ValueError:
            return f"entry {anchor.seq}'s content is not JSON"
        detail = body.get("detail") if isinstance(body, dict) else None
        recorded = {body.get("content_sha256") if isinstance(body, dict) else None}
        if isinstance(detail, dict):
            recorded.add(detail.get("response_sha256"))
        if content_sha256 not in recorded:
            return (
                f"entry {anchor.seq} does not record the content the anchor names "
                f"(sha256 {content_sha256[:12]}…)"
            )
    return None
