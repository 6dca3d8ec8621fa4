"""Signing exports: the file is spooled (flat memory), hashed on the way, signed by the
platform's exchange key and recorded in the hash-chained audit log (the signed manifest
states the audit entry recording the export: its ``audit`` anchor), then sent with its
detached signature in the ``Jiasao-Signature`` header (save it as ``<file>.jws``)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.background import BackgroundTask
from starlette.responses import FileResponse

from services.kit import audit_chain
from services.kit.app import ServiceContext
from services.kit.ids import new_id
from services.kit.principal import Principal
from services.kit.signing import SIGNATURE_HEADER, ExchangeSigner


def _discard(path: Path) -> None:
    path.unlink(missing_ok=True)


async def signed_export(
    ctx: ServiceContext,
    principal: Principal,
    stream: AsyncIterator[bytes],
    tally: dict[str, int],
    *,
    kind: str,
    name: str,
    media_type: str,
) -> FileResponse:
    runtime = ctx.extras["exchange"]
    signer: ExchangeSigner = ctx.extras["exchange_signer"]
    path = runtime.spool_dir / f"export-{new_id()}.{os.getpid()}.upload"
    digest = hashlib.sha256()
    size = 0
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            async for chunk in stream:
                digest.update(chunk)
                size += len(chunk)
                handle.write(chunk)
        content_sha256 = digest.hexdigest()
        party = str(principal.party_id) if principal.party_id is not None else None
        async with ctx.db.write() as session:
            jws, _ = await audit_chain.append_signed(
                session,
                signer,
                audit_chain.Exchange(
                    action="export",
                    dataset=kind,
                    actor=principal.subject,
                    actor_role=principal.role,
                    party_id=party,
                    purpose=None,
                    record_count=tally["rows"],
                    content_sha256=content_sha256,
                    signature_sha256=None,
                    detail={"file": name},
                ),
                sent_sha256=content_sha256,
                size=size,
                aud=party or principal.subject,
                dataset=kind,
                file=name,
                count=tally["rows"],
            )
    except BaseException:
        _discard(path)
        raise
    return FileResponse(
        path,
        media_type=media_type,
        filename=name,
        headers={SIGNATURE_HEADER: jws, "Cache-Control": "no-store"},
        background=BackgroundTask(_discard, path),
    )
