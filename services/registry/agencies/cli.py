"""``python -m services.registry audit verify|verify-file``: check exchanges after the fact.

``audit verify`` walks the registry's hash-chained audit log (``REGISTRY_DATABASE_URL``) end to
end and prints the number of entries and the head hash (keep it: a later run must extend it);
exit 1 names the first entry whose content, hash or link is wrong, or a truncated tail.

``audit backfill-feeds`` adds an ``upsert`` entry for every record registered before the feeds
existed (records that have no feed entry yet); running it again adds nothing.

``audit verify-file FILE --signature FILE.jws --jwks JWKS`` checks a downloaded feed page or
export against its detached signature and the platform's published keys (a JWKS file or URL,
e.g. ``https://…/.well-known/exchange-jwks.json``); exit 1 when a single byte differs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import urllib.request
from pathlib import Path

from services.kit import audit_chain
from services.kit.db import Database
from services.kit.settings import PlatformSettings, service_settings
from services.kit.signing import SignatureError, file_digest, public_keys_from_jwks, verify

COMMAND = "audit"
EXIT_FAILED = 1
EXIT_USAGE = 2


def _jwks(source: str) -> dict[str, object]:
    if source.startswith(("http://", "https://")):
        with urllib.request.urlopen(source, timeout=10) as response:
            return json.loads(response.read())  # type: ignore[no-any-return]
    return json.loads(Path(source).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


async def _verify_chain() -> int:
    platform = PlatformSettings()
    database = Database(service_settings("registry", platform).database_url)
    try:
        verdict = await audit_chain.verify(database)
    finally:
        await database.dispose()
    if verdict.ok:
        print(f"audit chain ok: {verdict.entries} entries, head {verdict.head_hash}")
        return 0
    where = f"entry {verdict.bad_seq}" if verdict.bad_seq is not None else "the head"
    print(
        f"audit chain BROKEN at {where}: {verdict.reason} "
        f"({verdict.entries} entries verified before it)",
        file=sys.stderr,
    )
    return EXIT_FAILED


async def _backfill() -> int:
    from services.registry.agencies.backfill import backfill

    database = Database(service_settings("registry", PlatformSettings()).database_url)
    try:
        added = await backfill(database)
    finally:
        await database.dispose()
    print("feed entries added: " + ", ".join(f"{k} {v}" for k, v in added.items()))
    return 0


def _verify_file(path: Path, signature: str, jwks: str) -> int:
    try:
        sig_path = Path(signature)
        jws = sig_path.read_text(encoding="utf-8").strip() if sig_path.exists() else signature
        digest, size = file_digest(path)
        keys = public_keys_from_jwks(_jwks(jwks))
    except (OSError, ValueError) as exc:
        print(f"cannot read the file, signature or keys: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        manifest = verify(jws, keys, content_sha256=digest, size=size)
    except SignatureError as exc:
        print(f"{path}: signature INVALID: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(
        f"{path}: signature ok, signed by {manifest.get('iss')} for {manifest.get('aud')}: "
        f"{manifest.get('dataset')}, {manifest.get('count')} records, sha256 {digest}"
    )
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.registry audit")
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("verify", help="verify the hash-chained exchange audit log end to end")
    one = sub.add_parser("verify-file", help="verify a downloaded feed page or export")
    one.add_argument("file", type=Path)
    one.add_argument("--signature", required=True, help="the .jws file (or the JWS itself)")
    one.add_argument("--jwks", required=True, help="JWKS file or URL of the signer's keys")
    sub.add_parser(
        "backfill-feeds", help="put records registered before the feeds existed into them"
    )
    args = parser.parse_args(argv)
    if args.action == "verify":
        return asyncio.run(_verify_chain())
    if args.action == "backfill-feeds":
        return asyncio.run(_backfill())
    return _verify_file(args.file, args.signature, args.jwks)
