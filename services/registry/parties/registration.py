"""Registering workers, one at a time or in bulk (the importer), with identical rows and
events either way. Runs inside the caller's write transaction and does not authorise."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.envelope import EventData
from contracts.registry import (
    WorkerRegistered,
)
from services.kit.errors import Conflict, InvalidField
from services.kit.idnumbers import mask_id_card, mask_id_card_tail, parse_id_card
from services.kit.ids import new_id
from services.kit.outbox import publish_many
from services.kit.pii import PiiCipher
from services.kit.principal import Principal
from services.kit.types import utcnow
from services.registry.parties.employment import company_or_422, employment_row, joined_event
from services.registry.parties.lifecycle import history_row
from services.registry.parties.models import (
    WORKER_ID_CARD_CONTEXT,
    Company,
    Employment,
    Worker,
    WorkerStatusChange,
    WorkerTargetGroup,
    WorkerTrack,
)
from services.registry.parties.records import actor_id, get_worker
from services.registry.parties.schemas.workers import WorkerCreate
from services.registry.parties.worker_fields import (
    health_check_fields,
    no_criminal_record_fields,
    phone_fields,
    target_group_rows,
    track_rows,
)

log = logging.getLogger(__name__)


DUPLICATE_WORKER = "A worker with this ID-card number is already registered"


@dataclass(slots=True)
class _NewWorker:
    """Every row that registering one worker writes, and its events in publishing order.

    Built by :func:`_new_worker` only, for :func:`register_worker` and :func:`register_workers`
    alike, so a worker registered one at a time and one registered in bulk cannot differ.
    """

    worker: dict[str, Any]
    tracks: list[dict[str, Any]]
    target_groups: list[dict[str, Any]]
    history: dict[str, Any]
    #: The open employment when the worker joins a company at registration.
    employment: dict[str, Any] | None
    events: list[EventData]

    @property
    def id(self) -> uuid.UUID:
        return self.worker["id"]  # type: ignore[no-any-return]


def _new_worker(
    cipher: PiiCipher,
    data: WorkerCreate,
    actor: Principal | None,
    employer: tuple[uuid.UUID, str] | None,
) -> _NewWorker:
    """The rows and events of registering ``data`` (status ``registered``).

    ``employer`` is (company id, employment kind) when the worker joins a company at once: the
    record is then written as :func:`join_company` leaves it (company, kind, version 2), with
    the open employment, and EmploymentChanged follows WorkerRegistered.
    """
    card = parse_id_card(data.id_card_number)
    now = utcnow()
    worker_id = new_id()
    company_id, kind = employer if employer is not None else (None, None)
    worker: dict[str, Any] = {
        "id": worker_id,
        "name": data.name,
        "gender": card.gender.value,
        "birth_date": card.birth_date,
        "id_card_encrypted": cipher.encrypt(card.number, context=WORKER_ID_CARD_CONTEXT),
        "id_card_index": cipher.blind_index(card.number, context=WORKER_ID_CARD_CONTEXT),
        "id_card_masked": mask_id_card(card.number),
        **phone_fields(cipher, data.phone),
        "county": data.county,
        "tracks": list(data.tracks),
        "languages": list(data.languages),
        "education": data.education,
        "target_groups": list(data.target_groups),
        **health_check_fields(data.health_check),
        **no_criminal_record_fields(data.no_criminal_record),
        "status": "registered",
        "company_id": company_id,
        "employment_kind": kind,
        # Joining is a change of its own, as when join_company follows registration.
        "version": 1 if employer is None else 2,
        "created_at": now,
        "updated_at": now,
    }
    events: list[EventData] = [
        WorkerRegistered(
            worker_id=str(worker_id),
            name=worker["name"],
            gender=worker["gender"],
            birth_year=worker["birth_date"].year,
            county=worker["county"],
            # Never the stored region+tail mask beside a birth date: that rebuilds the number.
            id_card_masked=mask_id_card_tail(card.number),
            phone_masked=worker["phone_masked"],
            tracks=worker["tracks"],
            languages=worker["languages"],
            status="registered",
            company_id=None,
            registered_at=now,
            education=worker["education"],
            target_groups=worker["target_groups"],
            health_check_valid_until=worker["health_check_valid_until"],
            no_criminal_record_valid_until=worker["no_criminal_record_valid_until"],
        )
    ]
    employment = None
    if employer is not None:
        employment = employment_row(worker_id, *employer, actor, now)
        events.append(joined_event(worker_id, *employer, now))
    return _NewWorker(
        worker=worker,
        tracks=track_rows(worker_id, worker["tracks"]),
        target_groups=target_group_rows(worker_id, worker["target_groups"]),
        history=history_row(worker_id, None, "registered", "registered", actor, now),
        employment=employment,
        events=events,
    )


async def _employers(
    session: AsyncSession, rows: Sequence[WorkerCreate]
) -> dict[uuid.UUID, tuple[uuid.UUID, str]]:
    """Company id → (id, kind) for every company ``rows`` join; 422 for one that is unknown."""
    wanted = {d.employment.company_id for d in rows if d.employment is not None}
    if not wanted:
        return {}
    if len(wanted) == 1:  # spares a query when the session already holds the company
        [company_id] = wanted
        company = await company_or_422(session, company_id, ["employment", "company_id"])
        return {company.id: (company.id, company.kind)}
    found = await session.execute(select(Company.id, Company.kind).where(Company.id.in_(wanted)))
    companies = {company_id: (company_id, kind) for company_id, kind in found}
    if missing := wanted - companies.keys():
        raise InvalidField(["employment", "company_id"], f"no company with id {min(missing)}")
    return companies


def _employer(
    data: WorkerCreate, companies: dict[uuid.UUID, tuple[uuid.UUID, str]]
) -> tuple[uuid.UUID, str] | None:
    if data.employment is None:
        return None
    company_id, company_kind = companies[data.employment.company_id]
    return company_id, data.employment.kind or company_kind


async def _insert_workers(session: AsyncSession, news: Sequence[_NewWorker]) -> None:
    """Write ``news``: one multi-row INSERT per table, parents first, then all their events.

    409 ``duplicate-worker`` when an ID-card number is already registered (the unique index is
    the backstop for a check made before; after it the transaction must be rolled back).
    """
    # Core INSERTs on the tables: the ORM's bulk INSERT would leave out null values and so
    # split the rows into one statement per run of rows with the same columns set.
    try:
        await session.execute(insert(Worker.__table__), [n.worker for n in news])
    except IntegrityError as exc:
        raise Conflict(DUPLICATE_WORKER, slug="duplicate-worker") from exc
    tables: tuple[tuple[type[Any], list[dict[str, Any]]], ...] = (
        (WorkerTrack, [row for n in news for row in n.tracks]),
        (WorkerTargetGroup, [row for n in news for row in n.target_groups]),
        (WorkerStatusChange, [n.history for n in news]),
        (Employment, [n.employment for n in news if n.employment is not None]),
    )
    for model, rows in tables:
        if rows:
            await session.execute(insert(model.__table__), rows)
    await publish_many(session, [event for n in news for event in n.events])


def _log_registered(new: _NewWorker, actor: Principal | None) -> None:
    worker = new.worker
    log.info(
        "worker registered",
        extra={
            "worker_id": str(worker["id"]),
            "id_card_masked": worker["id_card_masked"],
            "actor": actor_id(actor),
        },
    )
    if worker["company_id"] is not None:
        log.info(
            "worker employed",
            extra={
                "worker_id": str(worker["id"]),
                "company_id": str(worker["company_id"]),
                "kind": worker["employment_kind"],
            },
        )


async def register_worker(
    session: AsyncSession, cipher: PiiCipher, data: WorkerCreate, actor: Principal | None
) -> Worker:
    """Create a worker (status ``registered``) and, if ``data.employment``, employ them.

    409 ``duplicate-worker`` if the ID-card number is already registered; 422 if the employing
    company does not exist. Publishes WorkerRegistered (and EmploymentChanged when employed).
    """
    card = parse_id_card(data.id_card_number)
    id_index = cipher.blind_index(card.number, context=WORKER_ID_CARD_CONTEXT)
    if await session.scalar(select(Worker.id).where(Worker.id_card_index == id_index)):
        raise Conflict(DUPLICATE_WORKER, slug="duplicate-worker")
    companies = await _employers(session, [data])
    new = _new_worker(cipher, data, actor, _employer(data, companies))
    await _insert_workers(session, [new])
    _log_registered(new, actor)
    return await get_worker(session, new.id)


async def register_workers(
    session: AsyncSession,
    cipher: PiiCipher,
    rows: Sequence[WorkerCreate],
    actor: Principal | None,
) -> list[uuid.UUID]:
    """:func:`register_worker` for many workers at once; returns their ids, in order.

    The same rows and events as registering each in turn, written with one multi-row INSERT
    per table. The caller checks for numbers already registered (and for repeats within
    ``rows``): here only the unique index catches one, as a 409 ``duplicate-worker`` for the
    whole call, after which the transaction (or savepoint) must be rolled back. 422 if a
    company to join does not exist.
    """
    if not rows:
        return []
    companies = await _employers(session, rows)
    news = []
    for count, data in enumerate(rows, 1):
        news.append(_new_worker(cipher, data, actor, _employer(data, companies)))
        if count % 100 == 0:
            await asyncio.sleep(0)  # encrypting is CPU work: let requests through
    await _insert_workers(session, news)
    for new in news:
        _log_registered(new, actor)
    return [new.id for new in news]
