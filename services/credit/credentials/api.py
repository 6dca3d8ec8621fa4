"""Routes of the home-service card: its policy, eligibility, issue and life cycle, its
credential and QR code, public verification by the unguessable code in the QR, and the
officers' coverage report. Staff, or the holder and those credit access lets read the holder
(404 for anyone else); verification is public.
"""

from __future__ import annotations

import json
import uuid

import segno
from fastapi import APIRouter, Depends, Path, Request, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.credit import access
from services.credit.credentials import cards, insurance, policy, vc
from services.credit.credentials.issuer import Issuer
from services.credit.credentials.models import (
    CardPolicy,
    CardWorkerFacts,
    HomeServiceCard,
)
from services.credit.credentials.published_api import (
    DOCUMENT_RESPONSE,
    document_response,
    issuer_of,
    read_people,
)
from services.credit.credentials.schemas import (
    CardAction,
    CardOut,
    CardPolicyIn,
    CardPolicyOut,
    CardQr,
    CardRequest,
    CardVerification,
    ConditionOut,
    CoverageRow,
    EligibilityOut,
    SweepOut,
)
from services.credit.models import CreditWorker
from services.credit.service import mask_name
from services.kit.app import ServiceContext, get_ctx
from services.kit.errors import NotFound, Problem
from services.kit.http import conditional_json, etag_for
from services.kit.policy import STAFF, allow, public
from services.kit.principal import Principal

router = APIRouter(prefix="/api/v1", tags=["cards"])

staff = allow(*STAFF)
#: Unguessable codes are 22 base64url characters (128 bits).
CODE_PATTERN = r"^[A-Za-z0-9_-]{22}$"


# --- card policy --------------------------------------------------------------------------


def _policy_out(row: CardPolicy) -> CardPolicyOut:
    return CardPolicyOut(
        version=row.version,
        rules=policy.CardRules.model_validate(row.rules),
        note=row.note,
        created_by=row.created_by,
        created_at=row.created_at,
    )


@router.get("/cards/policies", response_model=list[CardPolicyOut])
async def card_policies(
    principal: Principal = Depends(staff), ctx: ServiceContext = Depends(get_ctx)
) -> list[CardPolicyOut]:
    """Every version of the card's eligibility and insurance policy, newest first."""
    async with ctx.db.read() as session:
        rows = await session.scalars(select(CardPolicy).order_by(CardPolicy.version.desc()))
        return [_policy_out(row) for row in rows]


@router.post("/cards/policies", response_model=CardPolicyOut, status_code=201)
async def add_card_policy(
    body: CardPolicyIn,
    response: Response,
    principal: Principal = Depends(staff),
    ctx: ServiceContext = Depends(get_ctx),
) -> CardPolicyOut:
    """A new policy version; cards are judged by it from now on (existing ones keep the
    version they were issued under on record until their next change)."""
    async with ctx.db.write() as session:
        row = await policy.add(session, body.rules, body.note, principal.subject)
        out = _policy_out(row)
    response.headers["Location"] = "/api/v1/cards/policies"
    return out


# --- eligibility and blacklist ----------------------------------------------------------------


@router.get("/workers/{worker_id}/credit/card-eligibility", response_model=EligibilityOut)
async def card_eligibility(
    worker_id: uuid.UUID,
    principal: Principal = Depends(allow(*STAFF, "worker")),
    ctx: ServiceContext = Depends(get_ctx),
) -> EligibilityOut:
    """Each condition of the current policy for this worker, met or not, and why. For staff
    and the worker themself."""
    if not (principal.is_privileged or principal.acts_for(worker_id)):
        raise NotFound("worker", worker_id)
    async with ctx.db.read() as session:
        version, rules = await policy.current(session)
        card = await cards.card_of_worker(session, worker_id)
        conditions = await cards.evaluate(
            session,
            worker_id,
            rules,
            cards.today(),
            exception_reason=card.exception_reason if card else None,
        )
    return EligibilityOut(
        worker_id=worker_id,
        policy_version=version,
        eligible=all(c.met for c in conditions),
        conditions=[ConditionOut(name=c.name, met=c.met, detail=c.detail) for c in conditions],  # type: ignore[arg-type]
    )


# --- cards ------------------------------------------------------------------------------------


async def _card_out(
    session: AsyncSession, card: HomeServiceCard, issuer: Issuer, shows_code: bool
) -> CardOut:
    _, rules = await policy.current(session)
    return CardOut(
        id=card.id,
        number=card.number,
        worker_id=card.worker_id,
        state=card.state,  # type: ignore[arg-type]
        colour=await cards.colour(session, card, rules, cards.today()),  # type: ignore[arg-type]
        suspension=card.suspension,  # type: ignore[arg-type]
        state_reason=card.state_reason,
        exception_reason=card.exception_reason,
        policy_version=card.policy_version,
        issued_at=card.issued_at,
        valid_until=card.valid_until,
        verification_url=issuer.verification_url(card.verify_code) if shows_code else None,
        version=card.version,
    )


