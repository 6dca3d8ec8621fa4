"""Time-ordered ids (UUIDv7): index-friendly, sortable by creation, safe to expose."""

from __future__ import annotations

import uuid

import uuid_utils


def new_id() -> uuid.UUID:
    return uuid.UUID(bytes=uuid_utils.uuid7().bytes)
