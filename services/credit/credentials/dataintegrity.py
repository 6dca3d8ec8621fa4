"""W3C Data Integrity proofs with the ``eddsa-jcs-2022`` cryptosuite (VC DI EdDSA §3.3).

Canonicalisation is RFC 8785 (the ``rfc8785`` library), signatures Ed25519 (``cryptography``).
The hash signed is SHA-256(JCS(proof configuration)) ‖ SHA-256(JCS(document without proof)).

JCS needs no JSON-LD processing, but a verifier must still understand the vocabulary a document
uses: :class:`Contexts` holds the JSON-LD contexts we accept, read from files shipped with the
code (never fetched), and a document naming any other context is refused.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from services.credit.credentials.multibase import (
    MultibaseError,
    decode_z,
    encode_z,
    public_key_from_multibase,
    public_key_multibase,
)

CRYPTOSUITE = "eddsa-jcs-2022"
PROOF_TYPE = "DataIntegrityProof"
VC_V2 = "https://www.w3.org/ns/credentials/v2"

#: The contexts shipped with the code: URL → file beside this module.
_SHIPPED = {VC_V2: Path(__file__).parent / "contexts" / "credentials-v2.json"}


class ProofError(ValueError):
    """A document whose proof does not verify, with the reason."""


class Contexts:
    """JSON-LD context documents known offline, by URL. Unknown URLs are refused, not fetched."""

    def __init__(self, documents: Mapping[str, Any]) -> None:
        self._documents = dict(documents)

    @classmethod
    def shipped(cls) -> Contexts:
        return cls({url: json.loads(path.read_text("utf-8")) for url, path in _SHIPPED.items()})

    @classmethod
    def from_directory(cls, directory: Path) -> Contexts:
        """Contexts from ``directory/index.json`` (``{url: file name}``), plus the shipped ones."""
        index = json.loads((directory / "index.json").read_text("utf-8"))
        documents = {
            url: json.loads((directory / name).read_text("utf-8")) for url, name in index.items()
        }
        return cls({**cls.shipped()._documents, **documents})

    def load(self, url: str) -> Any:
        try:
            return self._documents[url]
        except KeyError:
            raise ProofError(
                f"unknown JSON-LD context {url!r} (contexts are never fetched)"
            ) from None

    def check(self, document: Mapping[str, Any]) -> None:
        """Every context the document names must be one we hold (inline contexts are refused)."""
        contexts = document.get("@context")
        if contexts is None:
            return
        for item in contexts if isinstance(contexts, list) else [contexts]:
            if not isinstance(item, str):
                raise ProofError("inline JSON-LD contexts are not accepted")
            self.load(item)


class Ed25519Signer:
    """An Ed25519 key pair identified by a verification method URL."""

    def __init__(self, private_key: Ed25519PrivateKey, verification_method: str) -> None:
        self.private_key = private_key
        self.verification_method = verification_method

    @property
    def public_key_raw(self) -> bytes:
        return self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def public_key_multibase(self) -> str:
        return public_key_multibase(self.public_key_raw)


def _hash_data(proof_config: Mapping[str, Any], document: Mapping[str, Any]) -> bytes:
    return (
        hashlib.sha256(rfc8785.dumps(proof_config)).digest()
        + hashlib.sha256(rfc8785.dumps(document)).digest()
    )


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def proof_configuration(
    document: Mapping[str, Any],
    verification_method: str,
    created: datetime,
    proof_purpose: str = "assertionMethod",
) -> dict[str, Any]:
    config: dict[str, Any] = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": _timestamp(created),
        "verificationMethod": verification_method,
        "proofPurpose": proof_purpose,
    }
    if "@context" in document:
        config["@context"] = copy.deepcopy(document["@context"])
    return config


def sign(
    document: Mapping[str, Any],
    signer: Ed25519Signer,
    *,
    created: datetime | None = None,
    proof_config: Mapping[str, Any] | None = None,
    contexts: Contexts | None = None,
) -> dict[str, Any]:
    """``document`` with an ``eddsa-jcs-2022`` DataIntegrityProof added (a new dict)."""
    if "proof" in document:
        raise ProofError("the document already has a proof")
    (contexts or Contexts.shipped()).check(document)
    config = dict(
        proof_config
        or proof_configuration(document, signer.verification_method, created or datetime.now(UTC))
    )
    signature = signer.private_key.sign(_hash_data(config, document))
    return {**copy.deepcopy(dict(document)), "proof": {**config, "proofValue": encode_z(signature)}}


#: Resolves a verification method URL to a raw Ed25519 public key, or raises ProofError.
KeyResolver = Callable[[str], bytes]


def did_key_resolver(verification_method: str) -> bytes:
    """did:key Ed25519 verification methods carry their key in their own identifier."""
    did, _, fragment = verification_method.partition("#")
    if not did.startswith("did:key:"):
        raise ProofError(f"cannot resolve {verification_method!r} offline")
    try:
        key = public_key_from_multibase(did.removeprefix("did:key:"))
    except MultibaseError as exc:
        raise ProofError(str(exc)) from None
    if fragment and fragment != did.removeprefix("did:key:"):
        raise ProofError("did:key fragment does not match the key")
    return key


def did_document_resolver(did_document: Mapping[str, Any]) -> KeyResolver:
    """Keys from a DID document (Multikey verification methods listed under assertionMethod)."""
    did = did_document.get("id")

    def absolute(ref: str) -> str:
        return f"{did}{ref}" if ref.startswith("#") else ref

    def resolve(verification_method: str) -> bytes:
        asserting = {
            absolute(item if isinstance(item, str) else item.get("id", ""))
            for item in did_document.get("assertionMethod", [])
        }
        if verification_method not in asserting:
            raise ProofError(f"{verification_method!r} is not an assertion method of {did!r}")
        for method in did_document.get("verificationMethod", []):
            if absolute(method.get("id", "")) == verification_method:
                if method.get("type") != "Multikey":
                    raise ProofError("verification method is not a Multikey")
                try:
                    return public_key_from_multibase(method.get("publicKeyMultibase", ""))
                except MultibaseError as exc:
                    raise ProofError(str(exc)) from None
        raise ProofError(f"{verification_method!r} is not in the DID document")

    return resolve


def verify(
    secured: Mapping[str, Any],
    resolve_key: KeyResolver,
    *,
    contexts: Contexts | None = None,
    expected_purpose: str = "assertionMethod",
) -> dict[str, Any]:
    """Check the document's single ``eddsa-jcs-2022`` proof; return the proof. Raises ProofError."""
    proof = secured.get("proof")
    if not isinstance(proof, dict):
        raise ProofError("the document has no single proof")
    if proof.get("type") != PROOF_TYPE or proof.get("cryptosuite") != CRYPTOSUITE:
        raise ProofError("not a DataIntegrityProof with the eddsa-jcs-2022 cryptosuite")
    if proof.get("proofPurpose") != expected_purpose:
        raise ProofError(f"proof purpose is not {expected_purpose}")
    unsecured = {key: value for key, value in secured.items() if key != "proof"}
    (contexts or Contexts.shipped()).check(unsecured)
    options = {key: value for key, value in proof.items() if key != "proofValue"}
    if "@context" in options:
        document_context = unsecured.get("@context")
        proof_context = options["@context"]
        doc_list = document_context if isinstance(document_context, list) else [document_context]
        proof_list = proof_context if isinstance(proof_context, list) else [proof_context]
        if doc_list[: len(proof_list)] != proof_list:
            raise ProofError("the proof's @context does not match the document's")
    try:
        signature = decode_z(str(proof.get("proofValue", "")))
    except MultibaseError as exc:
        raise ProofError(str(exc)) from None
    if len(signature) != 64:
        raise ProofError("an Ed25519 signature has 64 bytes")
    public_key = Ed25519PublicKey.from_public_bytes(
        resolve_key(str(proof.get("verificationMethod")))
    )
    try:
        public_key.verify(signature, _hash_data(options, unsecured))
    except InvalidSignature:
        raise ProofError("the signature does not match the document") from None
    return dict(proof)
