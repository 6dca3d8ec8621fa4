"""Registry domain operations. Each runs inside the caller's write transaction."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.registry import WorkerRegistered
from services.kit.errors import Conflict, NotFound
from services.kit.idnumbers import mask_id_card, mask_mobile, parse_id_card
from services.kit.ids import new_id
from services.kit.outbox import publish
from services.kit.pii import PiiCipher
from services.kit.types import utcnow
from services.registry.models import Worker
from services.registry.schemas import WorkerCreate

ID_CARD_CONTEXT = "registry.worker.id_card"
PHONE_CONTEXT = "registry.worker.phone"


async def register_worker(session: AsyncSession, cipher: PiiCipher, data: WorkerCreate) -> Worker:
    id_card = parse_id_card(data.id_card_number)
    id_index = cipher.blind_index(id_card.number, context=ID_CARD_CONTEXT)
    if await session.scalar(select(Worker.id).where(Worker.id_card_index == id_index)):
        raise Conflict(
            "A worker with this ID-card number is already registered", slug="duplicate-worker"
        )
    now = utcnow()
    worker = Worker(
        id=new_id(),
        name=data.name,
        gender=id_card.gender,
        birth_date=id_card.birth_date,
        id_card_encrypted=cipher.encrypt(id_card.number, context=ID_CARD_CONTEXT),
        id_card_index=id_index,
        id_card_masked=mask_id_card(id_card.number),
        phone_encrypted=cipher.encrypt(data.phone, context=PHONE_CONTEXT),
        phone_index=cipher.blind_index(data.phone, context=PHONE_CONTEXT),
        phone_masked=mask_mobile(data.phone),
        county=data.county,
        tracks=list(data.tracks),
        languages=list(data.languages),
        status="registered",
        company_id=None,
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(worker)
    await session.flush()
    await publish(
        session,
        WorkerRegistered(
            worker_id=str(worker.id),
            name=worker.name,
            gender=worker.gender,  # type: ignore[arg-type]
            birth_date=worker.birth_date,
            county=worker.county,  # type: ignore[arg-type]
            id_card_masked=worker.id_card_masked,
            phone_masked=worker.phone_masked,
            tracks=worker.tracks,  # type: ignore[arg-type]
            languages=worker.languages,
            status="registered",
            company_id=None,
            registered_at=now,
        ),
    )
    return worker


async def get_worker(session: AsyncSession, worker_id: uuid.UUID) -> Worker:
    worker = await session.get(Worker, worker_id)
    if worker is None:
        raise NotFound("worker", worker_id)
    return worker
