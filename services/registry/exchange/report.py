"""What an import reports: the report lines (:class:`Issue`) and the job's :class:`Counts`.

The kind handlers produce the issues of the rows they validate, look up and register; the
pipeline (:mod:`services.registry.exchange.importer`) writes a batch's issues and the counts in
the batch's own transaction, so both always describe exactly what was committed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

OUTCOMES = ("created", "unchanged", "conflict", "duplicate", "invalid")


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