@router.post("/cards", response_model=CardOut, status_code=201)
async def request_card(
    body: CardRequest,
    response: Response,
    principal: Principal = Depends(staff),
    ctx: ServiceContext = Depends(get_ctx),
) -> CardOut:
    """Issue a worker's card on an officer's request. Refused with 409 ``not-eligible`` listing
    every condition (met or not) when the worker does not qualify, 409 ``card-exists`` if they
    already have one, 404 if the registry has not announced the worker."""
    async with ctx.db.write() as session:
        card = await cards.officer_issue(session, body.worker_id, body.exception_reason)
        out = await _card_out(session, card, issuer_of(ctx), True)
    response.headers["Location"] = f"/api/v1/cards/{card.id}"
    return out


@router.post("/cards/status/sweep", response_model=SweepOut)
async def sweep_cards(
    principal: Principal = Depends(staff), ctx: ServiceContext = Depends(get_ctx)
) -> SweepOut:
    """Re-judge every card now (checks that expired suspend their cards) and announce the
    insurance renewal reminders and expiries due. The first status list fetch of a day does
    the same."""
    async with ctx.db.write() as session:
        changed = await cards.sweep(session)
        _, rules = await policy.current(session)
        notices = await insurance.announce(session, cards.today(), rules.warning_days)
    return SweepOut(changed=changed, insurance_notices=notices)


@router.get("/cards/coverage", response_model=list[CoverageRow])
async def card_coverage(
    principal: Principal = Depends(staff), ctx: ServiceContext = Depends(get_ctx)
) -> list[CoverageRow]:
    """Certified on the job (持证上岗): active workers holding a valid card, by county."""
    async with ctx.db.read() as session:
        rows = await cards.coverage(session)
    return [
        CoverageRow(
            county=county,  # type: ignore[arg-type]
            active_workers=workers,
            card_holders=holders,
            coverage=round(holders / workers, 4) if workers else 0.0,
        )
        for county, workers, holders in rows
    ]


async def card_verification(ctx: ServiceContext, code: str) -> CardVerification | None:
    """The minimal public facts of the card with this QR code, or None."""
    async with ctx.db.read() as session:
        card = await session.scalar(
            select(HomeServiceCard).where(HomeServiceCard.verify_code == code)
        )
        if card is None:
            return None
        _, rules = await policy.current(session)
        worker = await session.get(CreditWorker, card.worker_id)
        card_facts = await session.get(CardWorkerFacts, card.worker_id)
        return CardVerification(
            number=card.number,
            worker_name=mask_name(worker.name) if worker else None,
            tracks=sorted(card_facts.tracks) if card_facts else [],  # type: ignore[arg-type]
            stars=card_facts.stars if card_facts else None,
            stars_year=card_facts.stars_year if card_facts else None,
            colour=await cards.colour(session, card, rules, cards.today()),  # type: ignore[arg-type]
            state=card.state,  # type: ignore[arg-type]
            valid_until=card.valid_until,
        )


@router.get(
    "/verifications/cards/{code}",
    response_model=CardVerification,
    dependencies=[Depends(public())],
)
async def verify_card(
    request: Request,
    code: str = Path(pattern=CODE_PATTERN),
    ctx: ServiceContext = Depends(get_ctx),
) -> Response:
    """What scanning the card's QR code shows (as data; the page is /verify/{code}): masked
    name, tracks, published stars, live colour, validity."""
    out = await card_verification(ctx, code)
    if out is None:
        raise Problem(404, "not-found", "card not found", "No card with this code")
    return conditional_json(
        request,
        out,
        etag_for(code, out.state, out.colour, out.worker_name, out.stars, cards.today()),
    )


async def _readable_card(
    ctx: ServiceContext, principal: Principal, card_id: uuid.UUID
) -> tuple[HomeServiceCard, access.Reader]:
    """The card if the caller may read its holder (404 otherwise); third-party reads are
    logged where the holder sees them."""
    async with ctx.db.read() as session:
        card = await session.get(HomeServiceCard, card_id)
        reader = await access.reader_of(session, principal, card.worker_id) if card else None
    if card is None or reader is None:
        raise NotFound("card", card_id)
    if reader.is_logged:
        async with ctx.db.write() as session:
            await access.log_read(session, reader, card.worker_id, resource="card", items=1)
    return card, reader


@router.get("/cards/{card_id}", response_model=CardOut)
async def get_card(
    card_id: uuid.UUID,
    request: Request,
    principal: Principal = Depends(read_people),
    ctx: ServiceContext = Depends(get_ctx),
) -> Response:
    """A card with its live colour: for staff, the holder, the holder's company, and employers
    or partners the holder consented to."""
    card, reader = await _readable_card(ctx, principal, card_id)
    async with ctx.db.read() as session:
        # The card again, in the session that reads its colour's facts: the one read above
        # may predate a suspension committed since, and would then show "active" beside red.
        card = await cards.get_card(session, card_id)
        out = await _card_out(session, card, issuer_of(ctx), reader.sees_check_code)
    return conditional_json(request, out, etag_for(card.id, card.version, out.colour, reader.view))


