"""The import pipeline: stream rows from a spooled file, validate, store in batches, report.

Each row is validated with the registry's own create schemas (``WorkerCreate``,
``CompanyCreate``, ``InstitutionCreate``), so a row's reasons are the very messages the API
would answer with in a 422. Valid rows are gathered into batches; a batch is looked up in the
database in one query (blind index of the ID-card number, or the credit code) and then, in one
write transaction:

- rows whose key is not registered are created through the parties operations
  (``parties.registration``, ``parties.companies``): workers all at once
  (:func:`register_workers`, one multi-row INSERT per table), companies and institutions
  one by one (:func:`register_company`, :func:`register_institution`). If that fails in the
  database (for instance a registration racing with the API), the batch is rolled back and done
  again row by row (:func:`register_worker` and friends), each row inside its own SAVEPOINT, so
  the failing row is reported without undoing the others. Every created record publishes its
  ``registry.*.registered`` event through the outbox, exactly as the API does;
- a row whose key is registered is ``unchanged`` when every value it states matches the record,
  and a ``conflict`` otherwise: the record is never modified by an import (no silent fix-ups),
  and the report names the fields that differ, not their values;
- a key seen earlier in the same file is a ``duplicate`` (the report names the earlier line).

The batch's report lines and the job's counts are written in the same transaction, so the counts
always describe exactly what was committed. Only the current batch is held in memory, plus one
64-bit fingerprint per distinct key for the in-file duplicate check.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Generator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.common import EmploymentKind
from services.kit.db import Database
from services.kit.errors import Problem
from services.kit.idnumbers import InvalidCreditCode, mask_id_card, parse_credit_code
from services.kit.pii import PiiCipher
from services.kit.principal import Principal
from services.kit.types import utcnow
from services.registry.exchange.formats import (
    SPECS,
    WORKER_EXCHANGE_FIELDS,
    FileProblem,
    Format,
    Kind,
    KindSpec,
    RawRow,
    read_rows,
)
from services.registry.exchange.models import ImportIssue, ImportJob
from services.registry.parties import companies, registration
from services.registry.parties.models import (
    COMPANY_CONTACT_PHONE_CONTEXT,
    INSTITUTION_CONTACT_PHONE_CONTEXT,
    WORKER_ID_CARD_CONTEXT,
    WORKER_PHONE_CONTEXT,
    Company,
    Institution,
    Worker,
)
from services.registry.parties.schemas import (
    CompanyCreate,
    EmploymentJoin,
    InstitutionCreate,
    WorkerCreate,
)

log = logging.getLogger(__name__)

OUTCOMES = ("created", "unchanged", "conflict", "duplicate", "invalid")
#: Report lines kept per row at most (a row of garbage could otherwise fill pages).
MAX_ISSUES_PER_ROW = 20
CONFLICT_REASON = "differs from the registered record, which the import leaves unchanged"
#: PostgreSQL: plan a batch's lookup (``IN`` of up to a batch of keys) for the table as it is
#: now. It is a prepared statement, and its cached generic plan, made while the table was
#: small, stays a sequential scan as an import grows the table, until the next ANALYZE: with
#: 50,000 rows imported into an empty table, lookups went from ~5 ms to ~1 s each. Only the
#: lookup: planning every row of the batch's multi-row INSERTs doubled their time.
CUSTOM_PLANS = text("SET LOCAL plan_cache_mode = force_custom_plan")
DEFAULT_PLANS = text("SET LOCAL plan_cache_mode TO DEFAULT")


@dataclass
class Counts:
    total: int = 0
    created: int = 0
    unchanged: int = 0
    conflict: int = 0
    duplicate: int = 0
    invalid: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(slots=True)
class Issue:
    line: int
    key: str | None
    outcome: str
    field: str | None
    reason: str


@dataclass(slots=True)
class Candidate:
    """A row that passed validation and waits for its batch to reach the database."""

    line: int
    #: Masked key for the report.
    key: str
    #: What the database is searched by: the ID-card blind index or the credit code.
    lookup: str
    data: Any
    company_code: str | None = None
    employment_kind: str | None = None


def _stated(model: BaseModel, name: str) -> bool:
    """A value the row gives: present, not null, not an empty list (those are not compared)."""
    if name not in model.model_fields_set:
        return False
    value = getattr(model, name)
    return value is not None and value != []


def _same_list(given: list[str], stored: list[str] | None) -> bool:
    return sorted(given) == sorted(stored or [])


class _WorkerExchangeFields(BaseModel):
    """The worker fields of the exchange format that ``WorkerCreate`` does not have."""

    model_config = ConfigDict(extra="forbid")

    company_credit_code: str | None = None
    employment_kind: EmploymentKind | None = None

    @field_validator("company_credit_code")
    @classmethod
    def _valid_code(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return parse_credit_code(value)
        except InvalidCreditCode as exc:  # worded as the create schemas word it
            raise PydanticCustomError("invalid_credit_code", str(exc)) from None


class _RowFailed(Exception):
    """A row failed in a batch run without savepoints: redo the batch with them."""


class KindHandler:
    """How one kind of party is validated, looked up, compared and registered."""

    kind: ClassVar[Kind]
    model: ClassVar[type[BaseModel]]
    #: Name of the key field, for duplicate messages.
    key_field: ClassVar[str]
    key_words: ClassVar[str]

    def __init__(self, cipher: PiiCipher, fmt: Format) -> None:
        self.cipher = cipher
        self.fmt = fmt
        self.spec: KindSpec = SPECS[self.kind]

    # --- validation (no I/O) ---

    def mask(self, raw_key: str | None) -> str | None:
        return raw_key.strip()[:40] if raw_key else None

    def field_name(self, loc: tuple[str | int, ...]) -> str:
        """The column (CSV) or the field path as the API names it (JSON Lines)."""
        if self.fmt == "csv":
            return self.spec.column_for(loc)
        return ".".join(str(p) for p in loc)

    def errors(self, row: RawRow, key: str | None, exc: ValidationError) -> list[Issue]:
        return [
            Issue(row.line, key, "invalid", self.field_name(tuple(e["loc"])), e["msg"])
            for e in exc.errors(include_url=False)
        ]

    def validate(self, row: RawRow) -> Candidate | list[Issue]:
        key = self.mask(row.key)
        if row.data is None:
            return [Issue(row.line, key, "invalid", None, row.error or "cannot be read")]
        try:
            data = self.model.model_validate(row.data)
        except ValidationError as exc:
            return self.errors(row, key, exc)
        return self.candidate(row, data)

    def candidate(self, row: RawRow, data: Any) -> Candidate:
        code = data.credit_code
        return Candidate(row.line, code, code, data)

    def fingerprint(self, candidate: Candidate) -> int:
        digest = hashlib.blake2b(candidate.lookup.encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big")

    # --- database ---

    async def prepare(self, session: AsyncSession, batch: list[Candidate]) -> list[Issue]:
        """Resolve references a batch makes (a worker's company); issues for rows that fail."""
        return []

    async def existing(self, session: AsyncSession, lookups: list[str]) -> dict[str, Any]:
        raise NotImplementedError

    def differences(self, candidate: Candidate, record: Any) -> list[str]:
        raise NotImplementedError

    async def register(
        self, session: AsyncSession, candidate: Candidate, actor: Principal | None
    ) -> None:
        raise NotImplementedError

    async def register_many(
        self, session: AsyncSession, candidates: list[Candidate], actor: Principal | None
    ) -> None:
        """Register rows known to be new; any failure leaves the transaction to roll back."""
        for candidate in candidates:
            await self.register(session, candidate, actor)


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
            if _stated(data, name) and getattr(data, name) != getattr(worker, name)
        ]
        if self.cipher.blind_index(data.phone, context=WORKER_PHONE_CONTEXT) != worker.phone_index:
            diffs.append("phone")
        for name in ("languages", "tracks", "target_groups"):
            if _stated(data, name) and not _same_list(getattr(data, name), getattr(worker, name)):
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


