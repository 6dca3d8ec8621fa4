"""Streaming exports: the database read in keyset pages, each page encoded and sent at once.

Records are built through the parties views (``worker_out`` and friends), so an export masks
exactly as the API's responses do; masked is the default. Rows are shaped as the import expects
them, so an unmasked export is a file the import takes back.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, exists, select

from services.kit.db import Database
from services.kit.pii import PiiCipher
from services.kit.principal import Principal
from services.registry.exchange.formats import SPECS, CsvWriter, Format, Kind, jsonl_page
from services.registry.parties import views
from services.registry.parties.models import (
    Company,
    Institution,
    Worker,
    WorkerTargetGroup,
    WorkerTrack,
)

log = logging.getLogger(__name__)
#: Who exported what, unmasked or not; never any of the numbers themselves.
audit = logging.getLogger("services.registry.audit")


@dataclass
class ExportFilters:
    county: str | None = None
    status: str | None = None
    track: str | None = None
    target_group: str | None = None
    company_id: uuid.UUID | None = None
    kind: str | None = None
    level: str | None = None

    def given(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.__dict__.items() if v is not None}


def _worker_query(filters: ExportFilters) -> Select[Any]:
    query = select(Worker, Company.credit_code).outerjoin(Company, Company.id == Worker.company_id)
    if filters.county is not None:
        query = query.where(Worker.county == filters.county)
    if filters.status is not None:
        query = query.where(Worker.status == filters.status)
    if filters.company_id is not None:
        query = query.where(Worker.company_id == filters.company_id)
    if filters.track is not None:
        query = query.where(
            exists().where(WorkerTrack.worker_id == Worker.id, WorkerTrack.track == filters.track)
        )
    if filters.target_group is not None:
        query = query.where(
            exists().where(
                WorkerTargetGroup.worker_id == Worker.id,
                WorkerTargetGroup.target_group == filters.target_group,
            )
        )
    return query


def _worker_record(cipher: PiiCipher, full: bool, row: Any) -> dict[str, Any]:
    worker, company_code = row
    out = views.worker_out(worker, cipher, full=full)
    return {
        "name": out.name,
        "id_card_number": out.id_card_number,
        "phone": out.phone,
        "gender": out.gender,
        "birth_date": out.birth_date,
        "county": out.county,
        "languages": out.languages,
        "education": out.education,
        "tracks": out.tracks,
        "target_groups": out.target_groups,
        "health_check": out.health_check.model_dump() if out.health_check else None,
        "no_criminal_record": (
            out.no_criminal_record.model_dump() if out.no_criminal_record else None
        ),
        "company_credit_code": company_code,
        "employment_kind": out.employment_kind,
        "id": str(out.id),
        "status": out.status,
        "birth_year": out.birth_year,
    }


def _organisation_record(out: Any, extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "credit_code": out.credit_code,
        "name": out.name,
        "legal_representative": out.legal_representative,
        "county": out.county,
        "address": out.address,
        "contact": {"name": out.contact.name, "phone": out.contact.phone},
        **extra,
        "id": str(out.id),
    }


def _company_record(cipher: PiiCipher, full: bool, row: Any) -> dict[str, Any]:
    out = views.company_out(row[0], cipher, full=full)
    return _organisation_record(out, {"kind": out.kind, "honours": out.honours})


def _institution_record(cipher: PiiCipher, full: bool, row: Any) -> dict[str, Any]:
    out = views.institution_out(row[0], cipher, full=full)
    return _organisation_record(out, {"level": out.level, "tracks": out.tracks})


@dataclass
class _Source:
    table: Any
    query: Callable[[ExportFilters], Select[Any]]
    record: Callable[[PiiCipher, bool, Any], dict[str, Any]]
    extra: dict[str, Any] = field(default_factory=dict)


def _organisation_query(table: Any, column: str) -> Callable[[ExportFilters], Select[Any]]:
    def query(filters: ExportFilters) -> Select[Any]:
        q = select(table)
        if filters.county is not None:
            q = q.where(table.county == filters.county)
        value = getattr(filters, column)
        if value is not None:
            q = q.where(getattr(table, column) == value)
        return q

    return query


SOURCES: dict[Kind, _Source] = {
    "workers": _Source(Worker, _worker_query, _worker_record),
    "companies": _Source(Company, _organisation_query(Company, "kind"), _company_record),
    "institutions": _Source(
        Institution, _organisation_query(Institution, "level"), _institution_record
    ),
}


async def export_stream(
    db: Database,
    cipher: PiiCipher,
    *,
    kind: Kind,
    fmt: Format,
    filters: ExportFilters,
    full: bool,
    actor: Principal,
    page_size: int = 500,
    bom: bool = False,
    tally: dict[str, int] | None = None,
) -> AsyncIterator[bytes]:
    """The export's bytes, a page at a time; one short read transaction per page.
    ``tally["rows"]`` counts the records written so far."""
    source = SOURCES[kind]
    base = source.query(filters).order_by(source.table.id).limit(page_size)
    writer = CsvWriter(SPECS[kind], bom=bom) if fmt == "csv" else None
    after: uuid.UUID | None = None
    count = 0
    finished = False
    try:
        if writer is not None:
            yield writer.page([])  # the header, even for an empty export
        while True:
            query = base if after is None else base.where(source.table.id > after)
            async with db.read() as session:
                rows = (await session.execute(query)).all()
            if not rows:
                break
            records = [source.record(cipher, full, row) for row in rows]
            after = rows[-1][0].id
            count += len(records)
            if tally is not None:
                tally["rows"] = count
            yield writer.page(records) if writer is not None else jsonl_page(records)
            if len(rows) < page_size:
                break
        finished = True
    finally:
        audit.info(
            "records exported" if finished else "export stopped early",
            extra={
                "actor": actor.subject,
                "actor_role": actor.role,
                "export_kind": kind,
                "format": fmt,
                "unmasked": full,
                "rows": count,
                "filters": filters.given(),
            },
        )
