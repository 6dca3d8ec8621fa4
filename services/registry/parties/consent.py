"""Consent routes: a worker grants and withdraws consent to share their credit data.

Only the worker themself may grant or withdraw (officers included are refused: consent is the
worker's own word); the worker and officers/admins may read. Every change publishes
``registry.consent.changed`` so the credit service can honour it.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Response

from services.kit.app import ServiceContext, get_ctx
from services.kit.principal import Principal
from services.registry.parties import access, consents, records, views
from services.registry.parties.access import Action
from services.registry.parties.schemas.consent import ConsentCreate, ConsentOut

router = APIRouter(prefix="/api/v1", tags=["consent"])


@router.post("/workers/{worker_id}/consents", status_code=201, response_model=ConsentOut)
async def grant_consent(
    worker_id: uuid.UUID,
    body: ConsentCreate,
    response: Response,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(access.policy(Action.CONSENT_GRANT)),
) -> ConsentOut:
    """Grant consent (scope, recipient, expiry ≤ 5 years ahead). The worker themself only."""
    access.require(principal, Action.CONSENT_GRANT)
    async with ctx.db.write() as session:
        worker = await records.get_worker(session, worker_id, for_update=True)
        access.ensure_worker(principal, Action.CONSENT_GRANT, worker)
        consent = await consents.grant_consent(session, worker, body, principal)
    response.headers["Location"] = f"/api/v1/workers/{worker_id}/consents/{consent.id}"
    return views.consent_out(consent)


@router.post("/workers/{worker_id}/consents/{consent_id}/withdraw", response_model=ConsentOut)
async def withdraw_consent(
    worker_id: uuid.UUID,
    consent_id: uuid.UUID,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(access.policy(Action.CONSENT_WITHDRAW)),
) -> ConsentOut:
    """Withdraw an active consent (409 if already withdrawn or expired). The worker only."""
    access.require(principal, Action.CONSENT_WITHDRAW)
    async with ctx.db.write() as session:
        worker = await records.get_worker(session, worker_id)
        access.ensure_worker(principal, Action.CONSENT_WITHDRAW, worker)
        consent = await consents.get_consent(session, worker_id, consent_id, for_update=True)
        await consents.withdraw_consent(session, consent, principal)
    return views.consent_out(consent)


@router.get("/workers/{worker_id}/consents", response_model=list[ConsentOut])
async def list_consents(
    worker_id: uuid.UUID,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(access.policy(Action.CONSENT_READ)),
) -> list[ConsentOut]:
    """Every consent the worker gave, newest first, with its status. Self, officers, admins."""
    access.require(principal, Action.CONSENT_READ)
    async with ctx.db.read() as session:
        worker = await records.get_worker(session, worker_id)
        access.ensure_worker(principal, Action.CONSENT_READ, worker)
        given = await consents.list_consents(session, worker_id)
    return [views.consent_out(c) for c in given]


@router.get("/workers/{worker_id}/consents/{consent_id}", response_model=ConsentOut)
async def get_consent(
    worker_id: uuid.UUID,
    consent_id: uuid.UUID,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(access.policy(Action.CONSENT_READ)),
) -> ConsentOut:
    """One consent of the worker: to whom, for what, until when, and whether it was withdrawn."""
    access.require(principal, Action.CONSENT_READ)
    async with ctx.db.read() as session:
        worker = await records.get_worker(session, worker_id)
        access.ensure_worker(principal, Action.CONSENT_READ, worker)
        consent = await consents.get_consent(session, worker_id, consent_id)
    return views.consent_out(consent)
