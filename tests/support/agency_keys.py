"""Agencies' signing keys in tests (issue 14): a fresh Ed25519 key as the registry publishes
it (``registry.agency_key.changed``) and a body signed with it, as an agency sends a signed
import (detached JWS in ``Jiasao-Signature``)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from contracts.registry import AgencyKeyChanged
from services.kit.signing import SIGNATURE_HEADER, sha256_hex, sign_manifest


@dataclass(frozen=True)
class AgencyKey:
    agency_id: uuid.UUID
    kid: str
    private: Ed25519PrivateKey
    jwk: dict[str, str]

    def changed(self, status: str = "active", *, later: int = 0) -> AgencyKeyChanged:
        """The registry's event for this key (``later`` seconds after now, to order changes)."""
        return AgencyKeyChanged(
            agency_id=str(self.agency_id),
            kid=self.kid,
            jwk=self.jwk,
            status=status,  # type: ignore[arg-type]
            changed_at=datetime.now(UTC) + timedelta(seconds=later),
        )

    def sign(self, content: bytes) -> str:
        return sign_manifest(self.private, self.kid, sha256_hex(content), len(content), {})


def agency_key(agency_id: uuid.UUID, kid: str | None = None) -> AgencyKey:
    private = Ed25519PrivateKey.generate()
    public = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(private.public_key()))
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": public["x"]}
    return AgencyKey(agency_id, kid or f"k-{uuid.uuid4().hex[:12]}", private, jwk)


def signed_json(
    key: AgencyKey, payload: Any, headers: dict[str, str]
) -> tuple[bytes, dict[str, str]]:
    """The JSON body and the headers (the caller's, the media type, the signature)."""
    content = json.dumps(payload, ensure_ascii=False).encode()
    return content, {
        **headers,
        "Content-Type": "application/json",
        SIGNATURE_HEADER: key.sign(content),
    }
