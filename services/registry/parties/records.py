"""Finding party records, and what every operation records about who acted.

Lookups go through the blind indexes (never a plaintext number in a query); ``actor_id`` is
what history rows and events record as "who".
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.errors import Conflict, NotFound
from services.kit.idnumbers import parse_id_card
from services.kit.pii import PiiCipher
from services.kit.principal import Principal
from services.registry.parties.models import (
    WORKER_ID_CARD_CONTEXT,
    WORKER_PHONE_CONTEXT,
    Worker,
)

SYSTEM = "system"
#: Kept for callers of the old module-level names.
ID_CARD_CONTEXT = WORKER_ID_CARD_CONTEXT
PHONE_CONTEXT = WORKER_PHONE_CONTEXT


def actor_id(actor: Principal | None) -> str:
    """What history rows and events record as "who": the account id, or ``system``."""
    return actor.subject[:64] if actor is not None else SYSTEM


def actor_role(actor: Principal | None) -> str | None:
    return actor.role if actor is not None else None


async def flush_unique(session: AsyncSession, detail: str, slug: str) -> None:
    """Flush; a unique-constraint race (two writers, same number) becomes the same 409."""
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(detail, slug=slug) from exc


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


async def get_party(session: AsyncSession, model: type[Any], party_id: uuid.UUID, what: str) -> Any:
    party = await session.get(model, party_id)
    if party is None:
        raise NotFound(what, party_id)
    return party


async def credit_code_free(session: AsyncSession, model: type[Any], code: str, what: str) -> str:
    detail = f"A {what} with unified social credit code {code} is already registered"
    if await session.scalar(select(exists().where(model.credit_code == code))):
        raise Conflict(detail, slug=f"duplicate-{what}")
    return detail
