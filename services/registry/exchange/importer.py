"""The import pipeline: stream rows from a spooled file, validate, store in batches, report.

This module drives the job; how each kind of row is validated, looked up, compared and
registered is its handler's job (:mod:`.kind_handler`, :mod:`.worker_handler`,
:mod:`.organisation_handlers`), and the report's lines and counts are :mod:`.report`'s types.

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
import uuid
from collections.abc import Awaitable, Callable, Generator
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.db import Database
from services.kit.errors import Problem
from services.kit.pii import PiiCipher
from services.kit.principal import Principal
from services.kit.types import utcnow
from services.registry.exchange.formats import FileProblem, Format, Kind, RawRow, read_rows
from services.registry.exchange.kind_handler import Candidate, KindHandler
from services.registry.exchange.models import ImportIssue, ImportJob
from services.registry.exchange.organisation_handlers import CompanyHandler, InstitutionHandler
from services.registry.exchange.report import Counts, Issue
from services.registry.exchange.worker_handler import WorkerHandler

#: ``Counts`` is what :meth:`Importer.run` returns and ``on_batch`` receives.
__all__ = ["CONFLICT_REASON", "HANDLERS", "MAX_ISSUES_PER_ROW", "Counts", "Importer"]

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


HANDLERS: dict[Kind, type[KindHandler]] = {
    "workers": WorkerHandler,
    "companies": CompanyHandler,
    "institutions": InstitutionHandler,
}


class _RowFailed(Exception):
    """A row failed in a batch run without savepoints: redo the batch with them."""


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
