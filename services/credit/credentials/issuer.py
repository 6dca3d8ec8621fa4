"""The platform's credential issuer: its Ed25519 key, DID (did:web) and published DID document.

The key comes from ``CREDIT_ISSUER_PRIVATE_KEY`` (a Multikey secret key, ``z3u2...``) when set;
otherwise from ``<var>/secrets/credit_issuer_key.json``, which is generated on first start for
development (never committed). The DID document is served by the gateway at
``/.well-known/did.json`` (did:web) and at ``/api/v1/credentials/issuer``.
"""

from __future__ import annotations

import json
import logging
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.credit.credentials.dataintegrity import Ed25519Signer
from services.credit.credentials.multibase import (
    MultibaseError,
    private_key_from_multibase,
    private_key_multibase,
)
from services.kit.secret_files import write_once
from services.kit.settings import PlatformSettings

log = logging.getLogger(__name__)

KEY_FILE_NAME = "credit_issuer_key.json"
DID_CONTEXT = ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"]


class IssuerSettings(BaseSettings):
    """Prefix ``CREDIT_ISSUER_``."""

    model_config = SettingsConfigDict(env_prefix="CREDIT_ISSUER_", extra="ignore")

    #: The issuer's did:web; its document is at https://<host>/.well-known/did.json.
    did: str = "did:web:jiasao.zhaoqing.gov.cn"
    #: Public origin of the platform, for status list and verification URLs.
    base_url: str = "https://jiasao.zhaoqing.gov.cn"
    #: Multikey-encoded Ed25519 secret key; unset = the development key file under var/.
    private_key: SecretStr | None = None


class IssuerKeyError(RuntimeError):
    """The configured issuer key cannot be used."""


@dataclass(frozen=True)
class Issuer:
    did: str
    base_url: str
    signer: Ed25519Signer

    @property
    def verification_method(self) -> str:
        return self.signer.verification_method

    def status_list_url(self, purpose: str, list_no: int) -> str:
        return f"{self.base_url}/api/v1/credentials/status-lists/{purpose}/{list_no}"

    def verification_url(self, code: str) -> str:
        return f"{self.base_url}/verify/{code}"

    def did_document(self) -> dict[str, Any]:
        method = self.verification_method
        return {
            "@context": DID_CONTEXT,
            "id": self.did,
            "verificationMethod": [
                {
                    "id": method,
                    "type": "Multikey",
                    "controller": self.did,
                    "publicKeyMultibase": self.signer.public_key_multibase,
                }
            ],
            "assertionMethod": [method],
        }


def key_file(var_dir: Path) -> Path:
    return var_dir / "secrets" / KEY_FILE_NAME


def ensure_dev_issuer_key(var_dir: Path) -> Path:
    """Create the development key file with a fresh random key unless it exists."""
    path = key_file(var_dir)
    if not path.exists():
        seed = Ed25519PrivateKey.generate().private_bytes(
            Encoding.Raw, PrivateFormat.Raw, NoEncryption()
        )
        write_once(path, {"privateKeyMultibase": private_key_multibase(seed)})
        log.warning("generated a development credential issuer key at %s", path)
    return path


def _seed(text: str, where: str) -> bytes:
    try:
        return private_key_from_multibase(text.strip())
    except MultibaseError as exc:
        raise IssuerKeyError(f"{where}: {exc}") from None


def load_issuer(
    platform: PlatformSettings | None = None, settings: IssuerSettings | None = None
) -> Issuer:
    platform = platform or PlatformSettings()
    settings = settings or IssuerSettings()
    if settings.private_key is not None:
        seed = _seed(settings.private_key.get_secret_value(), "CREDIT_ISSUER_PRIVATE_KEY")
    else:
        path = ensure_dev_issuer_key(platform.var_dir)
        if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            log.warning("issuer key file %s is accessible by group/others; chmod 600 it", path)
        data = json.loads(path.read_text("utf-8"))
        seed = _seed(str(data.get("privateKeyMultibase", "")), str(path))
    private_key = Ed25519PrivateKey.from_private_bytes(seed)
    signer = Ed25519Signer(private_key, "")
    signer.verification_method = f"{settings.did}#{signer.public_key_multibase}"
    return Issuer(settings.did, settings.base_url.rstrip("/"), signer)
