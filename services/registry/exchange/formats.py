"""The exchange formats: column lists, reading rows from a spooled file, writing export rows.

Both formats carry the same fields, named as in the registry's create schemas
(``WorkerCreate``, ``CompanyCreate``, ``InstitutionCreate``):

- **JSON Lines**: one object per line, shaped exactly like the create schema's request body
  (nested ``health_check``, ``no_criminal_record``, ``contact``).
- **CSV** (UTF-8, with or without BOM, header row first): the same fields flattened, nested
  fields joined with ``_`` (``health_check_date``, ``contact_phone``) and lists separated by
  ``|`` (``cantonese|mandarin``). Cells are trimmed; an empty cell means "not given". A cell
  an export protected against spreadsheet formula injection (``'=...``) loses its quote.

Exchange-only fields: a worker's company is named by its unified social credit code
(``company_credit_code``, with ``employment_kind``) because registry ids mean nothing to another
agency. Exports add read-only fields (``id``, and a worker's ``status``) that an import ignores.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Generator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO, Literal

import orjson

Kind = Literal["workers", "companies", "institutions"]
Format = Literal["csv", "jsonl"]
KINDS: tuple[Kind, ...] = ("workers", "companies", "institutions")
FORMATS: tuple[Format, ...] = ("csv", "jsonl")

#: Separator of list cells in CSV.
LIST_SEPARATOR = "|"
#: Longest JSON line accepted; a longer one is reported invalid (and skipped, not loaded).
MAX_JSON_LINE = 1024 * 1024
#: Characters that make a spreadsheet treat a cell as a formula (OWASP CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

MEDIA_TYPES: dict[Format, str] = {"csv": "text/csv", "jsonl": "application/x-ndjson"}
#: Upload Content-Types accepted, and the format each means.
UPLOAD_TYPES: dict[str, Format] = {
    "text/csv": "csv",
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
}


class FileProblem(Exception):
    """The file as a whole cannot be imported (bad header, broken CSV quoting, not UTF-8)."""

    def __init__(self, message: str, *, line: int = 1, fields: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.line = line
        self.fields = fields


@dataclass(frozen=True, slots=True)
class Column:
    #: CSV header name.
    name: str
    #: Where the value sits in the create-schema shaped dict.
    path: tuple[str, ...]
    required: bool = False
    is_list: bool = False


@dataclass(frozen=True)
class KindSpec:
    kind: Kind
    columns: tuple[Column, ...]
    #: Exported for information, ignored on import.
    read_only: tuple[str, ...] = ("id",)
    #: Nested objects the create schema requires: built even when all their cells are empty,
    #: so a missing value is reported per column ("contact_phone: Field required").
    required_groups: tuple[str, ...] = ()
    #: The column whose (masked) value names the row in reports.
    key: str = "credit_code"
    _by_path: dict[tuple[str, ...], str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._by_path.update({c.path: c.name for c in self.columns})

    @property
    def header(self) -> list[str]:
        return [c.name for c in self.columns] + list(self.read_only)

    def column_for(self, loc: tuple[str | int, ...]) -> str:
        """The CSV column an error location refers to (``("contact", "phone")`` → contact_phone)."""
        parts = tuple(p for p in loc if isinstance(p, str))
        for size in range(len(parts), 0, -1):
            name = self._by_path.get(parts[:size])
            if name is not None:
                return name
        return ".".join(str(p) for p in loc)


def _worker_columns() -> tuple[Column, ...]:
    return (
        Column("name", ("name",), required=True),
        Column("id_card_number", ("id_card_number",), required=True),
        Column("phone", ("phone",), required=True),
        Column("gender", ("gender",)),
        Column("birth_date", ("birth_date",)),
        Column("county", ("county",), required=True),
        Column("languages", ("languages",), is_list=True),
        Column("education", ("education",)),
        Column("tracks", ("tracks",), is_list=True),
        Column("target_groups", ("target_groups",), is_list=True),
        Column("health_check_date", ("health_check", "date")),
        Column("health_check_institution", ("health_check", "institution")),
        Column("health_check_valid_until", ("health_check", "valid_until")),
        Column("no_criminal_record_date", ("no_criminal_record", "date")),
        Column("no_criminal_record_result", ("no_criminal_record", "result")),
        Column("no_criminal_record_valid_until", ("no_criminal_record", "valid_until")),
        Column("company_credit_code", ("company_credit_code",)),
        Column("employment_kind", ("employment_kind",)),
    )


def _organisation_columns() -> tuple[Column, ...]:
    return (
        Column("credit_code", ("credit_code",), required=True),
        Column("name", ("name",), required=True),
        Column("legal_representative", ("legal_representative",), required=True),
        Column("county", ("county",), required=True),
        Column("address", ("address",), required=True),
        Column("contact_name", ("contact", "name"), required=True),
        Column("contact_phone", ("contact", "phone"), required=True),
    )


SPECS: dict[Kind, KindSpec] = {
    "workers": KindSpec(
        "workers",
        _worker_columns(),
        # birth_year: what a masked export shows instead of birth_date
        read_only=("id", "status", "birth_year"),
        key="id_card_number",
    ),
    "companies": KindSpec(
        "companies",
        (
            *_organisation_columns(),
            Column("kind", ("kind",), required=True),
            Column("honours", ("honours",), is_list=True),
        ),
        required_groups=("contact",),
    ),
    "institutions": KindSpec(
        "institutions",
        (
            *_organisation_columns(),
            Column("level", ("level",), required=True),
            Column("tracks", ("tracks",), is_list=True),
        ),
        required_groups=("contact",),
    ),
}

#: Worker fields that are not part of ``WorkerCreate`` but of the exchange format.
WORKER_EXCHANGE_FIELDS = ("company_credit_code", "employment_kind")


@dataclass(slots=True)
class RawRow:
    """One data row as read: its line, the create-shaped dict, or why it could not be read."""

    line: int
    data: dict[str, Any] | None
    error: str | None = None
    #: The raw key cell, for the report (masked before it is stored).
    key: str | None = None


# --- reading -------------------------------------------------------------------------------


def _unescape(cell: str) -> str:
    """Trim, and undo the export's formula guard (``'=x`` → ``=x``)."""
    cell = cell.strip()
    if len(cell) > 1 and cell[0] == "'" and cell[1] in "=+-@":
        return cell[1:]
    return cell


def _nest(target: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for part in path[:-1]:
        target = target.setdefault(part, {})
    target[path[-1]] = value


def read_csv(path: Path, spec: KindSpec) -> Generator[RawRow, None, None]:
    """Rows of a CSV file, one at a time; raises :class:`FileProblem` for a bad header."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
        except csv.Error as exc:
            raise FileProblem(f"the header row is not valid CSV: {exc}") from None
        if header is None or not any(h.strip() for h in header):
            raise FileProblem("the file is empty: expected a header row first")
        names = [h.strip().lower() for h in header]
        positions = _check_header(names, spec)
        start = reader.line_num + 1
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise FileProblem(f"line {start}: not valid CSV: {exc}", line=start) from None
            line, start = start, reader.line_num + 1
            if not any(c.strip() for c in cells):
                continue  # blank lines and rows of empty cells (spreadsheets add them)
            key_at = positions.get(spec.key)
            key = _unescape(cells[key_at]) if key_at is not None and key_at < len(cells) else None
            if len(cells) > len(names):
                yield RawRow(
                    line,
                    None,
                    f"has {len(cells)} values but the header has {len(names)} columns",
                    key,
                )
                continue
            data: dict[str, Any] = {group: {} for group in spec.required_groups}
            for column in spec.columns:
                at = positions.get(column.name)
                if at is None or at >= len(cells):
                    continue
                cell = _unescape(cells[at])
                if column.is_list:
                    items = [_unescape(item) for item in cell.split(LIST_SEPARATOR)]
                    _nest(data, column.path, [item for item in items if item])
                elif cell:
                    _nest(data, column.path, cell)
            yield RawRow(line, data, None, key)


