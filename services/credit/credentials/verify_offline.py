"""Check a credential offline, from files: the credential, its status list credentials and the
issuer's DID document (or only the issuer's public key). Nothing is fetched; JSON-LD contexts
come from the shipped ones, or a directory given with ``--contexts``.

    python -m services.credit.credentials.verify_offline card.json \\
        --issuer did.json --status-list revocation-0.json --status-list suspension-0.json

``--issuer-key z6Mk…`` instead of ``--issuer``: trust this Ed25519 Multikey as the key of the
credential's issuer (as printed on paper, or read from the issuer's site beforehand).

Prints the verdict as JSON; exit status 0 valid, 1 not valid (forged, expired, revoked,
suspended or a status unknown), 2 unusable input. Imports neither the service nor a database
driver: what any third party can run.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from services.credit.credentials.dataintegrity import Contexts
from services.credit.credentials.multibase import MultibaseError, public_key_from_multibase
from services.credit.credentials.verifier import verify_credential

VALID, NOT_VALID, UNUSABLE = 0, 1, 2


class InputError(ValueError):
    """A file or argument the verifier cannot use."""


def _read(path: str, what: str) -> dict[str, Any]:
    try:
        document = json.loads(Path(path).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{what} {path}: {exc}") from None
    if not isinstance(document, dict):
        raise InputError(f"{what} {path}: not a JSON object")
    return document


def did_document_for_key(credential: Mapping[str, Any], key: str) -> dict[str, Any]:
    """A DID document saying: the credential's issuer asserts with ``key``, and only with it."""
    try:
        public_key_from_multibase(key)
    except MultibaseError as exc:
        raise InputError(f"--issuer-key: {exc}") from None
    issuer = credential.get("issuer")
    did = issuer.get("id") if isinstance(issuer, dict) else issuer
    proof = credential.get("proof")
    method = proof.get("verificationMethod") if isinstance(proof, dict) else None
    if not isinstance(did, str) or not isinstance(method, str):
        raise InputError("the credential names no issuer or no verification method")
    return {
        "id": did,
        "verificationMethod": [
            {"id": method, "type": "Multikey", "controller": did, "publicKeyMultibase": key}
        ],
        "assertionMethod": [method],
    }


def verdict(
    credential: Mapping[str, Any],
    did_document: Mapping[str, Any],
    status_lists: Sequence[Mapping[str, Any]],
    *,
    now: datetime | None = None,
    contexts: Contexts | None = None,
) -> dict[str, Any]:
    """The verification as JSON-ready data; status lists are matched by their ``id``."""
    by_url = {str(item.get("id")): item for item in status_lists}
    try:
        result = verify_credential(credential, did_document, by_url, now=now, contexts=contexts)
    except (AttributeError, TypeError, ValueError) as exc:
        # Documents of the wrong shape (a status entry that is not an object, a date that is
        # not a date): not valid, said plainly rather than a traceback.
        return {
            "valid": False,
            "authentic": False,
            "revoked": None,
            "suspended": None,
            "problems": [f"malformed document: {exc}"],
        }
    return {
        "valid": result.valid,
        "authentic": result.authentic,
        "revoked": result.revoked,
        "suspended": result.suspended,
        "problems": result.problems,
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m services.credit.credentials.verify_offline",
        description="Verify a W3C VC 2.0 credential (eddsa-jcs-2022, Bitstring Status List) "
        "offline, from files.",
    )
    parser.add_argument("credential", help="the credential (JSON)")
    issuer = parser.add_mutually_exclusive_group(required=True)
    issuer.add_argument("--issuer", help="the issuer's DID document (JSON)")
    issuer.add_argument("--issuer-key", help="the issuer's Ed25519 Multikey (z6Mk…)")
    parser.add_argument(
        "--status-list",
        action="append",
        default=[],
        help="a BitstringStatusListCredential (JSON); repeat for each list the credential names",
    )
    parser.add_argument("--contexts", help="directory of extra JSON-LD contexts (index.json)")
    parser.add_argument("--at", help="judge validity at this time (ISO 8601), not now")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        credential = _read(args.credential, "credential")
        if args.issuer:
            did_document = _read(args.issuer, "DID document")
        else:
            did_document = did_document_for_key(credential, args.issuer_key)
        lists = [_read(path, "status list") for path in args.status_list]
        contexts = Contexts.from_directory(Path(args.contexts)) if args.contexts else None
        now = datetime.fromisoformat(args.at.replace("Z", "+00:00")) if args.at else None
        if now is not None and now.tzinfo is None:
            raise InputError("--at needs a time zone (e.g. 2026-06-01T00:00:00Z)")
    except (InputError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return UNUSABLE
    out = verdict(credential, did_document, lists, now=now, contexts=contexts)
    print(json.dumps(out, ensure_ascii=False, indent=2))
    return VALID if out["valid"] else NOT_VALID


if __name__ == "__main__":
    sys.exit(main())
