"""Response shapes of the exchange endpoints."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, Field

from services.registry.exchange.models import ImportJob

JobStatus = Literal["queued", "running", "done", "failed", "interrupted"]


class ImportCounts(BaseModel):
    total: int = Field(description="Data rows read (blank lines are not rows)")
    created: int = Field(
        description="Rows registered as new records (target_groups: workers updated)"
    )
    unchanged: int = Field(description="Rows whose key was registered with the same values")
    conflict: int = Field(
        description="Rows whose key was registered with different values (left unchanged)"
    )
    duplicate: int = Field(description="Rows repeating a key seen earlier in the same file")
    invalid: int = Field(description="Rows refused, with their reasons in the report")


class ImportJobOut(BaseModel):
    id: uuid.UUID
    kind: Literal["workers", "companies", "institutions", "target_groups"]
    format: Literal["csv", "jsonl"]
    status: JobStatus
    counts: ImportCounts
    error: str | None = Field(description="Why the file failed or the job was interrupted")
    size_bytes: int
    submitted_by: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    report: str = Field(description="Path of the per-row report (add ?format=csv or jsonl)")


def job_out(job: ImportJob) -> ImportJobOut:
    return ImportJobOut(
        id=job.id,
        kind=job.kind,  # type: ignore[arg-type]
        format=job.format,  # type: ignore[arg-type]
        status=job.status,  # type: ignore[arg-type]
        counts=ImportCounts(
            total=job.total,
            created=job.created,
            unchanged=job.unchanged,
            conflict=job.conflict,
            duplicate=job.duplicate,
            invalid=job.invalid,
        ),
        error=job.error,
        size_bytes=job.size_bytes,
        submitted_by=job.submitted_by,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        report=f"/api/v1/imports/{job.id}/report",
    )
