"""Routes of the home-service card, its policy, insurance, and the verifiable credentials.

Public: the issuer's DID document, the status lists, and a card's verification by the
unguessable code in its QR. Everything else is for programme staff, or for the holder and
those credit access lets read the holder (404 for anyone else).
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import segno
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.credit import access
from services.credit.credentials import cards, facts, insurance, policy, vc
from services.credit.credentials.issuer import Issuer
from services.credit.credentials.models import (
    CardPolicy,
    CardWorkerFacts,
    HomeServiceCard,
    InsuranceClaim,
    InsurancePolicy,
)
from services.credit.credentials.schemas import (
    BlacklistingIn,
    CardAction,
    CardOut,
    CardPolicyIn,
    CardPolicyOut,
    CardQr,
    CardRequest,
    CardVerification,
    ClaimIn,
    ClaimOut,
    ConditionOut,
    CoverageRow,
    EligibilityOut,
    InsurancePolicyOut,
    JsonDocument,
    SweepOut,
)
from services.credit.models import Certificate, CreditWorker
from services.credit.service import mask_name
from services.kit.app import ServiceContext, get_ctx
from services.kit.errors import NotFound, Problem
from services.kit.http import conditional_json, etag_for
from services.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, keyset_page
from services.kit.policy import STAFF, allow, public
from services.kit.principal import Principal

router = APIRouter(prefix="/api/v1", tags=["cards"])
well_known = APIRouter(tags=["cards"])

staff = allow(*STAFF)
read_people = allow(*STAFF, "worker", "company", "employer", scopes=[access.CREDIT_READ_SCOPE])
#: Unguessable codes are 22 base64url characters (128 bits).
CODE_PATTERN = r"^[A-Za-z0-9_-]{22}$"
JSON_LD = "application/ld+json"
DOCUMENT_RESPONSE = {200: {"content": {JSON_LD: {"schema": {"type": "object"}}}}}


def issuer_of(ctx: ServiceContext) -> Issuer:
    return ctx.extras["issuer"]  # type: ignore[no-any-return]


async def start(ctx: ServiceContext) -> None:
    """On startup: load (in development, create) the issuer key."""
    from services.credit.credentials.issuer import load_issuer

    ctx.extras["issuer"] = load_issuer(ctx.platform)


async def sweep_once_a_day(ctx: ServiceContext) -> None:
    """Lapses by time happen at day boundaries (validity dates are days), and every other
    change is applied when its event arrives: one sweep per process and day keeps the lists
    current without a public GET writing each time."""
    day = cards.today()
    if ctx.extras.get("swept_on") == day:
        return
    async with ctx.db.write() as session:
        await cards.sweep(session, day)
    ctx.extras["swept_on"] = day


def _document(request: Request, document: JsonDocument, etag_parts: tuple[object, ...]) -> Response:
    response = conditional_json(request, document, etag_for(*etag_parts))
    if response.status_code == 200:
        response.headers["Content-Type"] = JSON_LD
    return response


# --- published by the issuer -------------------------------------------------------------


@well_known.get(
    "/.well-known/did.json",
    dependencies=[Depends(public())],
    responses=DOCUMENT_RESPONSE,
    response_class=Response,
)
async def did_web_document(request: Request, ctx: ServiceContext = Depends(get_ctx)) -> Response:
    """The credential issuer's DID document (did:web resolution)."""
    document = issuer_of(ctx).did_document()
    return _document(request, document, ("did", json.dumps(document, sort_keys=True)))


@router.get(
    "/credentials/issuer",
    dependencies=[Depends(public())],
    responses=DOCUMENT_RESPONSE,
    response_class=Response,
)
async def issuer_document(request: Request, ctx: ServiceContext = Depends(get_ctx)) -> Response:
    """The credential issuer's DID document: its Multikey public key, all a verifier needs
    besides the credential and its status lists."""
    document = issuer_of(ctx).did_document()
    return _document(request, document, ("did", json.dumps(document, sort_keys=True)))


@router.get(
    "/credentials/status-lists/{purpose}/{list_no}",
    dependencies=[Depends(public())],
    responses=DOCUMENT_RESPONSE,
    response_class=Response,
)
async def status_list(
    request: Request,
    purpose: str = Path(pattern=r"^(revocation|suspension)$"),
    list_no: int = Path(ge=0, le=1000),
    ctx: ServiceContext = Depends(get_ctx),
) -> Response:
    """A signed BitstringStatusListCredential with the current bits (the first fetch of a day
    first suspends the cards whose checks lapsed overnight)."""
    await sweep_once_a_day(ctx)
    async with ctx.db.read() as session:
        document = await vc.status_list_credential(session, issuer_of(ctx), purpose, list_no)
    bits = document["credentialSubject"]["encodedList"]
    return _document(request, document, ("list", purpose, list_no, bits, document["validFrom"]))


@router.get(
    "/certificates/{certificate_id}/credential",
    responses=DOCUMENT_RESPONSE,
    response_class=Response,
)
async def certificate_credential(
    certificate_id: uuid.UUID,
    request: Request,
    principal: Principal = Depends(read_people),
    ctx: ServiceContext = Depends(get_ctx),
) -> Response:
    """The training certificate as a signed W3C VC 2.0 document (eddsa-jcs-2022)."""
    async with ctx.db.read() as session:
        certificate = await session.get(Certificate, certificate_id)
        reader = (
            await access.reader_of(session, principal, certificate.worker_id)
            if certificate is not None
            else None
        )
    if certificate is None or reader is None:
        raise NotFound("certificate", certificate_id)
    async with ctx.db.write() as session:
        certificate = await session.get(Certificate, certificate_id)
        assert certificate is not None
        row = await vc.training_credential(session, issuer_of(ctx), certificate)
        if reader.is_logged:
            await access.log_read(
                session,
                reader,
                certificate.worker_id,
                resource="certificate",
                items=1,
                certificate_id=certificate.id,
            )
    return _document(request, json.loads(row.document), ("vc", row.id))


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


