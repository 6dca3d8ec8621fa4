"""``python -m services.<name> audit verify``: walk a service's own exchange audit chain.

Every service that exchanges data with agencies keeps its hash-chained audit log in its own
database (:mod:`services.kit.audit_chain`): the registry (workers, companies, institutions
feeds, exports, imports), credit (certificates, cards, credit levels and lists feeds) and
matching (hires feed, employment platforms' pulls and imports). ``audit verify`` reads
``<NAME>_DATABASE_URL``, prints the number of entries and the head hash (keep it: a later run
must extend it) and exits 1 naming the first entry whose content, hash or link is wrong, or a
truncated tail. (The registry's own command adds ``verify-file`` and ``backfill-feeds``.)
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from services.kit import audit_chain
from services.kit.db import Database
from services.kit.settings import PlatformSettings, service_settings

EXIT_FAILED = 1


async def verify_chain(service: str) -> int:
    database = Database(service_settings(service, PlatformSettings()).database_url)
    try:
        verdict = await audit_chain.verify(database)
    finally:
        await database.dispose()
    if verdict.ok:
        print(f"{service} audit chain ok: {verdict.entries} entries, head {verdict.head_hash}")
        return 0
    where = f"entry {verdict.bad_seq}" if verdict.bad_seq is not None else "the head"
    print(
        f"{service} audit chain BROKEN at {where}: {verdict.reason} "
        f"({verdict.entries} entries verified before it)",
        file=sys.stderr,
    )
    return EXIT_FAILED


def main(service: str, argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m services.{service} audit")
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("verify", help="verify the hash-chained exchange audit log end to end")
    parser.parse_args(argv)
    return asyncio.run(verify_chain(service))
