"""Signed imports from agencies: ``POST /api/v1/imports/target_groups``.

Civil affairs (or another agency whose agreement names ``target_groups``) sends the list of
people in a target group as JSON Lines (``{"id_number": "…", "target_group": "…"}`` per line),
signed with one of its registered Ed25519 keys: a detached JWS in ``Jiasao-Signature`` whose
manifest names the body's SHA-256. Without a valid signature nothing is read (401); a key that
is not the calling agency's is 403. Each row adds the group to the registered worker with that
ID number (a ``registry.worker.updated`` event, so the workers feed shows the correction);
rows that cannot be applied are reported per line, as the registry's other imports are (the
job and its report are also listed at ``/api/v1/imports``). The exchange is recorded in the
hash-chained audit log.
"""

from __future__ import annotations

import json
from typing import Any, get_args

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from contracts.registry import TargetGroup
from services.kit import audit_chain
from services.kit.app import ServiceContext, get_ctx
from services.kit.errors import Problem
from services.kit.idnumbers import InvalidIdNumber, mask_id_card_tail
from services.kit.ids import new_id
from services.kit.policy import allow
from services.kit.principal import Principal, forbidden
from services.kit.signed_imports import verify_signed_body
from services.kit.signing import SIGNATURE_HEADER, sha256_hex, signature_kid
from services.kit.types import utcnow
from services.registry.agencies.datasets import scope_of
from services.registry.agencies.models import AgencyKey
from services.registry.agencies.service import grants_in_force, public_keys
from services.registry.exchange.models import ImportIssue, ImportJob
from services.registry.parties.profile import update_worker
from services.registry.parties.records import find_worker_by_id_card
from services.registry.parties.schemas.workers import WorkerPatch

router = APIRouter(prefix="/api/v1", tags=["agencies"])

DATASET = "target_groups"
MAX_BYTES = 5 * 1024 * 1024
MEDIA_TYPES = ("application/x-ndjson", "application/jsonl", "application/octet-stream")
GROUPS: tuple[str, ...] = get_args(TargetGroup)


class IssueOut(BaseModel):
    line: int
    key: str | None
    outcome: str
    field: str | None
    reason: str


class SignedImportOut(BaseModel):
    job_id: str
    total: int
    updated: int = Field(description="Workers the group was added to")
    unchanged: int = Field(description="Workers already in the group")
    invalid: int
    issues: list[IssueOut] = Field(description="The rows not applied, and why (masked keys)")
    content_sha256: str


async def _verified_body(request: Request, ctx: ServiceContext, principal: Principal) -> bytes:
    media = (request.headers.get("content-type") or "").partition(";")[0].strip().lower()
    if media not in MEDIA_TYPES:
        raise Problem(
            415,
            "unsupported-media-type",
            "Unsupported media type",
            f"Send JSON Lines as {', '.join(MEDIA_TYPES)}",
        )
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_BYTES:
            raise Problem(
                413, "payload-too-large", "Payload too large", f"Files up to {MAX_BYTES} bytes"
            )
    assert principal.party_id is not None
    async with ctx.db.read() as session:
        keys = await public_keys(session, principal.party_id)

        async def known(kid: str) -> bool:
            return await session.get(AgencyKey, kid) is not None

        await verify_signed_body(bytes(body), request.headers.get(SIGNATURE_HEADER), keys, known)
    return bytes(body)


