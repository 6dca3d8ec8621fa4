"""Verifiable credentials, no database: ``python -m bench.credentials``.

- signing a home-service card credential (eddsa-jcs-2022), per second;
- verifying it offline with both status lists (proofs of the credential and of two lists, bits
  read), per second;
- building and signing one Bitstring Status List credential (131,072 bits) with 0 %, 1 % and
  10 % of the bits set: milliseconds and the size of the JSON a verifier downloads;
- the offline verifier as a program (``python -m services.credit.credentials.verify_offline``):
  wall time of one run, interpreter start included.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.credit.credentials import dataintegrity as di
from services.credit.credentials import statuslist
from services.credit.credentials.issuer import Issuer
from services.credit.credentials.vc import _status_entries, timestamp
from services.credit.credentials.verifier import verify_credential


def rate(action: Callable[[], Any], seconds: float = 2.0) -> float:
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        action()
        count += 1
    return count / (time.perf_counter() - start)


def issuer() -> Issuer:
    signer = di.Ed25519Signer(Ed25519PrivateKey.generate(), "")
    signer.verification_method = f"did:web:bench.test#{signer.public_key_multibase}"
    return Issuer("did:web:bench.test", "https://bench.test", signer)


def card(who: Issuer) -> dict[str, Any]:
    return {
        "@context": [di.VC_V2],
        "id": f"urn:uuid:{uuid.uuid4()}",
        "type": ["VerifiableCredential", "HomeServiceCertificate"],
        "issuer": {"id": who.did, "name": "肇庆市人力资源和社会保障局（肇庆家嫂工程）"},
        "name": "居家上门服务证",
        "validFrom": "2026-01-01T00:00:00Z",
        "validUntil": "2099-12-31T15:59:59Z",
        "credentialSubject": {
            "id": f"urn:uuid:{uuid.uuid4()}",
            "type": "HomeServiceWorker",
            "cardNumber": "ZQJZ-2026-000001",
            "tracks": ["elderly_care", "maternal_infant"],
            "name": "陈秀英",
            "verificationUrl": f"{who.base_url}/verify/{'A' * 22}",
        },
        "credentialStatus": _status_entries(who, 4242),
    }


def status_list(who: Issuer, purpose: str, indexes: list[int]) -> dict[str, Any]:
    url = who.status_list_url(purpose, 0)
    return di.sign(
        {
            "@context": [di.VC_V2],
            "id": url,
            "type": ["VerifiableCredential", "BitstringStatusListCredential"],
            "issuer": who.did,
            "validFrom": timestamp(datetime.now(UTC)),
            "credentialSubject": {
                "id": f"{url}#list",
                "type": "BitstringStatusList",
                "statusPurpose": purpose,
                "encodedList": statuslist.encode(indexes),
            },
        },
        who.signer,
    )


def main() -> None:
    who = issuer()
    unsigned = card(who)
    signed = di.sign(unsigned, who.signer)
    lists = {who.status_list_url(p, 0): status_list(who, p, [1, 2, 3]) for p in statuslist.PURPOSES}
    did = who.did_document()
    assert verify_credential(signed, did, lists).valid
    print(f"sign card credential: {rate(lambda: di.sign(unsigned, who.signer)):.0f}/s")
    print(
        "verify offline (credential + 2 status lists): "
        f"{rate(lambda: verify_credential(signed, did, lists)):.0f}/s"
    )
    rng = random.Random(7)
    for share in (0.0, 0.01, 0.10):
        indexes = sorted(rng.sample(range(statuslist.LIST_SIZE), int(statuslist.LIST_SIZE * share)))
        start = time.perf_counter()
        runs = 20
        for _ in range(runs):
            document = status_list(who, "revocation", indexes)
        ms = (time.perf_counter() - start) / runs * 1000
        size = len(json.dumps(document).encode())
        print(f"status list {share:.0%} bits set: build+sign {ms:.1f} ms, {size} bytes")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "card.json").write_text(json.dumps(signed), "utf-8")
        (folder / "did.json").write_text(json.dumps(did), "utf-8")
        args = ["card.json", "--issuer", "did.json"]
        for purpose in statuslist.PURPOSES:
            document = lists[who.status_list_url(purpose, 0)]
            (folder / f"{purpose}.json").write_text(json.dumps(document), "utf-8")
            args += ["--status-list", f"{purpose}.json"]
        command = [sys.executable, "-m", "services.credit.credentials.verify_offline", *args]
        runs, start = 5, time.perf_counter()
        for _ in range(runs):
            subprocess.run(command, cwd=folder, check=True, capture_output=True)
        print(f"offline verifier program: {(time.perf_counter() - start) / runs * 1000:.0f} ms/run")


if __name__ == "__main__":
    main()
