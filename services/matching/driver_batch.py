"""New certificates on the candidates, on the plain driver: the chain's last hop.

:func:`services.matching.batch.add_certificates` through the ORM session cost ~1.4-1.8 ms of
CPU per certificate in the paced chain (PostgreSQL), about ten statements at ~220-320 µs of
client CPU each plus the session's ceremony. Here the same statements run as Core
:class:`~services.kit.statements.Statement` s in the inbox's ``Database.transaction()``
(asyncpg, or sqlite3 on the loop), and leave the same rows: the candidates created if missing
and locked in worker order, the certificates not known yet inserted, one version per new
certificate, the touched candidates' per-track ranks recomputed (``ranking.rank_rows``, shared
with the session path). A constraint it trips (a certificate number seen under another id)
rolls back and goes through the session path, which dead-letters it as before.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, insert, select

from contracts.envelope import CloudEvent, EventData
from services.kit.dialect import insert_for, per_dialect
from services.kit.one_of import one_of_param
from services.kit.statements import Statement
from services.kit.transactions import Transaction, fetch_one
from services.kit.types import utcnow
from services.matching import batch, ranking
from services.matching.batch import (
    IssuedCertificate,
    by_certificate,
    certificate_rows,
    issued_certificates,
)
from services.matching.models import (
    Candidate,
    CandidateCertificate,
    TrackRank,
)
from services.matching.policy import NEWEST_POLICY, policy_of
from services.matching.ranking import rank_rows

_candidates = Candidate.__table__
_certificates = CandidateCertificate.__table__
_ranks = TrackRank.__table__


def _all_bound(table: Any, keys: Sequence[str]) -> Any:
    return insert(table).values({key: bindparam(key) for key in keys})


_CERTIFICATE_KEYS = [c.key for c in _certificates.columns]
_INSERT_CERTIFICATE = Statement(_all_bound(_certificates, _CERTIFICATE_KEYS))
_RANK_KEYS = ["worker_id", "track", "base_score", "eligible", "policy_version"]
_INSERT_RANK = Statement(_all_bound(_ranks, _RANK_KEYS))
_BUMP = Statement(batch.BUMP)
_NEWEST_POLICY = Statement(NEWEST_POLICY)


@per_dialect
def _create_missing(dialect: str) -> Statement:
    return Statement(
        insert_for(dialect, _candidates)
        .values(
            worker_id=bindparam("worker_id"),
            version=0,
            open_engagements=0,
            finished_engagements=0,
            created_at=bindparam("now"),
            updated_at=bindparam("now"),
        )
        .on_conflict_do_nothing(index_elements=[_candidates.c.worker_id])
    )


@per_dialect
def _lock_candidates(dialect: str) -> Statement:
    """The candidates ``:workers``, every column, locked in worker id order."""
    return Statement(
        select(*_candidates.columns)
        .where(one_of_param(_candidates.c.worker_id, "workers", dialect))
        .order_by(_candidates.c.worker_id)
        .with_for_update()
    )


@per_dialect
def _known_certificates(dialect: str) -> Statement:
    return Statement(
        select(_certificates.c.certificate_id).where(
            one_of_param(_certificates.c.certificate_id, "certificates", dialect)
        )
    )


@per_dialect
def _declared_of(dialect: str) -> Statement:
    return Statement(ranking.declared_of(dialect))


@per_dialect
def _certificates_of(dialect: str) -> Statement:
    return Statement(
        select(*_certificates.columns).where(
            one_of_param(_certificates.c.worker_id, "workers", dialect)
        )
    )


@per_dialect
def _delete_ranks_of(dialect: str) -> Statement:
    return Statement(ranking.delete_ranks_of(dialect))


async def add_certificates_on_driver(
    tx: Transaction, events: Sequence[tuple[CloudEvent[Any], EventData]]
) -> None:
    """The matching-certificates subscription's transaction handler."""
    await add_certificates(tx, issued_certificates(events))


async def add_certificates(tx: Transaction, issued: Sequence[IssuedCertificate]) -> int:
    """Record the certificates not yet known; how many were new."""
    workers = sorted({c.worker_id for c in issued})
    if not workers:
        return 0
    now = utcnow()
    await tx.execute_many(_create_missing(tx), [{"worker_id": w, "now": now} for w in workers])
    candidates = {
        row.worker_id: row for row in await tx.fetch(_lock_candidates(tx), workers=workers)
    }
    by_id = by_certificate(issued)
    # The candidates are locked: no other transaction adds their certificates meanwhile.
    known = {
        row.certificate_id
        for row in await tx.fetch(_known_certificates(tx), certificates=list(by_id))
    }
    new = [c for certificate_id, c in by_id.items() if certificate_id not in known]
    await tx.execute_many(_INSERT_CERTIFICATE, certificate_rows(new, now))
    bumps = Counter(c.worker_id for c in new)
    await tx.execute_many(
        _BUMP,
        [{"w": w, "v": candidates[w].version + n, "u": now} for w, n in sorted(bumps.items())],
    )
    await _refresh_ranks(tx, [candidates[w] for w in sorted(bumps)])
    return len(new)


async def _refresh_ranks(tx: Transaction, candidates: list[Any]) -> None:
    """``ranking.refresh_ranks_many`` on the driver (the ranks use no version or time)."""
    if not candidates:
        return
    policy = policy_of(await fetch_one(tx, _NEWEST_POLICY))
    ids = [c.worker_id for c in candidates]
    declared = await tx.fetch(_declared_of(tx), workers=ids)
    held = await tx.fetch(_certificates_of(tx), workers=ids)
    await tx.execute(_delete_ranks_of(tx), workers=ids)
    await tx.execute_many(_INSERT_RANK, rank_rows(policy, candidates, declared, held))
