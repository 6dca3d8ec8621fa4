"""The eddsa-jcs-2022 signer/verifier and the Bitstring Status List codec against the W3C test
vectors (vc-di-eddsa TestVectors, vc-bitstring-status-list examples); no database."""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.credit.credentials import dataintegrity as di
from services.credit.credentials import multibase, statuslist
from services.credit.credentials.issuer import Issuer
from services.credit.credentials.verifier import verify_credential
from tests.credit.vc_vectors import vectors_dir

#: SHA-256 of https://www.w3.org/ns/credentials/v2 as published in VC Data Model 2.0.
CREDENTIALS_V2_SHA256 = "59955ced6697d61e03f2b2556febe5308ab16842846f5b586d7f1f7adec92734"


def load(path: Path) -> Any:
    return json.loads(path.read_text("utf-8"))


@pytest.fixture(scope="module")
def vectors() -> Path:
    return vectors_dir()


@pytest.fixture(scope="module")
def contexts(vectors: Path) -> di.Contexts:
    return di.Contexts.from_directory(vectors / "contexts")


def w3c_signer(vectors: Path, method: str) -> di.Ed25519Signer:
    pair = load(vectors / "vc-di-eddsa" / "keyPair.json")
    seed = multibase.private_key_from_multibase(pair["privateKeyMultibase"])
    signer = di.Ed25519Signer(Ed25519PrivateKey.from_private_bytes(seed), method)
    assert signer.public_key_multibase == pair["publicKeyMultibase"]
    return signer


def test_jcs_vector_signs_byte_for_byte_and_verifies(vectors: Path, contexts: di.Contexts) -> None:
    jcs = vectors / "vc-di-eddsa" / "eddsa-jcs-2022"
    config = load(jcs / "proofConfigJCS.json")
    unsigned = load(vectors / "vc-di-eddsa" / "unsigned.json")
    signer = w3c_signer(vectors, config["verificationMethod"])

    # The intermediate values the specification publishes.
    assert rfc8785.dumps(unsigned).decode() == (jcs / "canonDocJCS.txt").read_text().strip()
    assert rfc8785.dumps(config).decode() == (jcs / "proofCanonJCS.txt").read_text().strip()
    doc_hash = hashlib.sha256(rfc8785.dumps(unsigned)).hexdigest()
    proof_hash = hashlib.sha256(rfc8785.dumps(config)).hexdigest()
    assert doc_hash == (jcs / "docHashJCS.txt").read_text().strip()
    assert proof_hash == (jcs / "proofHashJCS.txt").read_text().strip()
    assert proof_hash + doc_hash == (jcs / "combinedHashJCS.txt").read_text().strip()

    signed = di.sign(unsigned, signer, proof_config=config, contexts=contexts)
    expected = load(jcs / "signedJCS.json")
    assert signed == expected  # Ed25519 is deterministic: the very same proofValue
    proof_bytes = multibase.decode_z(expected["proof"]["proofValue"])
    assert proof_bytes.hex() == (jcs / "sigHexJCS.txt").read_text().strip()
    assert (
        di.verify(expected, di.did_key_resolver, contexts=contexts)["cryptosuite"] == di.CRYPTOSUITE
    )


def _flip_one_byte(text: str) -> str:
    position = len(text) // 2
    replacement = "B" if text[position] != "B" else "C"
    return text[:position] + replacement + text[position + 1 :]


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(
            lambda d: d["credentialSubject"].update(alumniOf="The School of Exampleз"), id="subject"
        ),
        pytest.param(lambda d: d.update(validFrom="2023-01-01T00:00:01Z"), id="date"),
        pytest.param(
            lambda d: d["proof"].update(created="2023-02-24T23:36:39Z"), id="proof-options"
        ),
        pytest.param(
            lambda d: d["proof"].update(proofValue=_flip_one_byte(d["proof"]["proofValue"])),
            id="signature",
        ),
        pytest.param(
            lambda d: d["@context"].append("https://w3id.org/citizenship/v4rc1"), id="context"
        ),
    ],
)
def test_jcs_vector_fails_on_any_change(vectors: Path, contexts: di.Contexts, tamper: Any) -> None:
    signed = load(vectors / "vc-di-eddsa" / "eddsa-jcs-2022" / "signedJCS.json")
    changed = copy.deepcopy(signed)
    tamper(changed)
    with pytest.raises(di.ProofError):
        di.verify(changed, di.did_key_resolver, contexts=contexts)


def test_other_suites_and_unknown_contexts_are_refused(
    vectors: Path, contexts: di.Contexts
) -> None:
    rdfc = load(vectors / "vc-di-eddsa" / "eddsa-rdfc-2022" / "signedDataInt.json")
    legacy = load(vectors / "vc-di-eddsa" / "Ed25519Signature2020" / "signedEdSig.json")
    for document in (rdfc, legacy):
        with pytest.raises(di.ProofError, match="eddsa-jcs-2022"):
            di.verify(document, di.did_key_resolver, contexts=contexts)
    signed = load(vectors / "vc-di-eddsa" / "eddsa-jcs-2022" / "signedJCS.json")
    # Only the shipped VC 2.0 context: the examples context is unknown, and never fetched.
    with pytest.raises(di.ProofError, match="unknown JSON-LD context"):
        di.verify(signed, di.did_key_resolver, contexts=di.Contexts.shipped())


