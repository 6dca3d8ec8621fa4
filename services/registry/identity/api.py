"""Identity routes: /api/v1/auth/*, /api/v1/accounts, /api/v1/me, partner OAuth clients, JWKS.

Login, refresh, logout and the token endpoint are public (their bodies carry the
credentials); everything else needs a bearer token. Token responses are never cached.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from urllib.parse import parse_qsl, unquote_plus

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

from services.kit.app import ServiceContext, get_ctx
from services.kit.errors import Conflict, NotFound
from services.kit.policy import STAFF, allow, authenticated, public
from services.kit.principal import Principal, forbidden, unauthorized
from services.registry.identity.clients import PartnerClients
from services.registry.identity.models import Account, OAuthClient
from services.registry.identity.problems import oauth_error
from services.registry.identity.schemas import (
    AccountCreate,
    AccountOut,
    ClientCreate,
    ClientCreated,
    ClientOut,
    ClientToken,
    LoginRequest,
    PasswordChange,
    RefreshRequest,
    TokenPair,
)
from services.registry.identity.scopes import PARTNER_SCOPES
from services.registry.identity.service import IdentityService
from services.registry.identity.tokens import SigningKeyRing

router = APIRouter(prefix="/api/v1")
wellknown_router = APIRouter(tags=["auth"])

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
MAX_FORM_BYTES = 4096


def get_identity(ctx: ServiceContext = Depends(get_ctx)) -> IdentityService:
    return ctx.extras["identity"]  # type: ignore[no-any-return]


def get_clients(ctx: ServiceContext = Depends(get_ctx)) -> PartnerClients:
    return ctx.extras["partner_clients"]  # type: ignore[no-any-return]


def _no_store(response: Response) -> None:
    response.headers.update(NO_STORE)


# --- Login and tokens ------------------------------------------------------------------------


@router.post(
    "/auth/login", response_model=TokenPair, tags=["auth"], dependencies=[Depends(public())]
)
async def login(
    body: LoginRequest, response: Response, identity: IdentityService = Depends(get_identity)
) -> TokenPair:
    """Log in with mobile number and password. Five failures in a row lock the number for
    15 minutes (429 with Retry-After)."""
    _no_store(response)
    return await identity.login(body.phone, body.password)


@router.post(
    "/auth/refresh", response_model=TokenPair, tags=["auth"], dependencies=[Depends(public())]
)
async def refresh(
    body: RefreshRequest, response: Response, identity: IdentityService = Depends(get_identity)
) -> TokenPair:
    """Exchange a refresh token for new tokens. Each refresh token works once; presenting one
    again ends the whole session (its family)."""
    _no_store(response)
    return await identity.refresh(body.refresh_token)


@router.post("/auth/logout", status_code=204, tags=["auth"], dependencies=[Depends(public())])
async def logout(body: RefreshRequest, identity: IdentityService = Depends(get_identity)) -> None:
    """End the session the refresh token belongs to. Access tokens already issued stay valid
    until they expire (at most the access-token lifetime, 15 minutes by default)."""
    await identity.logout(body.refresh_token)


@router.post("/auth/password", status_code=204, tags=["auth"])
async def change_password(
    body: PasswordChange,
    principal: Principal = Depends(authenticated()),
    identity: IdentityService = Depends(get_identity),
) -> None:
    """Change your password; every refresh token of the account is revoked. Access tokens
    already issued stay valid until they expire (short-lived by design)."""
    await identity.change_password(_account_id(principal), body.current_password, body.new_password)


_TOKEN_FORM_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            FORM_MEDIA_TYPE: {
                "schema": {
                    "type": "object",
                    "required": ["grant_type"],
                    "properties": {
                        "grant_type": {"type": "string", "enum": ["client_credentials"]},
                        "scope": {
                            "type": "string",
                            "description": "Space-separated subset of: "
                            + " ".join(PARTNER_SCOPES)
                            + "; default: every scope the client holds",
                        },
                        "client_id": {"type": "string"},
                        "client_secret": {"type": "string"},
                    },
                }
            }
        },
    }
}


@router.post(
    "/auth/token",
    response_model=ClientToken,
    tags=["auth"],
    openapi_extra=_TOKEN_FORM_DOC,
    dependencies=[Depends(public(endpoint_reads_authorization=True))],
)
async def client_credentials_token(
    request: Request, response: Response, clients: PartnerClients = Depends(get_clients)
) -> ClientToken:
    """OAuth2 client-credentials grant for partner platforms (RFC 6749 §4.4). Authenticate
    with HTTP Basic or ``client_id``/``client_secret`` form fields. Errors are problem+json
    with the RFC 6749 code in ``error``."""
    _no_store(response)
    params = await _token_form(request)
    grant_type = params.get("grant_type")
    if not grant_type:
        raise oauth_error(400, "invalid_request", "grant_type is required", "grant_type")
    if grant_type != "client_credentials":
        raise oauth_error(
            400,
            "unsupported_grant_type",
            "Only grant_type=client_credentials is supported",
            "grant_type",
        )
    client_id, client_secret = _client_credentials(request, params)
    return await clients.client_token(client_id, client_secret, params.get("scope"))


async def _token_form(request: Request) -> dict[str, str]:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():  # never buffer more than MAX_FORM_BYTES
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            raise oauth_error(400, "invalid_request", "The request body is too large")
        chunks.append(chunk)
    body = b"".join(chunks)
    if not body:
        return {}  # nothing sent: the missing grant_type is reported by name
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != FORM_MEDIA_TYPE:
        raise oauth_error(400, "invalid_request", f"Send the parameters as {FORM_MEDIA_TYPE}")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=10)
    except (UnicodeDecodeError, ValueError) as exc:
        raise oauth_error(400, "invalid_request", "The form body cannot be parsed") from exc
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:
            raise oauth_error(400, "invalid_request", f"{name} is repeated", name)
        params[name] = value
    return params


def _client_credentials(request: Request, params: dict[str, str]) -> tuple[str, str]:
    authorization = request.headers.get("authorization")
    if authorization is not None:
        scheme, _, encoded = authorization.partition(" ")
        if scheme.lower() != "basic":
            raise oauth_error(401, "invalid_client", "Use HTTP Basic client authentication")
        if "client_secret" in params:
            raise oauth_error(
                400,
                "invalid_request",
                "Authenticate with HTTP Basic or with form fields, not both",
                "client_secret",
            )
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise oauth_error(401, "invalid_client", "Malformed HTTP Basic credentials") from exc
        raw_id, sep, raw_secret = decoded.partition(":")
        if not sep:
            raise oauth_error(401, "invalid_client", "Malformed HTTP Basic credentials")
        client_id, client_secret = unquote_plus(raw_id), unquote_plus(raw_secret)
        if params.get("client_id") not in (None, client_id):
            raise oauth_error(
                400, "invalid_request", "client_id differs from the Basic credentials", "client_id"
            )
    else:
        client_id, client_secret = params.get("client_id", ""), params.get("client_secret", "")
    if not client_id:
        raise oauth_error(401, "invalid_client", "client_id is required", "client_id")
    if not client_secret:
        raise oauth_error(401, "invalid_client", "client_secret is required", "client_secret")
    if len(client_secret) > 200:
        raise oauth_error(401, "invalid_client", "Unknown client or wrong client secret")
    return client_id, client_secret


@wellknown_router.get("/.well-known/jwks.json", dependencies=[Depends(public())])
async def jwks(ctx: ServiceContext = Depends(get_ctx)) -> JSONResponse:
    """The public keys access tokens are verified with, the active key first."""
    ring: SigningKeyRing = ctx.extras["signing_keys"]
    return JSONResponse(ring.current().jwks(), headers={"Cache-Control": "public, max-age=300"})


# --- Accounts --------------------------------------------------------------------------------


def _account_id(principal: Principal) -> uuid.UUID:
    if principal.role == "partner":
        raise forbidden("Partner platforms have OAuth clients, not accounts")
    try:
        return uuid.UUID(principal.subject)
    except ValueError as exc:
        raise unauthorized("The token does not name an account") from exc


def account_out(account: Account, phone: str | None) -> AccountOut:
    """``phone`` is the plaintext when the caller may see it; else the masked form is used."""
    return AccountOut(
        id=account.id,
        phone=phone or account.phone_masked,
        role=account.role,  # type: ignore[arg-type]
        party_id=account.party_id,
        display_name=account.display_name,
        status=account.status,  # type: ignore[arg-type]
        locked_until=account.locked_until,
        password_changed_at=account.password_changed_at,
        last_login_at=account.last_login_at,
        created_at=account.created_at,
        updated_at=account.updated_at,
    )


@router.post("/accounts", status_code=201, response_model=AccountOut, tags=["accounts"])
async def create_account(
    body: AccountCreate,
    response: Response,
    principal: Principal = Depends(allow(*STAFF)),
    identity: IdentityService = Depends(get_identity),
) -> AccountOut:
    """Create a login. Admins may create any role; officers only worker, employer, company
    and institution accounts."""
    if principal.role != "admin" and body.role in ("officer", "admin"):
        raise forbidden(f"Only an admin may create {body.role} accounts")
    try:
        account = await identity.create_account(
            phone=body.phone,
            password=body.password,
            role=body.role,
            party_id=body.party_id,
            display_name=body.display_name,
            created_by=principal.subject,
        )
    except IntegrityError as exc:  # a concurrent request registered the same phone
        raise Conflict(
            "An account with this mobile number already exists", slug="duplicate-account"
        ) from exc
    response.headers["Location"] = f"/api/v1/accounts/{account.id}"
    return account_out(account, body.phone)


@router.get("/accounts/{account_id}", response_model=AccountOut, tags=["accounts"])
async def get_account(
    account_id: uuid.UUID,
    principal: Principal = Depends(allow(*STAFF)),
    identity: IdentityService = Depends(get_identity),
) -> AccountOut:
    """An account: role, the party it acts for, whether it is disabled. Officers and admins."""
    account = await identity.get_account(account_id)
    return account_out(account, identity.phone_of(account))


@router.post("/accounts/{account_id}/disable", response_model=AccountOut, tags=["accounts"])
async def disable_account(
    account_id: uuid.UUID,
    principal: Principal = Depends(allow("admin")),
    identity: IdentityService = Depends(get_identity),
) -> AccountOut:
    """Disable an account: it can no longer log in and its refresh tokens are revoked."""
    if principal.subject == str(account_id):
        raise Conflict("You cannot disable your own account", slug="own-account")
    account = await identity.set_status(account_id, "disabled")
    return account_out(account, identity.phone_of(account))


@router.post("/accounts/{account_id}/enable", response_model=AccountOut, tags=["accounts"])
async def enable_account(
    account_id: uuid.UUID,
    principal: Principal = Depends(allow("admin")),
    identity: IdentityService = Depends(get_identity),
) -> AccountOut:
    """Re-enable an account; also lifts a login lockout."""
    account = await identity.set_status(account_id, "active")
    return account_out(account, identity.phone_of(account))


@router.get("/me", response_model=AccountOut, tags=["accounts"])
async def me(
    principal: Principal = Depends(authenticated()),
    identity: IdentityService = Depends(get_identity),
) -> AccountOut:
    """Your own account, with your full mobile number."""
    try:
        account = await identity.get_account(_account_id(principal))
    except NotFound as exc:
        raise unauthorized("The token's account no longer exists") from exc
    return account_out(account, identity.phone_of(account))


# --- Partner OAuth clients -------------------------------------------------------------------


def client_out(client: OAuthClient) -> ClientOut:
    return ClientOut(
        client_id=client.client_id,
        partner_id=client.partner_id,
        name=client.name,
        scopes=client.scopes,  # type: ignore[arg-type]
        active=client.active,
        created_at=client.created_at,
        last_used_at=client.last_used_at,
        revoked_at=client.revoked_at,
    )


@router.post(
    "/partners/{partner_id}/clients",
    status_code=201,
    response_model=ClientCreated,
    tags=["partners"],
)
async def create_client(
    partner_id: uuid.UUID,
    body: ClientCreate,
    response: Response,
    principal: Principal = Depends(allow("admin")),
    clients: PartnerClients = Depends(get_clients),
) -> ClientCreated:
    """Create an OAuth client for a registered, active partner platform (404 unknown, 409
    suspended). The secret is in this response only."""
    client, secret = await clients.create_client(
        partner_id, body.name, list(body.scopes), principal.subject
    )
    _no_store(response)
    response.headers["Location"] = f"/api/v1/partners/{partner_id}/clients/{client.client_id}"
    return ClientCreated(**client_out(client).model_dump(), client_secret=secret)


@router.get("/partners/{partner_id}/clients", response_model=list[ClientOut], tags=["partners"])
async def list_clients(
    partner_id: uuid.UUID,
    principal: Principal = Depends(allow("admin")),
    clients: PartnerClients = Depends(get_clients),
) -> list[ClientOut]:
    """A partner's OAuth clients with their scopes and status (never the secrets). Admins."""
    return [client_out(c) for c in await clients.list_clients(partner_id)]


@router.delete("/partners/{partner_id}/clients/{client_id}", status_code=204, tags=["partners"])
async def revoke_client(
    partner_id: uuid.UUID,
    client_id: str,
    principal: Principal = Depends(allow("admin")),
    clients: PartnerClients = Depends(get_clients),
) -> None:
    """Revoke a client: it gets no new tokens (tokens it holds expire within minutes)."""
    await clients.revoke_client(partner_id, client_id)


routers = (router, wellknown_router)