@router.post("/workers/{worker_id}/credit/blacklisting", response_model=EligibilityOut)
async def set_blacklisting(
    worker_id: uuid.UUID,
    body: BlacklistingIn,
    principal: Principal = Depends(staff),
    ctx: ServiceContext = Depends(get_ctx),
) -> EligibilityOut:
    """Put a worker on the blacklist as the card sees it (the card suspends: red), or take
    them off (a card suspended for it is reinstated if nothing else lapsed)."""
    async with ctx.db.write() as session:
        if await session.get(CardWorkerFacts, worker_id) is None:
            raise NotFound("worker", worker_id)
        await facts.set_blacklisted(session, worker_id, body.blacklisted)
    return await card_eligibility(worker_id, principal, ctx)


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
    """Re-judge every card now (checks that expired suspend their cards). Fetching a status
    list does the same."""
    async with ctx.db.write() as session:
        return SweepOut(changed=await cards.sweep(session))


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
            colour=await cards.colour(session, card, rules, cards.today()),  # type: ignore[arg-type]
            state=card.state,  # type: ignore[arg-type]
            valid_until=card.valid_until,
        )


@router.get(
    "/cards/verify/{code}",
    response_model=CardVerification,
    dependencies=[Depends(public())],
)
async def verify_card(
    request: Request,
    code: str = Path(pattern=CODE_PATTERN),
    ctx: ServiceContext = Depends(get_ctx),
) -> Response:
    """What scanning the card's QR code shows (as data; the page is /verify/{code}): masked
    name, tracks, live colour, validity."""
    out = await card_verification(ctx, code)
    if out is None:
        raise Problem(404, "not-found", "card not found", "No card with this code")
    return conditional_json(
        request, out, etag_for(code, out.state, out.colour, out.worker_name, cards.today())
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
    return _document(request, json.loads(row.document), ("vc", row.id))


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


# --- insurance --------------------------------------------------------------------------------


@router.get("/insurance/policies", response_model=Page[InsurancePolicyOut])
async def insurance_policies(
    principal: Principal = Depends(staff),
    ctx: ServiceContext = Depends(get_ctx),
    ending_within_days: int | None = Query(
        None, ge=0, le=366, description="Only policies ending within this many days (reminders)"
    ),
    worker_id: uuid.UUID | None = Query(None),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[InsurancePolicyOut]:
    """Accident insurance policies of card holders, oldest first."""
    query = select(InsurancePolicy)
    if ending_within_days is not None:
        day = cards.today()
        query = query.where(
            InsurancePolicy.ends_on >= day,
            InsurancePolicy.ends_on <= day + timedelta(days=ending_within_days),
        )
    if worker_id is not None:
        query = query.where(InsurancePolicy.worker_id == worker_id)
    async with ctx.db.read() as session:
        rows, next_cursor = await keyset_page(session, query, InsurancePolicy.id, cursor, limit)
    return Page[InsurancePolicyOut](
        items=[InsurancePolicyOut.model_validate(row) for row in rows], next_cursor=next_cursor
    )


@router.post("/insurance/policies/{policy_id}/claims", response_model=ClaimOut, status_code=201)
async def record_claim(
    policy_id: uuid.UUID,
    body: ClaimIn,
    response: Response,
    principal: Principal = Depends(staff),
    ctx: ServiceContext = Depends(get_ctx),
) -> ClaimOut:
    """Record a claim; the incident must fall within the policy's cover."""
    async with ctx.db.write() as session:
        cover = await insurance.get_policy(session, policy_id)
        if not cover.starts_on <= body.incident_date <= cover.ends_on:
            raise Problem(
                422,
                "outside-cover",
                "incident outside cover",
                f"The policy covers {cover.starts_on} to {cover.ends_on}",
            )
        claim = await insurance.record_claim(
            session, cover, body.incident_date, body.incident, principal.subject
        )
        out = ClaimOut.model_validate(claim)
    response.headers["Location"] = f"/api/v1/insurance/policies/{policy_id}/claims"
    return out


@router.post(
    "/insurance/policies/{policy_id}/renewal", response_model=InsurancePolicyOut, status_code=201
)
async def renew_insurance(
    policy_id: uuid.UUID,
    response: Response,
    principal: Principal = Depends(staff),
    ctx: ServiceContext = Depends(get_ctx),
) -> InsurancePolicyOut:
    """The next free period of cover under the current card policy, from the day after this
    one ends (409 if the card is revoked or the policy was already renewed)."""
    async with ctx.db.write() as session:
        cover = await insurance.get_policy(session, policy_id)
        version, rules = await policy.current(session)
        renewed = await insurance.renew(session, cover, version, rules, cards.today())
        out = InsurancePolicyOut.model_validate(renewed)
    response.headers["Location"] = f"/api/v1/insurance/policies?worker_id={out.worker_id}"
    return out


@router.get("/insurance/policies/{policy_id}/claims", response_model=list[ClaimOut])
async def policy_claims(
    policy_id: uuid.UUID,
    principal: Principal = Depends(staff),
    ctx: ServiceContext = Depends(get_ctx),
) -> list[ClaimOut]:
    """A policy's claims, oldest first."""
    async with ctx.db.read() as session:
        await insurance.get_policy(session, policy_id)
        rows = await session.scalars(
            select(InsuranceClaim)
            .where(InsuranceClaim.policy_id == policy_id)
            .order_by(InsuranceClaim.id)
        )
        return [ClaimOut.model_validate(row) for row in rows]
