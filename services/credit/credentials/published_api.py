"""What the credential issuer publishes, and the credentials of training certificates.

Public: the issuer's DID document (did:web, and under /api/v1) and the signed Bitstring Status
List credentials, all a verifier needs besides a credential.
"""

from __future__ import annotations

import json
import uuid

from fastapi import APIRouter, Depends, Path, Request, Response

from services.credit import access
from services.credit.credentials import cards, insurance, policy, vc
from services.credit.credentials.issuer import Issuer, load_issuer
from services.credit.credentials.schemas import (
    JsonDocument,
)
from services.credit.models import Certificate
from services.kit.app import ServiceContext, get_ctx
from services.kit.errors import NotFound
from services.kit.http import conditional_json, etag_for
from services.kit.policy import STAFF, allow, public
from services.kit.principal import Principal

router = APIRouter(prefix="/api/v1", tags=["credentials"])
well_known = APIRouter(tags=["credentials"])

#: Who may ask for people's credentials at all; access.reader_of decides per worker.
read_people = allow(*STAFF, "worker", "company", "employer", scopes=[access.CREDIT_READ_SCOPE])
JSON_LD = "application/ld+json"
DOCUMENT_RESPONSE = {200: {"content": {JSON_LD: {"schema": {"type": "object"}}}}}


def issuer_of(ctx: ServiceContext) -> Issuer:
    return ctx.extras["issuer"]  # type: ignore[no-any-return]


async def start(ctx: ServiceContext) -> None:
    """On startup: load (in development, create) the issuer key."""
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
        _, rules = await policy.current(session)
        await insurance.announce(session, day, rules.warning_days)
    ctx.extras["swept_on"] = day


def document_response(
    request: Request, document: JsonDocument, etag_parts: tuple[object, ...]
) -> Response:
    response = conditional_json(request, document, etag_for(*etag_parts))
    if response.status_code == 200:
        response.headers["Content-Type"] = JSON_LD
    return response


@well_known.get(
    "/.well-known/did.json",
    dependencies=[Depends(public())],
    responses=DOCUMENT_RESPONSE,
    response_class=Response,
)
async def did_web_document(request: Request, ctx: ServiceContext = Depends(get_ctx)) -> Response:
    """The credential issuer's DID document (did:web resolution)."""
    document = issuer_of(ctx).did_document()
    return document_response(request, document, ("did", json.dumps(document, sort_keys=True)))


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
    return document_response(request, document, ("did", json.dumps(document, sort_keys=True)))


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
    return document_response(
        request, document, ("list", purpose, list_no, bits, document["validFrom"])
    )


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
    return document_response(request, json.loads(row.document), ("vc", row.id))
