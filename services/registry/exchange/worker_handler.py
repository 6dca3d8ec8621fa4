"""The import's handler of workers: validation, lookup by ID card, comparison, registration.

A worker row is a ``WorkerCreate`` plus the exchange-only fields (``company_credit_code``,
``employment_kind``), because registry ids mean nothing to another agency: the company named by
its credit code is looked up (and remembered for the rest of the job) and becomes the row's
``employment``. New workers are registered in bulk
(:func:`~services.registry.parties.registration.register_workers`).
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.common import EmploymentKind
from services.kit.idnumbers import mask_id_card
from services.kit.pii import PiiCipher
from services.kit.principal import Principal
from services.registry.exchange.formats import WORKER_EXCHANGE_FIELDS, Format, RawRow
from services.registry.exchange.kind_handler import Candidate, KindHandler, is_stated, same_items
from services.registry.exchange.report import Issue
from services.registry.parties import registration
from services.registry.parties.models import (
    WORKER_ID_CARD_CONTEXT,
    WORKER_PHONE_CONTEXT,
    Company,
    Worker,
)
from services.registry.parties.schemas.fields import valid_credit_code
from services.registry.parties.schemas.workers import EmploymentJoin, WorkerCreate


class _WorkerExchangeFields(BaseModel):
    """The worker fields of the exchange format that ``WorkerCreate`` does not have."""

    model_config = ConfigDict(extra="forbid")

    company_credit_code: str | None = None
    employment_kind: EmploymentKind | None = None

    @field_validator("company_credit_code")
    @classmethod
    def _valid_code(cls, value: str | None) -> str | None:
        return None if value is None else valid_credit_code(value)  # as the create schemas


class WorkerHandler(KindHandler):
    kind = "workers"
    model = WorkerCreate
    key_field = "id_card_number"
    key_words = "ID-card number"

    def __init__(self, cipher: PiiCipher, fmt: Format) -> None:
        super().__init__(cipher, fmt)
        #: Credit code → (company id, kind), for companies found so far in this job.
        self._companies: dict[str, tuple[uuid.UUID, str]] = {}

    def mask(self, raw_key: str | None) -> str | None:
        return mask_id_card(raw_key)[:40] if raw_key else None

    def validate(self, row: RawRow) -> Candidate | list[Issue]:
        key = self.mask(row.key)
        if row.data is None:
            return [Issue(row.line, key, "invalid", None, row.error or "cannot be read")]
        body = dict(row.data)
        extra = {name: body.pop(name) for name in WORKER_EXCHANGE_FIELDS if name in body}
        issues: list[Issue] = []
        data: WorkerCreate | None = None
        fields: _WorkerExchangeFields | None = None
        try:
            data = WorkerCreate.model_validate(body)
        except ValidationError as exc:
            issues += self.errors(row, key, exc)
        try:
            fields = _WorkerExchangeFields.model_validate(extra)
        except ValidationError as exc:
            issues += self.errors(row, key, exc)
        if fields is not None:
            if fields.employment_kind is not None and fields.company_credit_code is None:
                issues.append(
                    Issue(
                        row.line,
                        key,
                        "invalid",
                        "employment_kind",
                        "needs company_credit_code: the company the worker is employed by",
                    )
                )
            if fields.company_credit_code is not None and "employment" in body:
                issues.append(
                    Issue(
                        row.line,
                        key,
                        "invalid",
                        "company_credit_code",
                        "give either company_credit_code or employment, not both",
                    )
                )
        if issues or data is None or fields is None:
            return issues
        lookup = self.cipher.blind_index(data.id_card_number, context=WORKER_ID_CARD_CONTEXT)
        return Candidate(
            row.line,
            mask_id_card(data.id_card_number),
            lookup,
            data,
            fields.company_credit_code,
            fields.employment_kind,
        )

    def fingerprint(self, candidate: Candidate) -> int:
        return int(candidate.lookup[:16], 16)  # the blind index is already a keyed hash

    async def prepare(self, session: AsyncSession, batch: list[Candidate]) -> list[Issue]:
        wanted = {c.company_code for c in batch if c.company_code} - self._companies.keys()
        if wanted:
            rows = await session.execute(
                select(Company.credit_code, Company.id, Company.kind).where(
                    Company.credit_code.in_(wanted)
                )
            )
            for code, company_id, kind in rows:
                self._companies[code] = (company_id, kind)
        issues = []
        for candidate in batch:
            if candidate.company_code and candidate.company_code not in self._companies:
                issues.append(
                    Issue(
                        candidate.line,
                        candidate.key,
                        "invalid",
                        "company_credit_code",
                        f"no company with unified social credit code {candidate.company_code}"
                        " is registered",
                    )
                )
        return issues

    async def existing(self, session: AsyncSession, lookups: list[str]) -> dict[str, Any]:
        rows = await session.execute(
            select(Worker, Company.credit_code)
            .outerjoin(Company, Company.id == Worker.company_id)
            .where(Worker.id_card_index.in_(lookups))
        )
        return {worker.id_card_index: (worker, code) for worker, code in rows}

    def differences(self, candidate: Candidate, record: Any) -> list[str]:
        worker, company_code = record
        data: WorkerCreate = candidate.data
        diffs = [
            name
            for name in ("name", "county", "education")
            if is_stated(data, name) and getattr(data, name) != getattr(worker, name)
        ]
        if self.cipher.blind_index(data.phone, context=WORKER_PHONE_CONTEXT) != worker.phone_index:
            diffs.append("phone")
        for name in ("languages", "tracks", "target_groups"):
            if is_stated(data, name) and not same_items(getattr(data, name), getattr(worker, name)):
                diffs.append(name)
        if data.health_check is not None and (
            data.health_check.date,
            data.health_check.institution,
            data.health_check.valid_until,
        ) != (
            worker.health_check_date,
            worker.health_check_institution,
            worker.health_check_valid_until,
        ):
            diffs.append("health_check")
        if data.no_criminal_record is not None and (
            data.no_criminal_record.date,
            data.no_criminal_record.result,
            data.no_criminal_record.valid_until,
        ) != (
            worker.no_criminal_record_date,
            worker.no_criminal_record_result,
            worker.no_criminal_record_valid_until,
        ):
            diffs.append("no_criminal_record")
        if candidate.company_code is not None and candidate.company_code != company_code:
            diffs.append("company_credit_code")
        if candidate.employment_kind is not None and (
            candidate.employment_kind != worker.employment_kind
        ):
            diffs.append("employment_kind")
        if data.employment is not None:
            if data.employment.company_id != worker.company_id:
                diffs.append("employment.company_id")
            elif data.employment.kind is not None and data.employment.kind != (
                worker.employment_kind
            ):
                diffs.append("employment.kind")
        return [self._group_column(d) for d in diffs]

    def _group_column(self, name: str) -> str:
        """CSV reports name columns: a differing health check is its three columns."""
        if self.fmt == "csv" and name in ("health_check", "no_criminal_record"):
            return "|".join(c.name for c in self.spec.columns if c.path[0] == name)
        return name

    def _create_data(self, candidate: Candidate) -> WorkerCreate:
        """The row as the API would receive it: its company's code becomes ``employment``."""
        data: WorkerCreate = candidate.data
        if candidate.company_code is None:
            return data
        company_id, _ = self._companies[candidate.company_code]
        return data.model_copy(
            update={
                "employment": EmploymentJoin(
                    company_id=company_id,
                    kind=candidate.employment_kind,  # type: ignore[arg-type]
                )
            }
        )

    async def register(
        self, session: AsyncSession, candidate: Candidate, actor: Principal | None
    ) -> None:
        await registration.register_worker(
            session, self.cipher, self._create_data(candidate), actor
        )

    async def register_many(
        self, session: AsyncSession, candidates: list[Candidate], actor: Principal | None
    ) -> None:
        rows = [self._create_data(c) for c in candidates]
        await registration.register_workers(session, self.cipher, rows, actor)
