"""Set-based versions of matching's event operations, for the inbox's batches.

Each does what the one-event operation in :mod:`services.matching.service` does to every
event of a batch in turn, with a few statements for the whole batch: the candidate rows are
created and locked in one statement each (in ``worker_id`` order, so two consumers locking
overlapping workers cannot deadlock), the facts are applied in memory in the events' order,
and every touched candidate's ranks are recomputed once.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from contracts.credit import CertificateIssued
from contracts.envelope import CloudEvent, EventData
from services.kit.dialect import insert_for, per_dialect
from services.kit.one_of import one_of_param
from services.kit.types import utcnow
from services.matching.models import Candidate, CandidateCertificate
from services.matching.ranking import refresh_ranks_many
from services.matching.service import take_standing

_candidates = Candidate.__table__
_certificates = CandidateCertificate.__table__


@per_dialect
def _insert_certificates(dialect: str) -> Any:
    """The certificates' INSERT that skips known ones, built once per dialect."""
    return (
        insert_for(dialect, _certificates)
        .on_conflict_do_nothing(index_elements=[_certificates.c.certificate_id])
        .returning(_certificates.c.certificate_id)
    )


#: ``service._touch`` for many candidates at once (executed with one parameter set each).
BUMP = (
    update(_candidates)
    .where(_candidates.c.worker_id == bindparam("w"))
    .values(version=bindparam("v"), updated_at=bindparam("u"))
)


async def ensure_candidates(
    session: AsyncSession, worker_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Candidate]:
    """:func:`services.matching.service.ensure_candidate` for many workers: created if
    missing, locked, by worker id."""
    ids = sorted(set(worker_ids))
    if not ids:
        return {}
    now = utcnow()
    # One cached statement for many parameter sets: a multi-row VALUES literal would be
    # compiled anew for every batch. RETURNING lets SQLAlchemy send it as one multi-row
    # statement ("insertmanyvalues") instead of one execution per row on the server.
    await session.execute(
        _create_missing(session),
        [{"worker_id": w, "version": 0, "created_at": now, "updated_at": now} for w in ids],
    )
    rows = await session.scalars(_lock_candidates(session), {"workers": ids})
    return {candidate.worker_id: candidate for candidate in rows.all()}


@per_dialect
def _create_missing(dialect: str) -> Any:
    """INSERT candidates, skipping those that exist."""
    return (
        insert_for(dialect, _candidates)
        .on_conflict_do_nothing(index_elements=[_candidates.c.worker_id])
        .returning(_candidates.c.worker_id)
    )


@per_dialect
def _lock_candidates(dialect: str) -> Any:
    """The candidates ``:workers``, locked in worker id order, fresh from the database."""
    return (
        select(Candidate)
        .where(one_of_param(Candidate.worker_id, "workers", dialect))
        .order_by(Candidate.worker_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


@dataclass(frozen=True)
class IssuedCertificate:
    worker_id: uuid.UUID
    certificate_id: uuid.UUID
    number: str
    kind: str
    track: str | None
    issued_at: datetime
    valid_until: date | None


def issued_certificates(
    events: Sequence[tuple[CloudEvent[Any], EventData]],
) -> list[IssuedCertificate]:
    """The certificates of a batch of ``CertificateIssued`` events, in order."""
    issued: list[IssuedCertificate] = []
    for envelope, data in events:
        if not isinstance(data, CertificateIssued):
            raise TypeError(f"matching-certificates got {envelope.type}")  # a wiring bug
        issued.append(
            IssuedCertificate(
                worker_id=uuid.UUID(data.worker_id),
                certificate_id=uuid.UUID(data.certificate_id),
                number=data.certificate_number,
                kind=data.kind,
                track=data.track,
                issued_at=data.issued_at,
                valid_until=data.valid_until,
            )
        )
    return issued


def by_certificate(issued: Iterable[IssuedCertificate]) -> dict[uuid.UUID, IssuedCertificate]:
    """``issued`` by certificate id, in order: a certificate named twice is one row."""
    by_id: dict[uuid.UUID, IssuedCertificate] = {}
    for certificate in issued:
        by_id.setdefault(certificate.certificate_id, certificate)
    return by_id


def certificate_rows(
    issued: Iterable[IssuedCertificate], recorded_at: datetime
) -> list[dict[str, Any]]:
    """The ``candidate_certificates`` rows of ``issued``."""
    return [
        {
            "certificate_id": c.certificate_id,
            "worker_id": c.worker_id,
            "number": c.number,
            "kind": c.kind,
            "track": c.track,
            "issued_at": c.issued_at,
            "valid_until": c.valid_until,
            "recorded_at": recorded_at,
        }
        for c in issued
    ]


async def add_certificates(session: AsyncSession, issued: Sequence[IssuedCertificate]) -> int:
    """Record the certificates not yet known; how many were new."""
    candidates = await ensure_candidates(session, (c.worker_id for c in issued))
    now = utcnow()
    by_id = by_certificate(issued)
    rows = certificate_rows(by_id.values(), now)
    # One cached INSERT for the whole batch (Core: nothing for the unit of work to track);
    # ON CONFLICT skips the certificates already known (a redelivery, an earlier batch) and
    # RETURNING names the new ones, so no SELECT looks for them first.
    new = set((await session.scalars(_insert_certificates(session), rows)).all()) if rows else set()
    # New certificates per worker: one version each.
    bumps = Counter(by_id[certificate_id].worker_id for certificate_id in new)
    added = len(new)
    if bumps:
        # One UPDATE for the whole batch; the loaded candidates take the new versions as
        # their stored state.
        await session.execute(
            BUMP,
            [
                {"w": worker_id, "v": candidates[worker_id].version + n, "u": now}
                for worker_id, n in bumps.items()
            ],
        )
        for worker_id, n in bumps.items():
            candidate = candidates[worker_id]
            set_committed_value(candidate, "version", candidate.version + n)
            set_committed_value(candidate, "updated_at", now)
    await refresh_ranks_many(session, [candidates[w] for w in bumps])
    return added


@dataclass(frozen=True)
class StandingChange:
    """One of credit's standing facts about a worker (see ``apply_credit_standing``)."""

    worker_id: uuid.UUID
    changed_at: datetime
    credit_level: str | None = None
    card_status: str | None = None
    list_status: str | None = None
    list_ended: str | None = None


async def apply_credit_standings(session: AsyncSession, changes: Sequence[StandingChange]) -> int:
    """Apply ``changes`` in order; how many were applied (newer facts stored win, per field)."""
    candidates = await ensure_candidates(session, (c.worker_id for c in changes))
    now = utcnow()
    applied = 0
    touched: dict[uuid.UUID, Candidate] = {}
    for change in changes:
        candidate = candidates[change.worker_id]
        if take_standing(
            candidate,
            changed_at=change.changed_at,
            credit_level=change.credit_level,
            card_status=change.card_status,
            list_status=change.list_status,
            list_ended=change.list_ended,
        ):
            applied += 1
            touched[change.worker_id] = _touched(candidate, now)
    await session.flush()
    await refresh_ranks_many(session, list(touched.values()))
    return applied


def _touched(candidate: Candidate, now: datetime) -> Candidate:
    """A change of the candidate: a new version per applied fact, as ``service._touch``."""
    candidate.version += 1
    candidate.updated_at = now
    return candidate
