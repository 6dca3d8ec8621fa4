"""``python -m services.<name> audit verify``: walk a service's own exchange audit chain.

Every service that exchanges data with agencies keeps its hash-chained audit log in its own
database (:mod:`services.kit.audit_chain`): the registry (workers, companies, institutions
feeds, exports, imports), credit (certificates, cards, credit levels and lists feeds) and
matching (hires feed, employment platforms' pulls and imports). ``audit verify`` reads
``<NAME>_DATABASE_URL``, prints the number of entries and the head hash and exits 1 naming the
first entry whose content, hash or link is wrong, or a truncated tail. (The registry's own
command adds ``verify-file`` and ``backfill-feeds``.)

The walk alone cannot see a *consistent* rewrite (an entry changed and every later hash and
the head recomputed by someone with database access). ``audit verify --anchor FILE...`` also
checks signed pages and exports the agencies kept: each manifest states the audit entry that
recorded it (``audit: {chain, seq, hash}``). FILE is a saved page or export with its detached
signature beside it as ``FILE.jws``, or the ``.jws`` itself. The signature is verified with the
platform's exchange keys (``--jwks FILE|URL``, e.g. ``…/.well-known/exchange-jwks.json``;
default: this installation's exchange key file), then the chain must hold the stated entry with
the stated hash, recording the content the manifest names. Exit 1 names the entry of each
anchor that does not match (and the range the rewrite lies in), or a refused anchor (bad
signature, unknown key, another service's chain); exit 2 for an unreadable file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from services.kit import audit_chain
from services.kit.db import Database
from services.kit.settings import PlatformSettings, service_settings
from services.kit.signing import (
    SignatureError,
    exchange_key_file,
    file_digest,
    public_keys_from_jwks,
    verify,
    verify_manifest,
)

EXIT_FAILED = 1
EXIT_USAGE = 2


class Unreadable(Exception):
    """A file, signature or key set that cannot be read."""


def load_jwks(source: str) -> dict[str, Any]:
    if source.startswith(("http://", "https://")):
        with urllib.request.urlopen(source, timeout=10) as response:
            return json.loads(response.read())  # type: ignore[no-any-return]
    return json.loads(Path(source).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _keys(jwks: str | None) -> dict[str, Ed25519PublicKey]:
    try:
        if jwks is not None:
            return public_keys_from_jwks(load_jwks(jwks))
        from services.kit.auth import SigningKeys

        path = exchange_key_file(PlatformSettings())
        if not path.exists():
            raise Unreadable(f"no exchange key file at {path}: give --jwks FILE|URL")
        return SigningKeys.load(path).public_keys()
    except (OSError, ValueError) as exc:
        raise Unreadable(f"cannot read the exchange keys: {exc}") from None


@dataclass(frozen=True)
class AnchorResult:
    path: Path
    anchor: audit_chain.Anchor | None
    #: None: the chain holds the anchor. ``refused``: the anchor itself is not trustworthy.
    problem: str | None = None
    refused: bool = False


def _read_anchor(
    path: Path, keys: dict[str, Ed25519PublicKey], service: str
) -> tuple[AnchorResult, str | None]:
    """The anchor a saved page/export (``FILE`` + ``FILE.jws``) or a ``.jws`` states, its
    signature verified; and the content digest it names."""
    try:
        sibling = Path(f"{path}.jws")
        if sibling.exists():
            jws = sibling.read_text(encoding="utf-8").strip()
            digest, size = file_digest(path)
        else:
            jws = path.read_text(encoding="utf-8").strip()
            digest = size = None
    except (OSError, UnicodeDecodeError) as exc:
        raise Unreadable(f"{path}: {exc}") from None
    try:
        if digest is not None:
            manifest = verify(jws, keys, content_sha256=digest, size=size)
        else:
            manifest = verify_manifest(jws, keys)
    except SignatureError as exc:
        return AnchorResult(path, None, f"signature INVALID: {exc}", refused=True), None
    claim = manifest.get("audit")
    if not isinstance(claim, dict):
        return AnchorResult(path, None, "its manifest states no audit entry", True), None
    seq, entry_hash, chain = claim.get("seq"), claim.get("hash"), claim.get("chain")
    if not isinstance(seq, int) or not isinstance(entry_hash, str):
        return AnchorResult(path, None, "its audit claim is malformed", True), None
    anchor = audit_chain.Anchor(seq, entry_hash)
    if chain is not None and chain != service:
        problem = f"it anchors the {chain} chain, not {service}"
        return AnchorResult(path, anchor, problem, refused=True), None
    sent = manifest.get("sha256")
    return AnchorResult(path, anchor), sent if isinstance(sent, str) else None


async def check_anchors(
    database: Database, service: str, paths: list[Path], keys: dict[str, Ed25519PublicKey]
) -> list[AnchorResult]:
    results = []
    for path in paths:
        result, sent = _read_anchor(path, keys, service)
        if result.problem is None and result.anchor is not None:
            problem = await audit_chain.check_anchor(database, result.anchor, sent)
            result = AnchorResult(path, result.anchor, problem)
        results.append(result)
    return results


def _report(service: str, results: list[AnchorResult]) -> bool:
    """Print one line per anchor (and where a rewrite lies); True when all hold."""
    for r in results:
        where = f"entry {r.anchor.seq} ({r.anchor.entry_hash[:12]}…)" if r.anchor else ""
        if r.problem is None:
            print(f"anchor {r.path}: ok, {service} chain holds {where}")
        elif r.refused:
            print(f"anchor {r.path}: REFUSED: {r.problem}", file=sys.stderr)
        else:
            print(f"anchor {r.path}: MISMATCH at {where}: {r.problem}", file=sys.stderr)
    held = sorted(r.anchor.seq for r in results if r.problem is None and r.anchor)
    failed = sorted(
        r.anchor.seq for r in results if r.problem is not None and not r.refused and r.anchor
    )
    if failed:
        below = [s for s in held if s < failed[0]]
        after = f"after entry {below[-1]}" if below else "from the first entry"
        print(
            f"{service} audit chain REWRITTEN {after} up to entry {failed[0]} "
            f"(the chain no longer holds what {len(failed)} signed anchor(s) state)",
            file=sys.stderr,
        )
    return all(r.problem is None for r in results)


async def verify_chain(
    service: str, anchors: list[Path] | None = None, jwks: str | None = None
) -> int:
    prefix = f"{service} "
    keys = _keys(jwks) if anchors else {}
    database = Database(service_settings(service, PlatformSettings()).database_url)
    try:
        verdict = await audit_chain.verify(database)
        results = await check_anchors(database, service, anchors, keys) if anchors else []
    finally:
        await database.dispose()
    if verdict.ok:
        print(f"{prefix}audit chain ok: {verdict.entries} entries, head {verdict.head_hash}")
        if not anchors:
            print(
                "(the walk cannot see a consistent rewrite of the whole chain: "
                "check signed pages with --anchor)"
            )
    else:
        where = f"entry {verdict.bad_seq}" if verdict.bad_seq is not None else "the head"
        print(
            f"{prefix}audit chain BROKEN at {where}: {verdict.reason} "
            f"({verdict.entries} entries verified before it)",
            file=sys.stderr,
        )
    anchored = _report(service, results)
    return 0 if verdict.ok and anchored else EXIT_FAILED


def add_verify(sub: Any) -> None:
    one = sub.add_parser("verify", help="verify the hash-chained exchange audit log end to end")
    one.add_argument(
        "--anchor",
        nargs="+",
        type=Path,
        default=None,
        metavar="FILE",
        help="saved signed pages/exports (FILE with FILE.jws beside it, or a .jws): the chain "
        "must hold the audit entry each states",
    )
    one.add_argument(
        "--jwks", default=None, help="JWKS file or URL of the exchange keys (for --anchor)"
    )


def run_verify(service: str, args: argparse.Namespace) -> int:
    try:
        return asyncio.run(verify_chain(service, args.anchor, args.jwks))
    except Unreadable as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE


def main(service: str, argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m services.{service} audit")
    sub = parser.add_subparsers(dest="action", required=True)
    add_verify(sub)
    return run_verify(service, parser.parse_args(argv))
