"""Tables of the bulk exchange: import jobs and the per-row report of each job.

A job row is the single source of truth about an import: its status, its counts (updated in the
same transaction as every batch of rows, so they always match what was committed) and the
heartbeat a live runner keeps fresh. The report rows say, per input line, why a row was not
created (invalid, duplicate within the file, conflict with the registered record); they hold the
masked key only, never a plaintext ID-card or phone number.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from services.kit.types import UtcDateTime
from services.registry.base import Base


class ImportJob(Base):
    __tablename__ = "import_jobs"
    __table_args__ = (Index("ix_import_jobs_status_heartbeat", "status", "heartbeat_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    #: workers, companies or institutions.
    kind: Mapped[str] = mapped_column(String(16))
    #: csv or jsonl.
    format: Mapped[str] = mapped_column(String(8))
    #: queued → running → done | failed | interrupted.
    status: Mapped[str] = mapped_column(String(12))
    #: Account id (token subject) and role of who submitted the file.
    submitted_by: Mapped[str] = mapped_column(String(64))
    submitted_role: Mapped[str] = mapped_column(String(12))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    conflict: Mapped[int] = mapped_column(Integer, default=0)
    duplicate: Mapped[int] = mapped_column(Integer, default=0)
    invalid: Mapped[int] = mapped_column(Integer, default=0)
    #: Why the whole file failed or was interrupted (never row data).
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: host:pid:token of the process running the job; its heartbeat says it is alive.
    runner: Mapped[str | None] = mapped_column(String(100), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class ImportIssue(Base):
    """One line of a job's report: a row (line) that was not created, and why."""

    __tablename__ = "import_issues"

    job_id: Mapped[uuid.UUID] = mapped_column(
        Uuid,
        ForeignKey("import_jobs.id", name="fk_import_issues_job_id", ondelete="CASCADE"),
        primary_key=True,
    )
    #: Order within the job's report.
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    #: Line of the file where the row starts (the CSV header is line 1).
    line: Mapped[int] = mapped_column(Integer)
    #: The row's key, masked: ``441202********123X`` for a worker, the credit code otherwise.
    key: Mapped[str | None] = mapped_column(String(40), nullable=True)
    #: invalid, duplicate or conflict.
    outcome: Mapped[str] = mapped_column(String(12))
    #: The column (CSV) or field path (JSON Lines) concerned, if one is.
    field: Mapped[str | None] = mapped_column(String(100), nullable=True)
    reason: Mapped[str] = mapped_column(Text)
