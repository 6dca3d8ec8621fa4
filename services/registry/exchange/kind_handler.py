"""The base of the import's kind handlers, and the :class:`Candidate` a valid row becomes.

A :class:`KindHandler` knows how one kind of party is validated (no I/O), looked up in the
database by its key, compared with the record found and registered; the pipeline
(:mod:`services.registry.exchange.importer`) only drives it. The concrete handlers live in
:mod:`.worker_handler` and :mod:`.organisation_handlers`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.pii import PiiCipher
from services.kit.principal import Principal
from services.registry.exchange.formats import SPECS, Format, Kind, KindSpec, RawRow
from services.registry.exchange.report import Issue


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


def is_stated(model: BaseModel, name: str) -> bool:
    """A value the row gives: present, not null, not an empty list (those are not compared)."""
    if name not in model.model_fields_set:
        return False
    value = getattr(model, name)
    return value is not None and value != []


def same_items(given: list[str], stored: list[str] | None) -> bool:
    """The same entries in any order: a row may list them in another order than the record."""
    return sorted(given) == sorted(stored or [])


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