def _check_header(names: list[str], spec: KindSpec) -> dict[str, int]:
    known = {c.name for c in spec.columns}
    ignored = set(spec.read_only)
    seen: dict[str, int] = {}
    for position, name in enumerate(names):
        if name in seen:
            raise FileProblem(f"the header names column {name} twice", fields=(name,))
        seen[name] = position
    unknown = [n for n in names if n not in known and n not in ignored]
    if unknown:
        raise FileProblem(
            f"unknown column(s): {', '.join(unknown)}; the {spec.kind} columns are "
            f"{', '.join(c.name for c in spec.columns)}",
            fields=tuple(unknown),
        )
    missing = [c.name for c in spec.columns if c.required and c.name not in seen]
    if missing:
        raise FileProblem(
            f"required column(s) missing from the header: {', '.join(missing)}",
            fields=tuple(missing),
        )
    return {name: position for name, position in seen.items() if name in known}


def _long_line(handle: BinaryIO, head: bytes) -> None:
    """Skip the rest of a line too long to load (without loading it)."""
    chunk = head
    while chunk and not chunk.endswith(b"\n"):
        chunk = handle.readline(MAX_JSON_LINE)


def read_jsonl(path: Path, spec: KindSpec) -> Generator[RawRow, None, None]:
    """Rows of a JSON Lines file, one at a time."""
    with open(path, "rb") as handle:
        line = 0
        while True:
            raw = handle.readline(MAX_JSON_LINE + 1)
            if not raw:
                return
            line += 1
            if line == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
            if len(raw) > MAX_JSON_LINE and not raw.endswith(b"\n"):
                _long_line(handle, raw)
                yield RawRow(line, None, f"is longer than {MAX_JSON_LINE} bytes")
                continue
            if not raw.strip():
                continue
            try:
                value = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                yield RawRow(line, None, f"is not valid JSON: {exc}")
                continue
            if not isinstance(value, dict):
                yield RawRow(line, None, "must be a JSON object")
                continue
            key = value.get(spec.key)
            for name in spec.read_only:
                value.pop(name, None)
            yield RawRow(line, value, None, key if isinstance(key, str) else None)


def read_rows(path: Path, fmt: Format, spec: KindSpec) -> Generator[RawRow, None, None]:
    return read_csv(path, spec) if fmt == "csv" else read_jsonl(path, spec)


# --- writing -------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return LIST_SEPARATOR.join(_cell(v) for v in value)
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _get(record: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = record
    for part in path:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


class RowWriter:
    """CSV text (RFC 4180, CRLF) of rows, a page at a time, the header first."""

    def __init__(self, header: list[str], *, bom: bool = False) -> None:
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator="\r\n")
        if bom:
            self._buffer.write("\ufeff")
        self._writer.writerow(header)

    def page(self, rows: list[list[Any]]) -> bytes:
        self._writer.writerows([_cell(value) for value in row] for row in rows)
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text.encode()


class CsvWriter:
    """Encodes export records (create-shaped dicts) as CSV in the import's columns."""

    def __init__(self, spec: KindSpec, *, bom: bool = False) -> None:
        self.spec = spec
        self._rows = RowWriter(spec.header, bom=bom)

    def page(self, records: list[dict[str, Any]]) -> bytes:
        return self._rows.page(
            [
                [_get(record, c.path) for c in self.spec.columns]
                + [record.get(name) for name in self.spec.read_only]
                for record in records
            ]
        )


def jsonl_page(records: list[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)
