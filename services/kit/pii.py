"""Personal data at rest: AES-256-GCM tokens plus a keyed HMAC blind index (DESIGN.md §2).

A stored value is a text token ``v1.<key_id>.<base64url(nonce | ciphertext+tag)>``. The key id
travels with the value so keys can rotate: new writes use the active key, old tokens still
decrypt while their key stays in the keyring, and :meth:`PiiCipher.reencrypt` moves them over.
The column's ``context`` (e.g. ``"registry.worker.id_card"``) is the AEAD associated data, so a
token copied into another column or table does not decrypt there.

Exact lookup ("is this ID number already registered?") uses :meth:`PiiCipher.blind_index`, an
HMAC under a separate key: deterministic, but useless without the key, unlike a plain hash of an
18-digit number whose birth date and region are guessable.

Keys come from ``JIASAO_PII_*`` environment variables (production) or, when none is set, from
``<JIASAO_VAR_DIR>/secrets/pii_keys.json``, which :func:`ensure_dev_pii_keys` creates for
development. No key is ever built into the code.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import stat
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.kit.secret_files import write_once
from services.kit.settings import PlatformSettings

__all__ = [
    "KEY_FILE_NAME",
    "TOKEN_VERSION",
    "PiiCipher",
    "PiiDecryptError",
    "PiiError",
    "PiiKeyError",
    "PiiKeys",
    "PiiSettings",
    "ensure_dev_pii_keys",
    "load_pii_cipher",
    "load_pii_keys",
    "normalise_for_index",
    "pii_key_file",
]

log = logging.getLogger(__name__)

TOKEN_VERSION = "v1"
KEY_BYTES = 32  # AES-256 and the HMAC-SHA256 index key
NONCE_BYTES = 12  # 96-bit GCM nonce, random per encryption
TAG_BYTES = 16
KEY_FILE_NAME = "pii_keys.json"
# Key ids sit between dots in the token and in "kid:key" env lists, so keep them plain.
_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_B64URL = re.compile(r"[A-Za-z0-9_-]+")


class PiiError(Exception):
    """Base class for PII encryption errors."""


class PiiDecryptError(PiiError):
    """A token cannot be decrypted: malformed, unknown key id, wrong context or tampered."""


class PiiKeyError(PiiError):
    """PII keys are missing or malformed; the message says what the operator should do."""


def normalise_for_index(value: str) -> str:
    """Canonical form fed to the blind index: NFKC, no whitespace, upper-case.

    Meant for identifiers (ID card, mobile, credit code) so "11010519491231002x" and
    "110105 19491231 002X" find the same row. Callers should still pass the ``parse_*`` output.
    """
    return "".join(unicodedata.normalize("NFKC", value).split()).upper()


def _check_context(context: str) -> bytes:
    # An empty context would let tokens move between columns; NUL is the index separator.
    if not context or "\x00" in context:
        raise ValueError("context must be a non-empty string without NUL characters")
    return context.encode()


def _check_key_id(key_id: str) -> None:
    if not _KEY_ID.fullmatch(key_id):
        raise PiiKeyError(f"key id {key_id!r} must be 1-64 characters of A-Z, a-z, 0-9, _ or -")


class PiiCipher:
    """Encrypts, decrypts and blind-indexes personal data with a rotating keyring."""

    __slots__ = ("_active_key_id", "_aeads", "_index_key")

    def __init__(self, keyring: Mapping[str, bytes], active_key_id: str, index_key: bytes) -> None:
        if not keyring:
            raise PiiKeyError("the PII keyring is empty")
        for key_id, key in keyring.items():
            _check_key_id(key_id)
            if len(key) != KEY_BYTES:
                raise PiiKeyError(f"key {key_id!r} must be {KEY_BYTES} bytes, got {len(key)}")
        if active_key_id not in keyring:
            raise PiiKeyError(f"active key id {active_key_id!r} is not in the keyring")
        if len(index_key) != KEY_BYTES:
            raise PiiKeyError(
                f"the blind-index key must be {KEY_BYTES} bytes, got {len(index_key)}"
            )
        # One key for two purposes would tie the index's fate to the encryption key's.
        if any(hmac.compare_digest(index_key, key) for key in keyring.values()):
            raise PiiKeyError("the blind-index key must differ from every encryption key")
        self._aeads: dict[str, AESGCM] = {kid: AESGCM(bytes(k)) for kid, k in keyring.items()}
        self._active_key_id = active_key_id
        self._index_key = bytes(index_key)

    def __repr__(self) -> str:
        return f"PiiCipher(active_key_id={self._active_key_id!r}, key_ids={self.key_ids!r})"

    @property
    def active_key_id(self) -> str:
        return self._active_key_id

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._aeads)

    def encrypt(self, plaintext: str, *, context: str) -> str:
        aad = _check_context(context)
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aeads[self._active_key_id].encrypt(nonce, plaintext.encode(), aad)
        payload = base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode("ascii")
        return f"{TOKEN_VERSION}.{self._active_key_id}.{payload}"

    def decrypt(self, token: str, *, context: str) -> str:
        aad = _check_context(context)
        key_id, blob = _split_token(token)
        aead = self._aeads.get(key_id)
        if aead is None:
            raise PiiDecryptError(f"token was encrypted with key {key_id!r}, not in the keyring")
        try:
            plain = aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
        except InvalidTag:
            raise PiiDecryptError(
                "token failed authentication (wrong context or tampered)"
            ) from None
        try:
            return plain.decode()
        except UnicodeDecodeError:  # authentic but not ours: never produced by encrypt()
            raise PiiDecryptError("token plaintext is not UTF-8") from None

    @staticmethod
    def key_id_of(token: str) -> str:
        """Key id a token was encrypted with (does not decrypt)."""
        return _split_token(token)[0]

    def needs_rotation(self, token: str) -> bool:
        """True when ``token`` was not encrypted with the active key."""
        return self.key_id_of(token) != self._active_key_id

    def reencrypt(self, token: str, context: str) -> str:
        """Decrypt ``token`` and encrypt it again under the active key (fresh nonce)."""
        return self.encrypt(self.decrypt(token, context=context), context=context)

    def blind_index(self, value: str, *, context: str) -> str:
        """Hex HMAC-SHA256 of ``context NUL normalised value`` under the index key."""
        message = _check_context(context) + b"\x00" + normalise_for_index(value).encode()
        return hmac.new(self._index_key, message, hashlib.sha256).hexdigest()


def _split_token(token: str) -> tuple[str, bytes]:
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3 or parts[0] != TOKEN_VERSION:
        raise PiiDecryptError(f"not a {TOKEN_VERSION} PII token")
    key_id, payload = parts[1], parts[2]
    if not _KEY_ID.fullmatch(key_id) or not _B64URL.fullmatch(payload):
        raise PiiDecryptError(f"not a {TOKEN_VERSION} PII token")
    try:
        blob = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    except (binascii.Error, ValueError):
        raise PiiDecryptError("token payload is not valid base64url") from None
    # Reject non-canonical encodings (stray low bits in the last character) so a token has
    # exactly one spelling: equal ciphertexts always compare equal as text.
    if base64.urlsafe_b64encode(blob).rstrip(b"=").decode("ascii") != payload:
        raise PiiDecryptError("token payload is not canonical base64url")
    if len(blob) < NONCE_BYTES + TAG_BYTES:
        raise PiiDecryptError("token payload is too short")
    return key_id, blob


# --- Key loading ---------------------------------------------------------------------------


class PiiSettings(BaseSettings):
    """``JIASAO_PII_*`` variables; all unset means "use the key file under var/secrets"."""

    model_config = SettingsConfigDict(env_prefix="JIASAO_PII_", extra="ignore")

    #: ``kid1:base64key,kid2:base64key`` (standard or URL-safe base64 of 32 bytes each).
    keys: SecretStr | None = None
    #: Key id new tokens are encrypted with; may be omitted when ``keys`` holds one key.
    active_key: str | None = None
    #: Base64 of the 32-byte blind-index key. Never rotate it casually: every index changes.
    index_key: SecretStr | None = None


@dataclass(frozen=True)
class PiiKeys:
    keyring: dict[str, bytes] = field(repr=False)
    active_key_id: str
    index_key: bytes = field(repr=False)
    #: Where the keys came from ("environment" or the file path), for the start-up log line.
    source: str = "environment"

    def cipher(self) -> PiiCipher:
        return PiiCipher(self.keyring, self.active_key_id, self.index_key)


def pii_key_file(var_dir: Path) -> Path:
    return var_dir / "secrets" / KEY_FILE_NAME


def _decode_key(text: str, what: str) -> bytes:
    # Accept standard and URL-safe alphabets, padded or not: operators paste from many tools.
    cleaned = text.strip().replace("-", "+").replace("_", "/").rstrip("=")
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        raw = base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError):
        raise PiiKeyError(f"{what} is not valid base64") from None
    if len(raw) != KEY_BYTES:
        raise PiiKeyError(f"{what} must decode to {KEY_BYTES} bytes, got {len(raw)}")
    return raw


def _secret(value: SecretStr | None) -> str | None:
    text = value.get_secret_value().strip() if value is not None else ""
    return text or None


def _keys_from_env(keys: str | None, active: str | None, index: str | None) -> PiiKeys:
    if keys is None:
        raise PiiKeyError("JIASAO_PII_KEYS is not set but other JIASAO_PII_* variables are")
    if index is None:
        raise PiiKeyError("JIASAO_PII_INDEX_KEY is not set but other JIASAO_PII_* variables are")
    keyring: dict[str, bytes] = {}
    for item in keys.split(","):
        key_id, sep, encoded = (part.strip() for part in item.partition(":"))
        if not sep or not key_id or not encoded:
            raise PiiKeyError("JIASAO_PII_KEYS must look like 'kid1:base64key,kid2:base64key'")
        _check_key_id(key_id)
        if key_id in keyring:
            raise PiiKeyError(f"JIASAO_PII_KEYS names key id {key_id!r} twice")
        keyring[key_id] = _decode_key(encoded, f"JIASAO_PII_KEYS key {key_id!r}")
    if active is None:
        if len(keyring) != 1:
            raise PiiKeyError("JIASAO_PII_ACTIVE_KEY must name one of the JIASAO_PII_KEYS ids")
        active = next(iter(keyring))
    if active not in keyring:
        raise PiiKeyError(f"JIASAO_PII_ACTIVE_KEY {active!r} is not in JIASAO_PII_KEYS")
    return PiiKeys(keyring, active, _decode_key(index, "JIASAO_PII_INDEX_KEY"), "environment")


def _keys_from_file(path: Path) -> PiiKeys:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("PII key file %s is accessible by group/others; chmod 600 it", path)
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PiiKeyError(f"cannot read PII key file {path}: {exc.__class__.__name__}") from None
    if not isinstance(data, dict) or not isinstance(data.get("keys"), dict):
        raise PiiKeyError(f"{path} must hold {{'active': kid, 'keys': {{kid: b64}}, 'index_key'}}")
    active, index = data.get("active"), data.get("index_key")
    if not isinstance(active, str) or not isinstance(index, str):
        raise PiiKeyError(f"{path} must have string fields 'active' and 'index_key'")
    keyring: dict[str, bytes] = {}
    for key_id, encoded in data["keys"].items():
        _check_key_id(key_id)
        if not isinstance(encoded, str):
            raise PiiKeyError(f"{path}: key {key_id!r} must be a base64 string")
        keyring[key_id] = _decode_key(encoded, f"{path} key {key_id!r}")
    if active not in keyring:
        raise PiiKeyError(f"{path}: active key {active!r} is not among its keys")
    return PiiKeys(keyring, active, _decode_key(index, f"{path} index_key"), str(path))


def load_pii_keys(
    settings: PlatformSettings | None = None, *, pii: PiiSettings | None = None
) -> PiiKeys:
    """Keys from ``JIASAO_PII_*`` if any is set, else from the var-dir key file."""
    pii = pii or PiiSettings()
    keys, index = _secret(pii.keys), _secret(pii.index_key)
    active = (pii.active_key or "").strip() or None
    if keys or index or active:
        return _keys_from_env(keys, active, index)
    path = pii_key_file((settings or PlatformSettings()).var_dir)
    if not path.is_file():
        raise PiiKeyError(
            "no PII encryption keys configured: JIASAO_PII_KEYS, JIASAO_PII_ACTIVE_KEY and "
            f"JIASAO_PII_INDEX_KEY are unset and {path.resolve()} does not exist. "
            "For development run `make run` (it generates keys there); "
            "in production set the three environment variables."
        )
    return _keys_from_file(path)


def load_pii_cipher(
    settings: PlatformSettings | None = None, *, pii: PiiSettings | None = None
) -> PiiCipher:
    return load_pii_keys(settings, pii=pii).cipher()


def ensure_dev_pii_keys(var_dir: Path) -> Path:
    """Create ``<var_dir>/secrets/pii_keys.json`` with random keys unless it already exists.

    Development only: production keys come from the environment. The file is written to a
    private temp file and hard-linked into place, so concurrently starting services neither
    overwrite each other's keys nor read a half-written file.
    """
    path = pii_key_file(var_dir)
    if path.exists():
        return path
    key_id = f"dev-{datetime.now(UTC):%Y%m%d}"
    content = {
        "active": key_id,
        "keys": {key_id: base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()},
        "index_key": base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode(),
    }
    return write_once(path, content)
