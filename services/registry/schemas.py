"""Compatibility re-export: party schemas live in services.registry.parties.schemas (worker
schemas in its ``workers`` module)."""

from services.registry.parties.schemas.workers import WorkerCreate, WorkerOut, WorkerPatch

__all__ = ["WorkerCreate", "WorkerOut", "WorkerPatch"]