def test_shipped_context_is_the_published_one(vectors: Path) -> None:
    shipped = Path(di.__file__).parent / "contexts" / "credentials-v2.json"
    assert hashlib.sha256(shipped.read_bytes()).hexdigest() == CREDENTIALS_V2_SHA256
    assert shipped.read_bytes() == (vectors / "contexts" / "credentials-v2.jsonld").read_bytes()


def test_status_list_vectors(vectors: Path) -> None:
    cases = load(vectors / "bitstring-status-list" / "vectors.json")
    assert cases
    for name, case in cases.items():
        bits = statuslist.decode(case["encodedList"])
        assert len(bits) * 8 == case["expectedBits"], name
        assert statuslist.set_indexes(bits) == case["setIndexes"], name
    # Ours round-trips and puts index 0 in the most significant bit of the first byte.
    bits = statuslist.decode(statuslist.encode([0, 9, statuslist.LIST_SIZE - 1]))
    assert len(bits) == statuslist.LIST_SIZE // 8
    assert bits[0] == 0x80 and bits[1] == 0x40 and bits[-1] == 0x01
    assert statuslist.set_indexes(bits) == [0, 9, statuslist.LIST_SIZE - 1]
    with pytest.raises(statuslist.StatusListError):
        statuslist.encode([statuslist.LIST_SIZE])
    with pytest.raises(statuslist.StatusListError):
        statuslist.decode("uNOTGZIP")


def test_base58_round_trip_keeps_leading_zeros() -> None:
    for data in (b"", b"\0", b"\0\0\x01", bytes(range(256))):
        assert multibase.b58decode(multibase.b58encode(data)) == data
    assert multibase.b58encode(b"hello world") == "StV1DL6CwTryKyV"


def test_offline_verifier_checks_issuer_status_and_dates() -> None:
    key = Ed25519PrivateKey.generate()
    did = "did:web:verifier.test"
    signer = di.Ed25519Signer(key, "")
    signer.verification_method = f"{did}#{signer.public_key_multibase}"
    issuer = Issuer(did, "https://verifier.test", signer)
    url = issuer.status_list_url("revocation", 0)
    credential = di.sign(
        {
            "@context": [di.VC_V2],
            "type": ["VerifiableCredential"],
            "issuer": did,
            "validFrom": "2026-01-01T00:00:00Z",
            "validUntil": "2027-01-01T00:00:00Z",
            "credentialSubject": {"id": "urn:uuid:1"},
            "credentialStatus": {
                "type": "BitstringStatusListEntry",
                "statusPurpose": "revocation",
                "statusListIndex": "7",
                "statusListCredential": url,
            },
        },
        signer,
    )

    def status(indexes: list[int], purpose: str = "revocation") -> dict[str, Any]:
        return di.sign(
            {
                "@context": [di.VC_V2],
                "id": url,
                "type": ["VerifiableCredential", "BitstringStatusListCredential"],
                "issuer": did,
                "credentialSubject": {
                    "type": "BitstringStatusList",
                    "statusPurpose": purpose,
                    "encodedList": statuslist.encode(indexes),
                },
            },
            signer,
        )

    now = datetime(2026, 6, 1, tzinfo=UTC)
    document = issuer.did_document()
    ok = verify_credential(credential, document, {url: status([6, 8])}, now=now)
    assert ok.authentic and ok.revoked is False and not ok.problems
    assert verify_credential(credential, document, {url: status([7])}, now=now).revoked is True
    late = verify_credential(
        credential, document, {url: status([])}, now=datetime(2027, 2, 1, tzinfo=UTC)
    )
    assert not late.authentic and "expired" in late.problems[0]
    wrong_purpose = verify_credential(
        credential, document, {url: status([], "suspension")}, now=now
    )
    assert wrong_purpose.revoked is None and wrong_purpose.problems
    forged_list = status([])
    forged_list["credentialSubject"]["encodedList"] = statuslist.encode([7])
    assert verify_credential(credential, document, {url: forged_list}, now=now).revoked is None
    other_key = {
        **document,
        "verificationMethod": [
            {
                **document["verificationMethod"][0],
                "publicKeyMultibase": multibase.public_key_multibase(b"\1" * 32),
            }
        ],
    }
    assert not verify_credential(credential, other_key, {url: status([])}, now=now).authentic


def test_issuer_key_from_settings_or_a_private_dev_file(tmp_path: Path) -> None:
    from pydantic import SecretStr

    from services.credit.credentials.issuer import (
        IssuerKeyError,
        IssuerSettings,
        key_file,
        load_issuer,
    )
    from services.kit.settings import PlatformSettings

    platform = PlatformSettings(var_dir=tmp_path / "var")
    # Development: a key file is made once, private, and reused.
    first = load_issuer(platform, IssuerSettings())
    path = key_file(platform.var_dir)
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_issuer(platform, IssuerSettings()).signer.public_key_multibase == (
        first.signer.public_key_multibase
    )
    # Production: the key from the environment's setting, published in the DID document.
    pair = {
        "publicKeyMultibase": "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
        "privateKeyMultibase": "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq",
    }
    settings = IssuerSettings(
        did="did:web:example.gov.cn", private_key=SecretStr(pair["privateKeyMultibase"])
    )
    issuer = load_issuer(platform, settings)
    document = issuer.did_document()
    [method] = document["verificationMethod"]
    assert method["publicKeyMultibase"] == pair["publicKeyMultibase"]
    assert document["assertionMethod"] == [method["id"]] == [issuer.verification_method]
    assert method["id"].startswith("did:web:example.gov.cn#")
    with pytest.raises(IssuerKeyError):
        load_issuer(platform, IssuerSettings(private_key=SecretStr(pair["publicKeyMultibase"])))
