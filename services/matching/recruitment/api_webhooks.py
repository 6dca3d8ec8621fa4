"""Partner webhook routes: register an endpoint (the secret is shown once), list and remove
endpoints, the delivery log, replay."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import get_args

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field, HttpUrl
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.app import ServiceContext, get_ctx
from services.kit.errors import NotFound, Problem
from services.kit.ids import new_id
from services.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, keyset_page
from services.kit.pii import PiiCipher
from services.kit.policy import allow
from services.kit.principal import Principal
from services.kit.types import utcnow
from services.matching.recruitment import webhooks
from services.matching.recruitment.models import WebhookDelivery, WebhookEndpoint
from services.matching.recruitment.webhooks import WebhookEvent

router = APIRouter(prefix="/api/v1", tags=["webhooks"])

#: Partners manage their own endpoints with the scope they post jobs with.
PARTNER = allow(scopes=["jobs:write"])
CIPHER_KEY = "webhook_cipher"


class EndpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: HttpUrl = Field(description="Where to POST; https in production")
    event_types: list[WebhookEvent] = Field(
        default_factory=lambda: list(get_args(WebhookEvent)),
        min_length=1,
        max_length=4,
        description="Which changes to receive; default all",
    )


class EndpointOut(BaseModel):
    id: uuid.UUID
    url: str
    event_types: list[WebhookEvent]
    active: bool
    created_at: datetime


class EndpointCreated(EndpointOut):
    secret: str = Field(
        description="Signing secret (Standard Webhooks, whsec_…): shown only in this answer"
    )


class DeliveryOut(BaseModel):
    id: uuid.UUID
    message_id: str = Field(description="The webhook-id header, the same on every attempt")
    event_type: str
    status: str = Field(description="pending, delivered or failed")
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


def _cipher(ctx: ServiceContext) -> PiiCipher:
    cipher = ctx.extras.get(CIPHER_KEY)
    if cipher is None:
        raise Problem(503, "no-data-key", "Unavailable", "No data key to protect the secret")
    return cipher  # type: ignore[no-any-return]


def _endpoint_out(endpoint: WebhookEndpoint) -> EndpointOut:
    return EndpointOut.model_validate(endpoint, from_attributes=True)


async def _own_endpoint(
    session: AsyncSession, principal: Principal, endpoint_id: uuid.UUID
) -> WebhookEndpoint:
    endpoint = await session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or not principal.acts_for(endpoint.partner_id):
        raise NotFound("webhook", endpoint_id)
    return endpoint


@router.post("/webhooks", status_code=201, response_model=EndpointCreated)
async def create_webhook(
    body: EndpointIn,
    response: Response,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(PARTNER),
) -> EndpointCreated:
    """Register an endpoint for the calling partner's application and engagement changes."""
    if principal.party_id is None:
        raise NotFound("partner", "caller")
    secret = webhooks.new_secret()
    endpoint = WebhookEndpoint(
        id=new_id(),
        partner_id=principal.party_id,
        url=str(body.url),
        secret_encrypted=webhooks.encrypt_secret(_cipher(ctx), secret),
        event_types=list(dict.fromkeys(body.event_types)),
        active=True,
        created_at=utcnow(),
    )
    async with ctx.db.write() as session:
        session.add(endpoint)
    response.headers["Location"] = f"/api/v1/webhooks/{endpoint.id}"
    return EndpointCreated(**_endpoint_out(endpoint).model_dump(), secret=secret)


@router.get("/webhooks", response_model=Page[EndpointOut])
async def list_webhooks(
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(PARTNER),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[EndpointOut]:
    """The calling partner's endpoints (never their secrets)."""
    query = select(WebhookEndpoint).where(WebhookEndpoint.partner_id == principal.party_id)
    async with ctx.db.read() as session:
        rows, next_cursor = await keyset_page(session, query, WebhookEndpoint.id, cursor, limit)
    return Page[EndpointOut](items=[_endpoint_out(e) for e in rows], next_cursor=next_cursor)


@router.delete("/webhooks/{webhook_id:uuid}", status_code=204)
async def delete_webhook(
    webhook_id: uuid.UUID,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(PARTNER),
) -> Response:
    """Stop sending to an endpoint (kept, inactive, with its delivery log)."""
    async with ctx.db.write() as session:
        endpoint = await _own_endpoint(session, principal, webhook_id)
        endpoint.active = False
    return Response(status_code=204)


@router.get("/webhooks/{webhook_id:uuid}/deliveries", response_model=Page[DeliveryOut])
async def list_deliveries(
    webhook_id: uuid.UUID,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(PARTNER),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[DeliveryOut]:
    """The delivery log of an endpoint, newest first: status, attempts, last answer."""
    async with ctx.db.read() as session:
        await _own_endpoint(session, principal, webhook_id)
        query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == webhook_id)
        rows, next_cursor = await keyset_page(
            session, query, WebhookDelivery.id, cursor, limit, descending=True
        )
    return Page[DeliveryOut](
        items=[DeliveryOut.model_validate(d, from_attributes=True) for d in rows],
        next_cursor=next_cursor,
    )


@router.post(
    "/webhooks/{webhook_id:uuid}/deliveries/{delivery_id:uuid}/replay", response_model=DeliveryOut
)
async def replay_delivery(
    webhook_id: uuid.UUID,
    delivery_id: uuid.UUID,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(PARTNER),
) -> DeliveryOut:
    """Send a message again with the same ``webhook-id`` (a new round of attempts); 409
    while it is still pending."""
    async with ctx.db.write() as session:
        endpoint = await _own_endpoint(session, principal, webhook_id)
        delivery = await session.get(WebhookDelivery, delivery_id, with_for_update=True)
        if delivery is None or delivery.endpoint_id != endpoint.id:
            raise NotFound("delivery", delivery_id)
        if delivery.status == "pending":
            raise Problem(409, "delivery-pending", "Conflict", "The message is still pending")
        webhooks.replay(delivery, utcnow())
        session.info[webhooks.WROTE_DELIVERIES] = True
        out = DeliveryOut.model_validate(delivery, from_attributes=True)
    return out