class _OrganisationHandler(KindHandler):
    key_field = "credit_code"
    key_words = "unified social credit code"
    table: ClassVar[type[Company] | type[Institution]]
    phone_context: ClassVar[str]
    extra_fields: ClassVar[tuple[str, ...]]
    list_fields: ClassVar[tuple[str, ...]]

    async def existing(self, session: AsyncSession, lookups: list[str]) -> dict[str, Any]:
        rows = await session.scalars(select(self.table).where(self.table.credit_code.in_(lookups)))
        return {org.credit_code: org for org in rows}

    def differences(self, candidate: Candidate, record: Any) -> list[str]:
        data = candidate.data
        diffs = [
            name
            for name in ("name", "legal_representative", "county", "address", *self.extra_fields)
            if getattr(data, name) != getattr(record, name)
        ]
        if data.contact.name != record.contact_name:
            diffs.append("contact_name" if self.fmt == "csv" else "contact.name")
        index = self.cipher.blind_index(data.contact.phone, context=self.phone_context)
        if index != record.contact_phone_index:
            diffs.append("contact_phone" if self.fmt == "csv" else "contact.phone")
        for name in self.list_fields:
            if _stated(data, name) and not _same_list(getattr(data, name), getattr(record, name)):
                diffs.append(name)
        return diffs