def _rows(body: bytes, allowed: frozenset[str]) -> list[tuple[int, dict[str, Any] | IssueOut]]:
    out: list[tuple[int, dict[str, Any] | IssueOut]] = []
    for number, raw in enumerate(body.decode("utf-8", errors="strict").splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except ValueError:
            out.append(
                (
                    number,
                    IssueOut(
                        line=number,
                        key=None,
                        outcome="invalid",
                        field=None,
                        reason="not a JSON object",
                    ),
                )
            )
            continue
        if not isinstance(row, dict):
            out.append(
                (
                    number,
                    IssueOut(
                        line=number,
                        key=None,
                        outcome="invalid",
                        field=None,
                        reason="not a JSON object",
                    ),
                )
            )
            continue
        extra = sorted(set(row) - allowed)
        if extra:
            out.append(
                (
                    number,
                    IssueOut(
                        line=number,
                        key=None,
                        outcome="invalid",
                        field=extra[0],
                        reason="not a field of the data-sharing agreement",
                    ),
                )
            )
            continue
        out.append((number, row))
    return out


@router.post("/imports/target_groups", response_model=SignedImportOut)
async def import_target_groups(
    request: Request,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow(scopes=[scope_of(DATASET)])),
) -> SignedImportOut:
    """Members of target groups, signed by the sending agency (see the module's doc). Agencies
    with ``import:target_groups`` and an agreement in force naming it."""
    if principal.role != "agency" or principal.party_id is None:
        raise forbidden("Only agencies send signed imports")
    async with ctx.db.read() as session:
        grant = (await grants_in_force(session, principal.party_id)).get(DATASET)
    if grant is None:
        raise forbidden(f"No data-sharing agreement in force covers {DATASET}")
    try:
        body = await _verified_body(request, ctx, principal)
        rows = _rows(body, grant.fields)
    except UnicodeDecodeError:
        raise Problem(
            415, "unsupported-media-type", "Unsupported media type", "The file is not UTF-8"
        ) from None
    issues: list[IssueOut] = []
    updated = unchanged = 0
    cipher = ctx.extras["pii"]
    job_id = new_id()
    async with ctx.db.write() as session:
        for line, row in rows:
            if isinstance(row, IssueOut):
                issues.append(row)
                continue
            number, group = row.get("id_number"), row.get("target_group")
            key = mask_id_card_tail(number) if isinstance(number, str) else None  # never plain
            if not isinstance(number, str):
                issues.append(
                    IssueOut(
                        line=line,
                        key=None,
                        outcome="invalid",
                        field="id_number",
                        reason="is required: the resident ID number as text",
                    )
                )
                continue
            if group not in GROUPS:
                issues.append(
                    IssueOut(
                        line=line,
                        key=key,
                        outcome="invalid",
                        field="target_group",
                        reason=f"must be one of {', '.join(GROUPS)}",
                    )
                )
                continue
            try:
                worker = await find_worker_by_id_card(session, cipher, number)
            except (InvalidIdNumber, ValueError) as exc:
                issues.append(
                    IssueOut(
                        line=line, key=key, outcome="invalid", field="id_number", reason=str(exc)
                    )
                )
                continue
            if worker is None:
                issues.append(
                    IssueOut(
                        line=line,
                        key=key,
                        outcome="invalid",
                        field="id_number",
                        reason="no registered worker has this ID number",
                    )
                )
                continue
            groups = list(worker.target_groups or [])
            if group in groups:
                unchanged += 1
                continue
            patch = WorkerPatch(target_groups=[*groups, group])
            await update_worker(session, cipher, worker, patch, principal)
            updated += 1
        digest = sha256_hex(body)
        jws = request.headers[SIGNATURE_HEADER]
        now = utcnow()
        session.add(
            ImportJob(
                id=job_id,
                kind=DATASET,
                format="jsonl",
                status="done",
                submitted_by=principal.subject[:64],
                submitted_role=principal.role,
                size_bytes=len(body),
                total=len(rows),
                created=updated,
                unchanged=unchanged,
                conflict=0,
                duplicate=0,
                invalid=len(issues),
                runner=None,
                heartbeat_at=now,
                created_at=now,
                started_at=now,
                finished_at=now,
            )
        )
        await session.flush()
        for seq, issue in enumerate(issues, start=1):
            session.add(ImportIssue(job_id=job_id, seq=seq, **issue.model_dump()))
        await audit_chain.append(
            session,
            audit_chain.Exchange(
                action="import",
                dataset=DATASET,
                actor=principal.subject,
                actor_role=principal.role,
                party_id=str(principal.party_id),
                purpose="; ".join(grant.purposes)[:500],
                record_count=updated,
                content_sha256=digest,
                signature_sha256=sha256_hex(jws.encode()),
                detail={"job_id": str(job_id), "rows": len(rows), "kid": signature_kid(jws)},
            ),
        )
    return SignedImportOut(
        job_id=str(job_id),
        total=len(rows),
        updated=updated,
        unchanged=unchanged,
        invalid=len(issues),
        issues=issues,
        content_sha256=digest,
    )
