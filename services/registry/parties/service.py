"""Party domain operations. Each runs inside the caller's write transaction (``db.write()``).

These functions do not authorise: the HTTP layer checks :mod:`.access` first, and the bulk
importer runs them on behalf of an officer. ``actor`` is recorded for audit (history rows and
event ``changed_by`` fields); ``None`` means the system itself. Every state change publishes
its ``contracts.registry`` event in the same transaction; events never carry plaintext numbers.

Failures are kit problems: :class:`Conflict` (409) for duplicates and impossible state changes,
:class:`InvalidField` (422) for references to records that do not exist, :class:`NotFound`.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.envelope import EventData
from contracts.registry import (
    CompanyRegistered,
    ConsentChanged,
    EmployerRegistered,
    EmploymentChanged,
    InstitutionRegistered,
    PartnerRegistered,
    WorkerRegistered,
    WorkerStatusChanged,
    WorkerUpdated,
    WorkerVerified,
)
from services.kit.errors import Conflict, InvalidField, NotFound
from services.kit.idnumbers import mask_id_card, mask_mobile, parse_credit_code, parse_id_card
from services.kit.ids import new_id
from services.kit.outbox import publish, publish_many
from services.kit.pii import PiiCipher
from services.kit.principal import Principal
from services.kit.types import utcnow
from services.registry.identity.clients import revoke_partner_clients
from services.registry.parties.access import TRANSITIONS
from services.registry.parties.models import (
    COMPANY_CONTACT_PHONE_CONTEXT,
    EMPLOYER_PHONE_CONTEXT,
    INSTITUTION_CONTACT_PHONE_CONTEXT,
    PARTNER_CONTACT_PHONE_CONTEXT,
    WORKER_ID_CARD_CONTEXT,
    WORKER_PHONE_CONTEXT,
    Company,
    Consent,
    Employer,
    Employment,
    Institution,
    Partner,
    Worker,
    WorkerStatusChange,
    WorkerTargetGroup,
    WorkerTrack,
)
from services.registry.parties.schemas import (
    CompanyCreate,
    ConsentCreate,
    EmployerCreate,
    HealthCheck,
    InstitutionCreate,
    NoCriminalRecordCheck,
    OrganisationPatch,
    PartnerCreate,
    WorkerCreate,
    WorkerPatch,
)

log = logging.getLogger(__name__)

SYSTEM = "system"
#: Kept for callers of the old module-level names.
ID_CARD_CONTEXT = WORKER_ID_CARD_CONTEXT
PHONE_CONTEXT = WORKER_PHONE_CONTEXT


def actor_id(actor: Principal | None) -> str:
    """What history rows and events record as "who": the account id, or ``system``."""
    return actor.subject[:64] if actor is not None else SYSTEM


def _actor_role(actor: Principal | None) -> str | None:
    return actor.role if actor is not None else None


async def _flush_unique(session: AsyncSession, detail: str, slug: str) -> None:
    """Flush; a unique-constraint race (two writers, same number) becomes the same 409."""
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(detail, slug=slug) from exc


# --- workers: lookups ----------------------------------------------------------------------


async def get_worker(
    session: AsyncSession, worker_id: uuid.UUID, *, for_update: bool = False
) -> Worker:
    """The worker, or 404. ``for_update`` locks the row (PostgreSQL) for a read-modify-write."""
    query = select(Worker).where(Worker.id == worker_id)
    if for_update:
        query = query.with_for_update()
    worker = await session.scalar(query)
    if worker is None:
        raise NotFound("worker", worker_id)
    return worker


async def find_worker_by_id_card(
    session: AsyncSession, cipher: PiiCipher, number: str
) -> Worker | None:
    """Exact lookup through the blind index; ``number`` is validated (ValueError if invalid)."""
    card = parse_id_card(number)
    index = cipher.blind_index(card.number, context=WORKER_ID_CARD_CONTEXT)
    return await session.scalar(select(Worker).where(Worker.id_card_index == index))


async def find_workers_by_phone(
    session: AsyncSession, cipher: PiiCipher, phone: str
) -> Sequence[Worker]:
    index = cipher.blind_index(phone, context=WORKER_PHONE_CONTEXT)
    return (await session.scalars(select(Worker).where(Worker.phone_index == index))).all()


def worker_id_card(cipher: PiiCipher, worker: Worker) -> str:
    return cipher.decrypt(worker.id_card_encrypted, context=WORKER_ID_CARD_CONTEXT)


def worker_phone(cipher: PiiCipher, worker: Worker) -> str:
    return cipher.decrypt(worker.phone_encrypted, context=WORKER_PHONE_CONTEXT)


# --- workers: registration and profile ------------------------------------------------------


def _phone_fields(cipher: PiiCipher, phone: str) -> dict[str, str]:
    return {
        "phone_encrypted": cipher.encrypt(phone, context=WORKER_PHONE_CONTEXT),
        "phone_index": cipher.blind_index(phone, context=WORKER_PHONE_CONTEXT),
        "phone_masked": mask_mobile(phone),
    }


def _health_check_fields(check: HealthCheck | None) -> dict[str, Any]:
    return {
        "health_check_date": check.date if check else None,
        "health_check_institution": check.institution if check else None,
        "health_check_valid_until": check.valid_until if check else None,
    }


def _no_criminal_record_fields(check: NoCriminalRecordCheck | None) -> dict[str, Any]:
    return {
        "no_criminal_record_date": check.date if check else None,
        "no_criminal_record_result": check.result if check else None,
        "no_criminal_record_valid_until": check.valid_until if check else None,
    }


def _assign(worker: Worker, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        setattr(worker, name, value)


def _set_phone(cipher: PiiCipher, worker: Worker, phone: str) -> None:
    _assign(worker, _phone_fields(cipher, phone))


def _set_health_check(worker: Worker, check: HealthCheck | None) -> None:
    _assign(worker, _health_check_fields(check))


def _set_no_criminal_record(worker: Worker, check: NoCriminalRecordCheck | None) -> None:
    _assign(worker, _no_criminal_record_fields(check))


def _track_rows(worker_id: uuid.UUID, tracks: Sequence[str]) -> list[dict[str, Any]]:
    return [{"worker_id": worker_id, "track": t} for t in tracks]


def _target_group_rows(worker_id: uuid.UUID, groups: Sequence[str]) -> list[dict[str, Any]]:
    return [{"worker_id": worker_id, "target_group": g} for g in groups]


async def _sync_tags(session: AsyncSession, worker: Worker, *, fresh: bool) -> None:
    """Mirror the JSON lists into the association tables the list filters use."""
    if not fresh:
        await session.execute(delete(WorkerTrack).where(WorkerTrack.worker_id == worker.id))
        await session.execute(
            delete(WorkerTargetGroup).where(WorkerTargetGroup.worker_id == worker.id)
        )
    session.add_all(WorkerTrack(**row) for row in _track_rows(worker.id, worker.tracks))
    session.add_all(
        WorkerTargetGroup(**row) for row in _target_group_rows(worker.id, worker.target_groups)
    )


def _history_row(
    worker_id: uuid.UUID,
    source: str | None,
    target: str,
    reason: str,
    actor: Principal | None,
    at: datetime,
) -> dict[str, Any]:
    return {
        "id": new_id(),
        "worker_id": worker_id,
        "from_status": source,
        "to_status": target,
        "reason": reason,
        "changed_by": actor_id(actor),
        "changed_by_role": _actor_role(actor),
        "changed_at": at,
    }


def _history(
    worker: Worker, source: str | None, target: str, reason: str, actor: Principal | None
) -> WorkerStatusChange:
    return WorkerStatusChange(**_history_row(worker.id, source, target, reason, actor, utcnow()))


async def _company_or_422(
    session: AsyncSession, company_id: uuid.UUID, field: list[str | int]
) -> Company:
    company = await session.get(Company, company_id)
    if company is None:
        raise InvalidField(field, f"no company with id {company_id}")
    return company


def _employment_row(
    worker_id: uuid.UUID, company_id: uuid.UUID, kind: str, actor: Principal | None, at: datetime
) -> dict[str, Any]:
    return {
        "id": new_id(),
        "worker_id": worker_id,
        "company_id": company_id,
        "kind": kind,
        "joined_at": at,
        "joined_by": actor_id(actor),
    }


def _joined(
    worker_id: uuid.UUID, company_id: uuid.UUID, kind: str, at: datetime
) -> EmploymentChanged:
    return EmploymentChanged(
        worker_id=str(worker_id),
        company_id=str(company_id),
        previous_company_id=None,
        kind=kind,  # type: ignore[arg-type]
        changed_at=at,
    )


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
        **_phone_fields(cipher, data.phone),
        "county": data.county,
        "tracks": list(data.tracks),
        "languages": list(data.languages),
        "education": data.education,
        "target_groups": list(data.target_groups),
        **_health_check_fields(data.health_check),
        **_no_criminal_record_fields(data.no_criminal_record),
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
            birth_date=worker["birth_date"],
            county=worker["county"],
            id_card_masked=worker["id_card_masked"],
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
        employment = _employment_row(worker_id, *employer, actor, now)
        events.append(_joined(worker_id, *employer, now))
    return _NewWorker(
        worker=worker,
        tracks=_track_rows(worker_id, worker["tracks"]),
        target_groups=_target_group_rows(worker_id, worker["target_groups"]),
        history=_history_row(worker_id, None, "registered", "registered", actor, now),
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
        company = await _company_or_422(session, company_id, ["employment", "company_id"])
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


def _patch_changes(worker: Worker, patch: WorkerPatch) -> dict[str, Any]:
    """Fields of ``patch`` whose value differs from the record (phone compared by index)."""
    changes: dict[str, Any] = {}
    for field in patch.model_fields_set:
        value = getattr(patch, field)
        if field in ("health_check", "no_criminal_record"):
            current = _check_of(worker, field)
            value = value.model_dump() if value is not None else None
        elif field == "phone":
            changes["phone"] = value  # compared by the caller through the blind index
            continue
        else:
            current = getattr(worker, field)
        if value != current:
            changes[field] = value
    return changes


def _check_of(worker: Worker, field: str) -> dict[str, Any] | None:
    """The stored certificate as the dict its input model dumps to (None if none on file)."""
    if field == "health_check":
        if worker.health_check_date is None:
            return None
        return {
            "date": worker.health_check_date,
            "institution": worker.health_check_institution,
            "valid_until": worker.health_check_valid_until,
        }
    if worker.no_criminal_record_date is None:
        return None
    return {
        "date": worker.no_criminal_record_date,
        "result": worker.no_criminal_record_result,
        "valid_until": worker.no_criminal_record_valid_until,
    }


async def update_worker(
    session: AsyncSession,
    cipher: PiiCipher,
    worker: Worker,
    patch: WorkerPatch,
    actor: Principal | None,
) -> bool:
    """Apply ``patch``; returns False (no version bump, no event) when nothing changed.

    Publishes WorkerUpdated with the whole profile. Optimistic concurrency (If-Match) is the
    caller's job: compare the version before calling.
    """
    changes = _patch_changes(worker, patch)
    if "phone" in changes:
        if cipher.blind_index(changes["phone"], context=WORKER_PHONE_CONTEXT) == worker.phone_index:
            del changes["phone"]
        else:
            _set_phone(cipher, worker, changes.pop("phone"))
            changes["phone"] = True
    if not changes:
        return False
    for field, value in changes.items():
        if field == "health_check":
            _set_health_check(worker, patch.health_check)
        elif field == "no_criminal_record":
            _set_no_criminal_record(worker, patch.no_criminal_record)
        elif field != "phone":
            setattr(worker, field, list(value) if isinstance(value, list) else value)
    if "tracks" in changes or "target_groups" in changes:
        await _sync_tags(session, worker, fresh=False)
    worker.version += 1
    worker.updated_at = utcnow()
    await session.flush()
    await publish_worker_updated(session, worker)
    log.info(
        "worker updated",
        extra={"worker_id": str(worker.id), "fields": sorted(changes), "actor": actor_id(actor)},
    )
    return True


async def publish_worker_updated(session: AsyncSession, worker: Worker) -> None:
    await publish(
        session,
        WorkerUpdated(
            worker_id=str(worker.id),
            name=worker.name,
            county=worker.county,  # type: ignore[arg-type]
            tracks=worker.tracks,  # type: ignore[arg-type]
            languages=worker.languages,
            education=worker.education,
            target_groups=worker.target_groups,  # type: ignore[arg-type]
            health_check_valid_until=worker.health_check_valid_until,
            no_criminal_record_valid_until=worker.no_criminal_record_valid_until,
            updated_at=worker.updated_at,
            phone_masked=worker.phone_masked,
            status=worker.status,  # type: ignore[arg-type]
            company_id=str(worker.company_id) if worker.company_id else None,
        ),
    )


# --- workers: status life cycle -----------------------------------------------------------


def check_transition(source: str, target: str) -> None:
    """409 ``invalid-transition`` unless the life-cycle table allows ``source → target``."""
    allowed = TRANSITIONS.get(source, frozenset())
    if target not in allowed:
        raise Conflict(
            f"A worker cannot go from {source} to {target}"
            + (f"; from {source} they may go to {', '.join(sorted(allowed))}" if allowed else ""),
            slug="invalid-transition",
            allowed=sorted(allowed),
        )


async def _move(
    session: AsyncSession,
    worker: Worker,
    target: str,
    reason: str,
    actor: Principal | None,
) -> datetime:
    source = worker.status
    check_transition(source, target)
    history = _history(worker, source, target, reason, actor)
    session.add(history)
    worker.status = target
    worker.version += 1
    worker.updated_at = history.changed_at
    if target == "registered":  # re-admission: identity must be checked again
        worker.verified_at = None
        worker.verified_by = None
    await session.flush()
    await publish(
        session,
        WorkerStatusChanged(
            worker_id=str(worker.id),
            from_status=source,  # type: ignore[arg-type]
            to_status=target,  # type: ignore[arg-type]
            changed_by=actor_id(actor),
            reason=reason,
            changed_at=history.changed_at,
        ),
    )
    log.info(
        "worker status changed",
        extra={"worker_id": str(worker.id), "from": source, "to": target, "actor": actor_id(actor)},
    )
    return history.changed_at


async def change_worker_status(
    session: AsyncSession, worker: Worker, target: str, reason: str, actor: Principal | None
) -> Worker:
    """Move a worker along the life cycle (not to ``verified``: use :func:`verify_worker`).

    Leaving the programme (``left``) also ends the worker's current employment.
    Publishes WorkerStatusChanged (and EmploymentChanged when an employment ends).
    """
    if target == "verified":
        raise InvalidField("to", "use POST /api/v1/workers/{id}/verify to verify a worker")
    if target == worker.status:
        raise Conflict(f"The worker is already {target}", slug="invalid-transition")
    await _move(session, worker, target, reason, actor)
    if target == "left" and worker.company_id is not None:
        await leave_company(session, worker, actor, reason="left the programme")
    return worker


async def verify_worker(
    session: AsyncSession, worker: Worker, actor: Principal | None, reason: str
) -> Worker:
    """registered → verified; publishes WorkerVerified and WorkerStatusChanged."""
    if worker.status != "registered":
        raise Conflict(
            f"Only a registered worker can be verified; this one is {worker.status}",
            slug="invalid-transition",
        )
    at = await _move(session, worker, "verified", reason, actor)
    worker.verified_at = at
    worker.verified_by = actor_id(actor)
    await publish(
        session,
        WorkerVerified(worker_id=str(worker.id), verified_by=actor_id(actor), verified_at=at),
    )
    return worker


async def status_history(session: AsyncSession, worker_id: uuid.UUID) -> list[WorkerStatusChange]:
    query = (
        select(WorkerStatusChange)
        .where(WorkerStatusChange.worker_id == worker_id)
        .order_by(WorkerStatusChange.changed_at, WorkerStatusChange.id)
    )
    return list((await session.scalars(query)).all())


# --- employment ----------------------------------------------------------------------------


async def current_employment(session: AsyncSession, worker_id: uuid.UUID) -> Employment | None:
    return await session.scalar(
        select(Employment).where(Employment.worker_id == worker_id, Employment.left_at.is_(None))
    )


async def join_company(
    session: AsyncSession,
    worker: Worker,
    company_id: uuid.UUID,
    kind: str | None,
    actor: Principal | None,
) -> Employment:
    """Employ ``worker`` at ``company_id`` (kind defaults to the company's).

    409 ``already-employed`` when the worker has a current employment (they must leave first),
    409 ``invalid-transition`` for a worker who left the programme, 422 for an unknown company.
    The partial unique index on employments(worker_id) WHERE left_at IS NULL backs this up.
    """
    company = await _company_or_422(session, company_id, ["company_id"])
    if worker.status == "left":
        raise Conflict("A worker who left the programme cannot be employed", slug="worker-left")
    current = await current_employment(session, worker.id)
    if current is not None:
        where = "this company" if current.company_id == company_id else "another company"
        raise Conflict(
            f"The worker is already employed by {where}; they must leave it first",
            slug="already-employed",
        )
    now = utcnow()
    employment = Employment(
        **_employment_row(worker.id, company.id, kind or company.kind, actor, now)
    )
    session.add(employment)
    await _flush_unique(
        session, "The worker is already employed; they must leave first", "already-employed"
    )
    worker.company_id = company.id
    worker.employment_kind = employment.kind
    worker.version += 1
    worker.updated_at = now
    await session.flush()
    await publish(session, _joined(worker.id, company.id, employment.kind, now))
    log.info(
        "worker employed",
        extra={"worker_id": str(worker.id), "company_id": str(company.id), "kind": employment.kind},
    )
    return employment


async def leave_company(
    session: AsyncSession, worker: Worker, actor: Principal | None, reason: str | None = None
) -> Employment:
    """End the worker's current employment; 409 ``not-employed`` if there is none."""
    current = await current_employment(session, worker.id)
    if current is None:
        raise Conflict("The worker is not employed by any company", slug="not-employed")
    now = utcnow()
    current.left_at = now
    current.left_by = actor_id(actor)
    current.leave_reason = reason
    worker.company_id = None
    worker.employment_kind = None
    worker.version += 1
    worker.updated_at = now
    await session.flush()
    await publish(
        session,
        EmploymentChanged(
            worker_id=str(worker.id),
            company_id=None,
            previous_company_id=str(current.company_id),
            kind=None,
            changed_at=now,
        ),
    )
    log.info(
        "worker left company",
        extra={"worker_id": str(worker.id), "company_id": str(current.company_id)},
    )
    return current


async def employment_history(session: AsyncSession, worker_id: uuid.UUID) -> list[Employment]:
    query = (
        select(Employment)
        .where(Employment.worker_id == worker_id)
        .order_by(Employment.joined_at.desc(), Employment.id.desc())
    )
    return list((await session.scalars(query)).all())


# --- organisations -------------------------------------------------------------------------


async def find_company_by_credit_code(session: AsyncSession, code: str) -> Company | None:
    """Exact lookup; ``code`` is validated (InvalidCreditCode, a ValueError, if not)."""
    return await session.scalar(
        select(Company).where(Company.credit_code == parse_credit_code(code))
    )


async def find_institution_by_credit_code(session: AsyncSession, code: str) -> Institution | None:
    return await session.scalar(
        select(Institution).where(Institution.credit_code == parse_credit_code(code))
    )


def _organisation_fields(
    cipher: PiiCipher, data: CompanyCreate | InstitutionCreate, context: str
) -> dict[str, Any]:
    now = utcnow()
    return {
        "id": new_id(),
        "credit_code": data.credit_code,
        "name": data.name,
        "legal_representative": data.legal_representative,
        "county": data.county,
        "address": data.address,
        "contact_name": data.contact.name,
        "contact_phone_encrypted": cipher.encrypt(data.contact.phone, context=context),
        "contact_phone_index": cipher.blind_index(data.contact.phone, context=context),
        "contact_phone_masked": mask_mobile(data.contact.phone),
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }


async def _credit_code_free(session: AsyncSession, model: type[Any], code: str, what: str) -> str:
    detail = f"A {what} with unified social credit code {code} is already registered"
    if await session.scalar(select(exists().where(model.credit_code == code))):
        raise Conflict(detail, slug=f"duplicate-{what}")
    return detail


async def register_company(
    session: AsyncSession, cipher: PiiCipher, data: CompanyCreate, actor: Principal | None
) -> Company:
    """409 ``duplicate-company`` for a known credit code; publishes CompanyRegistered."""
    detail = await _credit_code_free(session, Company, data.credit_code, "company")
    company = Company(
        **_organisation_fields(cipher, data, COMPANY_CONTACT_PHONE_CONTEXT),
        kind=data.kind,
        honours=list(data.honours),
    )
    session.add(company)
    await _flush_unique(session, detail, "duplicate-company")
    await publish(
        session,
        CompanyRegistered(
            company_id=str(company.id),
            name=company.name,
            credit_code=company.credit_code,
            county=company.county,  # type: ignore[arg-type]
            kind=company.kind,  # type: ignore[arg-type]
            honours=company.honours,
            registered_at=company.created_at,
        ),
    )
    log.info("company registered", extra={"company_id": str(company.id)})
    return company


async def register_institution(
    session: AsyncSession, cipher: PiiCipher, data: InstitutionCreate, actor: Principal | None
) -> Institution:
    """409 ``duplicate-institution`` for a known credit code; publishes InstitutionRegistered."""
    detail = await _credit_code_free(session, Institution, data.credit_code, "institution")
    institution = Institution(
        **_organisation_fields(cipher, data, INSTITUTION_CONTACT_PHONE_CONTEXT),
        level=data.level,
        tracks=list(data.tracks),
    )
    session.add(institution)
    await _flush_unique(session, detail, "duplicate-institution")
    await publish(
        session,
        InstitutionRegistered(
            institution_id=str(institution.id),
            name=institution.name,
            credit_code=institution.credit_code,
            county=institution.county,  # type: ignore[arg-type]
            level=institution.level,  # type: ignore[arg-type]
            tracks=institution.tracks,  # type: ignore[arg-type]
            registered_at=institution.created_at,
        ),
    )
    log.info("institution registered", extra={"institution_id": str(institution.id)})
    return institution


async def update_organisation(
    session: AsyncSession,
    cipher: PiiCipher,
    organisation: Company | Institution,
    patch: OrganisationPatch,
    context: str,
) -> bool:
    """Change an organisation's representative, address or contact (no event: consumers
    carry none of these). Returns False when nothing changed."""
    changed = False
    if patch.legal_representative is not None:
        changed |= patch.legal_representative != organisation.legal_representative
        organisation.legal_representative = patch.legal_representative
    if patch.address is not None:
        changed |= patch.address != organisation.address
        organisation.address = patch.address
    if patch.contact is not None:
        index = cipher.blind_index(patch.contact.phone, context=context)
        if patch.contact.name != organisation.contact_name:
            organisation.contact_name = patch.contact.name
            changed = True
        if index != organisation.contact_phone_index:
            organisation.contact_phone_encrypted = cipher.encrypt(
                patch.contact.phone, context=context
            )
            organisation.contact_phone_index = index
            organisation.contact_phone_masked = mask_mobile(patch.contact.phone)
            changed = True
    if changed:
        organisation.version += 1
        organisation.updated_at = utcnow()
        await session.flush()
    return changed


# --- employers and partners ----------------------------------------------------------------


async def register_employer(
    session: AsyncSession, cipher: PiiCipher, data: EmployerCreate, actor: Principal | None
) -> Employer:
    """409 ``duplicate-employer`` for a known mobile number; publishes EmployerRegistered."""
    index = cipher.blind_index(data.phone, context=EMPLOYER_PHONE_CONTEXT)
    detail = "An employer with this mobile number is already registered"
    if await session.scalar(select(exists().where(Employer.phone_index == index))):
        raise Conflict(detail, slug="duplicate-employer")
    now = utcnow()
    employer = Employer(
        id=new_id(),
        name=data.name,
        phone_encrypted=cipher.encrypt(data.phone, context=EMPLOYER_PHONE_CONTEXT),
        phone_index=index,
        phone_masked=mask_mobile(data.phone),
        city=data.city,
        district=data.district,
        address=data.address,
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(employer)
    await _flush_unique(session, detail, "duplicate-employer")
    await publish(
        session,
        EmployerRegistered(
            employer_id=str(employer.id),
            name=employer.name,
            city=employer.city,  # type: ignore[arg-type]
            district=employer.district,
            registered_at=now,
        ),
    )
    log.info("employer registered", extra={"employer_id": str(employer.id)})
    return employer


async def register_partner(
    session: AsyncSession, cipher: PiiCipher, data: PartnerCreate, actor: Principal | None
) -> Partner:
    """409 ``duplicate-partner`` for a known credit code; publishes PartnerRegistered."""
    detail = "A partner with this unified social credit code is already registered"
    if data.credit_code is not None:
        detail = await _credit_code_free(session, Partner, data.credit_code, "partner")
    now = utcnow()
    partner = Partner(
        id=new_id(),
        name=data.name,
        credit_code=data.credit_code,
        city=data.city,
        kind=data.kind,
        contact_name=data.contact.name,
        contact_phone_encrypted=cipher.encrypt(
            data.contact.phone, context=PARTNER_CONTACT_PHONE_CONTEXT
        ),
        contact_phone_index=cipher.blind_index(
            data.contact.phone, context=PARTNER_CONTACT_PHONE_CONTEXT
        ),
        contact_phone_masked=mask_mobile(data.contact.phone),
        webhook_url=data.webhook_url,
        status="active",
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(partner)
    await _flush_unique(session, detail, "duplicate-partner")
    await publish(
        session,
        PartnerRegistered(
            partner_id=str(partner.id),
            name=partner.name,
            city=partner.city,  # type: ignore[arg-type]
            kind=partner.kind,  # type: ignore[arg-type]
            registered_at=now,
        ),
    )
    log.info("partner registered", extra={"partner_id": str(partner.id)})
    return partner


async def set_partner_status(session: AsyncSession, partner: Partner, status: str) -> Partner:
    """Suspending revokes every OAuth client of the partner in this same transaction, so no
    token is issued once the suspension commits; reactivating does not bring them back (an
    admin makes new clients)."""
    if partner.status == status:
        raise Conflict(f"The partner is already {status}", slug="invalid-transition")
    partner.status = status
    partner.version += 1
    partner.updated_at = utcnow()
    if status != "active":
        await revoke_partner_clients(session, partner.id)
    await session.flush()
    return partner


async def get_party(session: AsyncSession, model: type[Any], party_id: uuid.UUID, what: str) -> Any:
    party = await session.get(model, party_id)
    if party is None:
        raise NotFound(what, party_id)
    return party


# --- consent -------------------------------------------------------------------------------


def consent_status(consent: Consent, now: datetime | None = None) -> str:
    if consent.withdrawn_at is not None:
        return "withdrawn"
    if consent.expires_at <= (now or utcnow()):
        return "expired"
    return "active"


async def _check_recipient(session: AsyncSession, recipient: str) -> None:
    """A recipient that is a uuid must be a registered partner (anything else is a name)."""
    try:
        partner_id = uuid.UUID(recipient)
    except ValueError:
        return
    if await session.get(Partner, partner_id) is None:
        raise InvalidField("recipient", f"no partner with id {partner_id}")


async def grant_consent(
    session: AsyncSession, worker: Worker, data: ConsentCreate, actor: Principal | None
) -> Consent:
    """Record the worker's consent; 409 ``duplicate-consent`` while an equal one is active.

    Publishes ConsentChanged(granted=True).
    """
    if worker.status == "left":
        raise Conflict("A worker who left the programme cannot grant consent", slug="worker-left")
    recipient = str(uuid.UUID(data.recipient)) if _is_uuid(data.recipient) else data.recipient
    await _check_recipient(session, recipient)
    now = utcnow()
    active = await session.scalar(
        select(Consent).where(
            Consent.worker_id == worker.id,
            Consent.scope == data.scope,
            Consent.recipient == recipient,
            Consent.withdrawn_at.is_(None),
            Consent.expires_at > now,
        )
    )
    if active is not None:
        raise Conflict(
            "An active consent for this scope and recipient exists; withdraw it first",
            slug="duplicate-consent",
            consent_id=str(active.id),
        )
    consent = Consent(
        id=new_id(),
        worker_id=worker.id,
        scope=data.scope,
        recipient=recipient,
        granted_at=now,
        granted_by=actor_id(actor),
        expires_at=data.expires_at,
    )
    session.add(consent)
    await session.flush()
    await _publish_consent(session, consent, granted=True, at=now)
    log.info("consent granted", extra={"consent_id": str(consent.id), "worker_id": str(worker.id)})
    return consent


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


async def withdraw_consent(
    session: AsyncSession, consent: Consent, actor: Principal | None
) -> Consent:
    """Withdraw; 409 if already withdrawn or expired. Publishes ConsentChanged(granted=False)."""
    now = utcnow()
    status = consent_status(consent, now)
    if status != "active":
        raise Conflict(f"This consent is already {status}", slug="consent-not-active")
    consent.withdrawn_at = now
    consent.withdrawn_by = actor_id(actor)
    await session.flush()
    await _publish_consent(session, consent, granted=False, at=now)
    log.info(
        "consent withdrawn",
        extra={"consent_id": str(consent.id), "worker_id": str(consent.worker_id)},
    )
    return consent


async def _publish_consent(
    session: AsyncSession, consent: Consent, *, granted: bool, at: datetime
) -> None:
    await publish(
        session,
        ConsentChanged(
            consent_id=str(consent.id),
            worker_id=str(consent.worker_id),
            scope=consent.scope,
            recipient=consent.recipient,
            granted=granted,
            expires_at=consent.expires_at,
            changed_at=at,
        ),
    )


async def get_consent(
    session: AsyncSession, worker_id: uuid.UUID, consent_id: uuid.UUID, *, for_update: bool = False
) -> Consent:
    query = select(Consent).where(Consent.id == consent_id, Consent.worker_id == worker_id)
    if for_update:
        query = query.with_for_update()
    consent = await session.scalar(query)
    if consent is None:
        raise NotFound("consent", consent_id)
    return consent


async def list_consents(session: AsyncSession, worker_id: uuid.UUID) -> list[Consent]:
    query = (
        select(Consent)
        .where(Consent.worker_id == worker_id)
        .order_by(Consent.granted_at.desc(), Consent.id.desc())
    )
    return list((await session.scalars(query)).all())


__all__ = [
    "actor_id",
    "change_worker_status",
    "consent_status",
    "current_employment",
    "employment_history",
    "find_company_by_credit_code",
    "find_institution_by_credit_code",
    "find_worker_by_id_card",
    "find_workers_by_phone",
    "get_consent",
    "get_party",
    "get_worker",
    "grant_consent",
    "join_company",
    "leave_company",
    "list_consents",
    "register_company",
    "register_employer",
    "register_institution",
    "register_partner",
    "register_worker",
    "register_workers",
    "set_partner_status",
    "status_history",
    "update_organisation",
    "update_worker",
    "verify_worker",
    "withdraw_consent",
]
