"""Settings of the bulk exchange, from ``REGISTRY_IMPORT_*`` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ExchangeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REGISTRY_IMPORT_", extra="ignore")

    #: Largest upload accepted (413 above it). The gateway has its own, usually lower, limit.
    max_bytes: int = Field(default=200 * 1024 * 1024, ge=1)
    #: Rows per write transaction.
    batch_size: int = Field(default=500, ge=1, le=10_000)
    #: Imports running at once in one process; more wait as ``queued``.
    concurrency: int = Field(default=1, ge=1, le=16)
    #: Where uploads are spooled; default ``<JIASAO_VAR_DIR>/registry/imports``.
    spool_dir: Path | None = None
    #: A live runner touches its jobs this often ...
    heartbeat_seconds: float = Field(default=10.0, gt=0)
    #: ... and a queued or running job not touched for this long is marked interrupted.
    stale_after_seconds: float = Field(default=60.0, gt=0)
    #: Rows read from the database per page while exporting.
    export_page_size: int = Field(default=500, ge=1, le=5_000)