@router.get("/workers/{worker_id}/credit/card", response_model=CardOut)
async def worker_card(
    worker_id: uuid.UUID,
    request: Request,
    principal: Principal = Depends(read_people),
    ctx: ServiceContext = Depends(get_ctx),
) -> Response:
    """The worker's card (404 if none, or if the caller may not read this worker)."""
    async with ctx.db.read() as session:
        card = await cards.card_of_worker(session, worker_id)
    if card is None:
        raise NotFound("card of worker", worker_id)
    return await get_card(card.id, request, principal, ctx)


@router.get("/cards/{card_id}/credential", responses=DOCUMENT_RESPONSE, response_class=Response)
async def card_credential(
    card_id: uuid.UUID,
    request: Request,
    principal: Principal = Depends(read_people),
    ctx: ServiceContext = Depends(get_ctx),
) -> Response:
    """The card as a signed W3C VC 2.0 document; its status entries point into the published
    revocation and suspension lists."""
    card, _ = await _readable_card(ctx, principal, card_id)
    async with ctx.db.write() as session:
        card = await cards.get_card(session, card_id)
        card_facts = await session.get(CardWorkerFacts, card.worker_id)
        row = await vc.card_credential(
            session, issuer_of(ctx), card, card_facts.tracks if card_facts else []
        )
    return document_response(request, json.loads(row.document), ("vc", row.id))


@router.get("/cards/{card_id}/qr", response_model=CardQr)
async def card_qr(
    card_id: uuid.UUID,
    request: Request,
    principal: Principal = Depends(read_people),
    ctx: ServiceContext = Depends(get_ctx),
) -> Response:
    """The QR code to print on the card (SVG of the verification URL). Holder and staff only."""
    card, reader = await _readable_card(ctx, principal, card_id)
    if not reader.sees_check_code:
        raise NotFound("card", card_id)
    url = issuer_of(ctx).verification_url(card.verify_code)
    out = CardQr(verification_url=url, svg=segno.make(url, error="m").svg_inline(scale=4))
    return conditional_json(request, out, etag_for(card.id, card.verify_code, "qr"))


async def _act(ctx: ServiceContext, card_id: uuid.UUID, action: str, reason: str) -> CardOut:
    async with ctx.db.write() as session:
        card = await cards.get_card(session, card_id)
        version, rules = await policy.current(session)
        day = cards.today()
        if action == "suspend":
            await cards.suspend(session, card, cards.BY_OFFICER, reason, rules, day)
        elif action == "reinstate":
            conditions = await cards.evaluate(
                session, card.worker_id, rules, day, exception_reason=card.exception_reason
            )
            if not all(c.met for c in conditions):
                raise cards.not_eligible(conditions)
            await cards.reinstate(session, card, reason, rules, day)
        elif action == "revoke":
            await cards.revoke(session, card, reason, rules, day)
        else:
            await cards.renew(session, card, version, rules, day)
        return await _card_out(session, card, issuer_of(ctx), True)


@router.post("/cards/{card_id}/suspend", response_model=CardOut)
async def suspend_card(
    card_id: uuid.UUID,
    body: CardAction,
    principal: Principal = Depends(staff),
    ctx: ServiceContext = Depends(get_ctx),
) -> CardOut:
    """Suspend by hand (e.g. blacklisting); stays suspended until an officer reinstates it.
    The credential's suspension bit is set."""
    return await _act(ctx, card_id, "suspend", body.reason)


@router.post("/cards/{card_id}/reinstate", response_model=CardOut)
async def reinstate_card(
    card_id: uuid.UUID,
    body: CardAction,
    principal: Principal = Depends(staff),
    ctx: ServiceContext = Depends(get_ctx),
) -> CardOut:
    """Lift a suspension; 409 with the conditions if the worker does not qualify now."""
    return await _act(ctx, card_id, "reinstate", body.reason)


@router.post("/cards/{card_id}/revoke", response_model=CardOut)
async def revoke_card(
    card_id: uuid.UUID,
    body: CardAction,
    principal: Principal = Depends(staff),
    ctx: ServiceContext = Depends(get_ctx),
) -> CardOut:
    """Revoke for good; the credential's revocation bit is set."""
    return await _act(ctx, card_id, "revoke", body.reason)


@router.post("/cards/{card_id}/renew", response_model=CardOut)
async def renew_card(
    card_id: uuid.UUID,
    principal: Principal = Depends(staff),
    ctx: ServiceContext = Depends(get_ctx),
) -> CardOut:
    """A new validity period from today under the current policy (409 with the conditions if
    the worker does not qualify); the previous credential is revoked, a new one is minted."""
    return await _act(ctx, card_id, "renew", "renewed")