class CompanyHandler(_OrganisationHandler):
    kind = "companies"
    model = CompanyCreate
    table = Company
    phone_context = COMPANY_CONTACT_PHONE_CONTEXT
    extra_fields = ("kind",)
    list_fields = ("honours",)

    async def register(
        self, session: AsyncSession, candidate: Candidate, actor: Principal | None
    ) -> None:
        await companies.register_company(session, self.cipher, candidate.data, actor)


class InstitutionHandler(_OrganisationHandler):
    kind = "institutions"
    model = InstitutionCreate
    table = Institution
    phone_context = INSTITUTION_CONTACT_PHONE_CONTEXT
    extra_fields = ("level",)
    list_fields = ("tracks",)

    async def register(
        self, session: AsyncSession, candidate: Candidate, actor: Principal | None
    ) -> None:
        await companies.register_institution(session, self.cipher, candidate.data, actor)


HANDLERS: dict[Kind, type[KindHandler]] = {
    "workers": WorkerHandler,
    "companies": CompanyHandler,
    "institutions": InstitutionHandler,
}


class Importer:
    """Runs one import job: ``await Importer(...).run(path)`` → the final counts.

    Raises :class:`FileProblem` when the file as a whole is unusable (after committing the
    batches read before the problem, which a corrected re-submission then finds unchanged).
    """

    def __init__(
        self,
        db: Database,
        cipher: PiiCipher,
        *,
        job_id: uuid.UUID,
        kind: Kind,
        fmt: Format,
        actor: Principal | None,
        batch_size: int = 500,
        on_batch: Callable[[Counts], Awaitable[None]] | None = None,
    ) -> None:
        self.db = db
        self.handler = HANDLERS[kind](cipher, fmt)
        self.job_id = job_id
        self.fmt = fmt
        self.actor = actor
        self.batch_size = batch_size
        self.on_batch = on_batch
        self.counts = Counts()
        self._seen: dict[int, int] = {}  # key fingerprint → first line
        self._seq = 0

    async def run(self, path: Path) -> Counts:
        with contextlib.closing(read_rows(path, self.fmt, self.handler.spec)) as rows:
            while True:
                batch, issues, done = await self._read_batch(rows)
                await self._store(batch, issues)
                if done:
                    return self.counts

    async def _read_batch(
        self, rows: Generator[RawRow, None, None]
    ) -> tuple[list[Candidate], list[Issue], bool]:
        """Read and validate up to a batch of rows (no database work)."""
        batch: list[Candidate] = []
        issues: list[Issue] = []
        read = 0
        try:
            for row in rows:
                read += 1
                self.counts.total += 1
                self._check(row, batch, issues)
                if read >= self.batch_size:
                    return batch, issues, False
                if read % 50 == 0:
                    await asyncio.sleep(0)  # validation is CPU work: let requests through
        except UnicodeDecodeError:
            problem = FileProblem("the file is not valid UTF-8; save it as CSV UTF-8")
        except FileProblem as exc:
            problem = exc
        else:
            return batch, issues, True
        # Keep what was read before the problem, and put the problem itself in the report.
        issues.extend(
            Issue(problem.line, None, "file", name, str(problem))
            for name in (problem.fields or (None,))
        )
        await self._store(batch, issues)
        raise problem

    def _check(self, row: RawRow, batch: list[Candidate], issues: list[Issue]) -> None:
        result = self.handler.validate(row)
        if isinstance(result, list):
            self.counts.invalid += 1
            issues.extend(result[:MAX_ISSUES_PER_ROW])
            return
        fingerprint = self.handler.fingerprint(result)
        first = self._seen.get(fingerprint)
        if first is not None:
            self.counts.duplicate += 1
            issues.append(
                Issue(
                    row.line,
                    result.key,
                    "duplicate",
                    self.handler.key_field,
                    f"the same {self.handler.key_words} as line {first}; only the first is used",
                )
            )
            return
        self._seen[fingerprint] = row.line
        batch.append(result)

    async def _store(self, batch: list[Candidate], issues: list[Issue]) -> None:
        """One write transaction: the batch's rows, its report lines and the job's counts.

        New rows are registered together, without a SAVEPOINT each (for workers, a few
        multi-row INSERTs for the whole batch); if that fails in the database, the whole batch
        is rolled back and done again row by row with one SAVEPOINT per row, so the failing row
        is reported and the others are still stored.
        """
        try:
            await self._write(batch, issues, safe=False)
        except _RowFailed:
            await self._write(batch, issues, safe=True)
        if self.on_batch is not None:
            await self.on_batch(self.counts)

    async def _write(self, batch: list[Candidate], issues: list[Issue], *, safe: bool) -> None:
        counts = Counts(**self.counts.as_dict())
        seq = self._seq
        async with self.db.write() as session:
            found = await self._apply(session, batch, counts, safe=safe) if batch else []
            values = []
            for issue in sorted([*issues, *found], key=lambda i: i.line):
                seq += 1
                values.append(
                    {
                        "job_id": self.job_id,
                        "seq": seq,
                        "line": issue.line,
                        "key": issue.key,
                        "outcome": issue.outcome,
                        "field": issue.field[:100] if issue.field else None,
                        "reason": issue.reason[:2000],
                    }
                )
            if values:
                await session.execute(insert(ImportIssue), values)
            await session.execute(
                update(ImportJob)
                .where(ImportJob.id == self.job_id)
                .values(**counts.as_dict(), heartbeat_at=utcnow())
            )
        self.counts, self._seq = counts, seq  # committed: now they are true

    async def _apply(
        self, session: AsyncSession, batch: list[Candidate], counts: Counts, *, safe: bool
    ) -> list[Issue]:
        handler = self.handler
        issues = await handler.prepare(session, batch)
        refused = {issue.line for issue in issues}
        if refused:
            counts.invalid += len(refused)
            batch = [c for c in batch if c.line not in refused]
        found = await self._existing(session, [c.lookup for c in batch])
        new = [c for c in batch if c.lookup not in found]
        if new and not safe:
            try:
                await handler.register_many(session, new, self.actor)
            except Exception as exc:
                raise _RowFailed from exc
            counts.created += len(new)
        for candidate in batch:
            record = found.get(candidate.lookup)
            if record is None:
                if not safe:
                    continue  # created above
                record = await self._create(session, candidate, counts, issues)
                if record is None:
                    continue
            self._compare(candidate, record, counts, issues)
        return issues

    async def _existing(self, session: AsyncSession, lookups: list[str]) -> dict[str, Any]:
        """The batch's keys already registered (see :data:`CUSTOM_PLANS`)."""
        if self.db.is_sqlite or not lookups:
            return await self.handler.existing(session, lookups)
        await session.execute(CUSTOM_PLANS)
        found = await self.handler.existing(session, lookups)
        await session.execute(DEFAULT_PLANS)
        return found

    def _compare(
        self, candidate: Candidate, record: Any, counts: Counts, issues: list[Issue]
    ) -> None:
        diffs = self.handler.differences(candidate, record)
        if not diffs:
            counts.unchanged += 1
            return
        counts.conflict += 1
        issues.extend(
            Issue(candidate.line, candidate.key, "conflict", name, CONFLICT_REASON)
            for name in diffs
        )

    async def _create(
        self, session: AsyncSession, candidate: Candidate, counts: Counts, issues: list[Issue]
    ) -> Any | None:
        """Register one row inside its own SAVEPOINT. None when created (or refused, with its
        issues); the stored record when a concurrent writer registered the same key first."""
        try:
            async with session.begin_nested():
                await self.handler.register(session, candidate, self.actor)
        except Problem as exc:
            if exc.status == 409 and exc.slug.startswith("duplicate-"):
                return await self._raced(session, candidate, counts, issues)
            counts.invalid += 1
            issues.extend(self._problem_issues(candidate, exc))
            return None
        except IntegrityError:
            return await self._raced(session, candidate, counts, issues)
        counts.created += 1
        return None

    async def _raced(
        self, session: AsyncSession, candidate: Candidate, counts: Counts, issues: list[Issue]
    ) -> Any | None:
        record = (await self.handler.existing(session, [candidate.lookup])).get(candidate.lookup)
        if record is None:  # not a duplicate after all: report rather than guess
            counts.invalid += 1
            issues.append(
                Issue(
                    candidate.line,
                    candidate.key,
                    "invalid",
                    self.handler.key_field,
                    "could not be registered (a concurrent change); import the file again",
                )
            )
        return record

    def _problem_issues(self, candidate: Candidate, exc: Problem) -> list[Issue]:
        if exc.errors:
            return [
                Issue(
                    candidate.line,
                    candidate.key,
                    "invalid",
                    self.handler.field_name(tuple(e.get("loc") or [e.get("field", "")])),
                    str(e.get("message", exc.detail or exc.title)),
                )
                for e in exc.errors
            ]
        return [Issue(candidate.line, candidate.key, "invalid", None, exc.detail or exc.title)]
