"""``python -m services.registry audit verify|verify-file``: check exchanges after the fact.

``audit verify`` walks the registry's hash-chained audit log (``REGISTRY_DATABASE_URL``) end to
end and prints the number of entries and the head hash (keep it: a later run must extend it);
exit 1 names the first entry whose content, hash or link is wrong, or a truncated tail.
``audit verify --anchor FILE... [--jwks JWKS]`` also checks saved signed pages and exports
against the chain (:mod:`services.kit.audit_cli`): a consistent rewrite of the whole chain
passes the walk but not the anchors the agencies hold.

``audit backfill-feeds`` adds an ``upsert`` entry for every record registered before the feeds
existed (records that have no feed entry yet); running it again adds nothing.

``audit publish-agency-keys`` publishes every agency key's current state again
(``registry.agency_key.changed``), for keys registered before the event existed: matching's job
import accepts only keys it learnt from that event.

``audit verify-file FILE --signature FILE.jws --jwks JWKS`` checks a downloaded feed page or
export against its detached signature and the platform's published keys (a JWKS file or URL,
e.g. ``https://…/.well-known/exchange-jwks.json``); exit 1 when a single byte differs.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from services.kit import audit_cli
from services.kit.db import Database
from services.kit.settings import PlatformSettings, service_settings
from services.kit.signing import SignatureError, file_digest, public_keys_from_jwks, verify

COMMAND = "audit"
EXIT_FAILED = 1
EXIT_USAGE = 2


async def _backfill() -> int:
    from services.registry.agencies.backfill import backfill

    database = Database(service_settings("registry", PlatformSettings()).database_url)
    try:
        added = await backfill(database)
    finally:
        await database.dispose()
    print("feed entries added: " + ", ".join(f"{k} {v}" for k, v in added.items()))
    return 0


async def _publish_keys() -> int:
    from services.registry.agencies.service import republish_keys

    database = Database(service_settings("registry", PlatformSettings()).database_url)
    try:
        async with database.write() as session:
            count = await republish_keys(session)
    finally:
        await database.dispose()
    print(f"agency keys published: {count}")
    return 0


def _verify_file(path: Path, signature: str, jwks: str) -> int:
    try:
        sig_path = Path(signature)
        jws = sig_path.read_text(encoding="utf-8").strip() if sig_path.exists() else signature
        digest, size = file_digest(path)
        keys = public_keys_from_jwks(audit_cli.load_jwks(jwks))
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
    audit_cli.add_verify(sub)
    one = sub.add_parser("verify-file", help="verify a downloaded feed page or export")
    one.add_argument("file", type=Path)
    one.add_argument("--signature", required=True, help="the .jws file (or the JWS itself)")
    one.add_argument("--jwks", required=True, help="JWKS file or URL of the signer's keys")
    sub.add_parser(
        "backfill-feeds", help="put records registered before the feeds existed into them"
    )
    sub.add_parser(
        "publish-agency-keys", help="publish every agency key's state again (for matching)"
    )
    args = parser.parse_args(argv)
    if args.action == "verify":
        return audit_cli.run_verify("registry", args)
    if args.action == "backfill-feeds":
        return asyncio.run(_backfill())
    if args.action == "publish-agency-keys":
        return asyncio.run(_publish_keys())
    return _verify_file(args.file, args.signature, args.jwks)
