"""Checking a file an agency signed (issue 14): the part of a signed import that does not
depend on the file's format or on where the agency's keys are kept.

The agency signs the body it sends with one of its registered Ed25519 keys: a detached JWS
(:mod:`services.kit.signing`'s format, ``typ`` ``jiasao-exchange+jws``) in the
``Jiasao-Signature`` header, whose manifest names the body's SHA-256 and size. Without a
signature, with one that does not parse or verify, for other bytes, or by a key the agency does
not have (registered and not revoked): 401 ``invalid-signature`` (with ``WWW-Authenticate``);
a key known to belong to another agency, or revoked: 403 ``forbidden``. The registry's
target-group import (its own ``agency_keys`` table) and matching's job import (its read model
:mod:`services.kit.agency_keys`) both answer through :func:`verify_signed_body`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from services.kit.errors import Problem
from services.kit.principal import forbidden
from services.kit.signing import SIGNATURE_HEADER, SignatureError, sha256_hex, signature_kid
from services.kit.signing import verify as verify_signature


def public_key(jwk: Mapping[str, str]) -> Ed25519PublicKey:
    """The Ed25519 public key of a JWK; ValueError (or a PyJWTError) for anything else."""
    key = jwt.algorithms.OKPAlgorithm.from_jwk(json.dumps(dict(jwk)))
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("is not an Ed25519 public key")
    return key


def signature_problem(detail: str) -> Problem:
    return Problem(
        401,
        "invalid-signature",
        "Invalid signature",
        detail,
        headers={"WWW-Authenticate": f'{SIGNATURE_HEADER} alg="EdDSA"'},
    )


async def verify_signed_body(
    body: bytes,
    jws: str | None,
    keys: Mapping[str, Ed25519PublicKey],
    known_elsewhere: Callable[[str], Awaitable[bool]],
) -> str:
    """The kid of a valid signature of ``body`` by one of ``keys`` (the calling agency's
    active keys); else the problem (see the module's doc). ``known_elsewhere(kid)`` says
    whether the kid is registered at all (another agency's key, or a revoked one)."""
    if not jws:
        raise signature_problem(f"Sign the file and send the JWS in {SIGNATURE_HEADER}")
    try:
        kid = signature_kid(jws)
    except SignatureError as exc:
        raise signature_problem(str(exc)) from None
    if kid not in keys:
        if await known_elsewhere(kid):
            raise forbidden(f"Key {kid} is not a registered key of this agency")
        raise signature_problem(f"Key {kid} is not registered for this agency")
    try:
        verify_signature(jws, dict(keys), content_sha256=sha256_hex(body), size=len(body))
    except SignatureError as exc:
        raise signature_problem(str(exc)) from None
    return kid
