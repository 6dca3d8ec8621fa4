"""Anchoring the audit chain in what the agencies hold (issue 14): every signed feed page states,
in its signed manifest, the audit entry recording it. Someone with database access who rewrites
the whole chain consistently (one entry's body changed, every later hash and the head
recomputed) passes the plain walk (``audit verify`` cannot see it), but not
``audit verify --anchor`` with a page an agency kept; a forged anchor is refused. On credit's
database (the kit's ``feed_api.serve_page``), SQLite and PostgreSQL, the command in a fresh
process."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import jwt
from sqlalchemy import select, update

from services.kit import audit_chain, feed_api
from services.kit.auth import SigningKeys
from services.kit.db import Database
from services.kit.principal import Principal
from services.kit.signing import (
    ExchangeSigner,
    ensure_dev_exchange_keys,
    public_keys_from_jwks,
    sha256_hex,
    verify,
)
from tests.support.databases import service_database

OFFICER = Principal(subject="officer-1", role="officer")


def _signer(directory: Path, chain: str = "credit") -> ExchangeSigner:
    return ExchangeSigner(SigningKeys.load(ensure_dev_exchange_keys(directory)), "jiasao", chain)


async def _serve(url: str, signer: ExchangeSigner, pages: int) -> list[tuple[bytes, str]]:
    db = Database(url)
    try:
        return [
            await feed_api.serve_page(db, signer, OFFICER, None, "certificates", ("kind",), 0, 10)
            for _ in range(pages)
        ]
    finally:
        await db.dispose()


async def _rewrite(url: str, seq: int) -> None:
    """Change entry ``seq``'s body and recompute every later hash and the head, consistently."""
    db = Database(url)
    log, head = audit_chain.audit_log, audit_chain.audit_head
    try:
        async with db.write() as session:
            rows = (await session.execute(select(log).order_by(log.c.seq))).all()
            prev = audit_chain.GENESIS
            for row in rows:
                body = row.body
                if row.seq == seq:
                    changed = json.loads(body)
                    changed["record_count"] = 999
                    body = audit_chain.canonical(changed)
                entry_hash = audit_chain.chain_hash(prev, body)
                await session.execute(
                    update(log)
                    .where(log.c.seq == row.seq)
                    .values(body=body, prev_hash=prev, entry_hash=entry_hash)
                )
                prev = entry_hash
            await session.execute(
                update(head).where(head.c.name == audit_chain.HEAD).values(entry_hash=prev)
            )
    finally:
        await db.dispose()


def _audit(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.credit", "audit", "verify", *args],
        env={**os.environ, "CREDIT_DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _keep(directory: Path, name: str, page: tuple[bytes, str]) -> Path:
    path = directory / name
    path.write_bytes(page[0])
    Path(f"{path}.jws").write_text(page[1])
    return path


def test_a_consistent_rewrite_passes_the_walk_but_not_the_anchors(
    backend: str, tmp_path: Path
) -> None:
    signer = _signer(tmp_path / "platform")
    jwks = tmp_path / "exchange-jwks.json"
    jwks.write_text(json.dumps(signer.jwks()))
    with service_database("credit", backend, tmp_path) as url:
        served = asyncio.run(_serve(url, signer, 4))
        # Each page's signed manifest states the entry recording it: seq and hash.
        keys = public_keys_from_jwks(signer.jwks())
        manifests = [verify(jws, keys, content_sha256=sha256_hex(body)) for body, jws in served]
        assert [m["audit"]["seq"] for m in manifests] == [1, 2, 3, 4]
        assert {m["audit"]["chain"] for m in manifests} == {"credit"}
        first = _keep(tmp_path, "page-1.json", served[0])
        third = _keep(tmp_path, "page-3.json", served[2])
        manifest_only = tmp_path / "page-4.jws"
        manifest_only.write_text(served[3][1])

        untouched = _audit(url, "--anchor", str(first), str(third), str(manifest_only),
                           "--jwks", str(jwks))  # fmt: skip
        assert untouched.returncode == 0, untouched.stderr
        assert "credit audit chain ok: 4 entries" in untouched.stdout
        assert f"anchor {third}: ok, credit chain holds entry 3" in untouched.stdout

        asyncio.run(_rewrite(url, 2))
        # The documented limit: the walk alone passes a consistent rewrite.
        plain = _audit(url)
        assert plain.returncode == 0, plain.stderr
        assert "credit audit chain ok: 4 entries" in plain.stdout
        assert "cannot see a consistent rewrite" in plain.stdout
        # The anchors the agency holds do not: page 1 still matches, page 3 names its entry.
        anchored = _audit(url, "--anchor", str(first), str(third), "--jwks", str(jwks))
        assert anchored.returncode == 1, anchored.stdout
        assert f"anchor {first}: ok, credit chain holds entry 1" in anchored.stdout
        assert f"anchor {third}: MISMATCH at entry 3" in anchored.stderr
        assert "REWRITTEN after entry 1 up to entry 3" in anchored.stderr


def test_a_forged_anchor_is_refused(backend: str, tmp_path: Path) -> None:
    signer = _signer(tmp_path / "platform")
    jwks = tmp_path / "exchange-jwks.json"
    jwks.write_text(json.dumps(signer.jwks()))
    with service_database("credit", backend, tmp_path) as url:
        ((body, jws),) = asyncio.run(_serve(url, signer, 1))
        page = _keep(tmp_path, "page.json", (body, jws))
        # A manifest stating the current chain, signed by a key that is not the platform's.
        other = _signer(tmp_path / "forger")
        keys = public_keys_from_jwks(signer.jwks())
        claim = verify(jws, keys, content_sha256=sha256_hex(body))["audit"]
        forged = tmp_path / "forged.jws"
        forged.write_text(other.sign(sha256_hex(body), len(body), audit=claim))
        # The platform's manifest with its audit claim changed, the signature kept.
        header, payload, signature = jws.split(".")
        manifest = json.loads(jwt.utils.base64url_decode(payload))
        manifest["audit"]["seq"] = 7
        altered = tmp_path / "altered.jws"
        altered.write_text(
            ".".join(
                [
                    header,
                    jwt.utils.base64url_encode(json.dumps(manifest).encode()).decode(),
                    signature,
                ]
            )
        )
        # The page changed by one byte, its signature beside it.
        changed = _keep(tmp_path, "changed.json", (body.replace(b'"after":0', b'"after":1'), jws))
        # Another service's anchor.
        registry = tmp_path / "registry.jws"
        registry.write_text(signer.sign("0" * 64, 0, audit={**claim, "chain": "registry"}))
        result = _audit(
            url, "--anchor", str(page), str(forged), str(altered), str(changed),
            str(registry), "--jwks", str(jwks),
        )  # fmt: skip
        assert result.returncode == 1, result.stdout
        assert f"anchor {page}: ok" in result.stdout
        for refused in (forged, altered, changed):
            assert f"anchor {refused}: REFUSED: signature INVALID" in result.stderr
        assert f"anchor {registry}: REFUSED: it anchors the registry chain" in result.stderr
        # Refused anchors say nothing of the chain: no rewrite is claimed.
        assert "REWRITTEN" not in result.stderr
        missing = _audit(url, "--anchor", str(tmp_path / "nowhere.json"), "--jwks", str(jwks))
        assert missing.returncode == 2, missing.stdout
