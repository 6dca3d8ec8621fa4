"""Compatibility re-export: party schemas live in services.registry.parties.schemas."""

from services.registry.parties.schemas import WorkerCreate, WorkerOut, WorkerPatch

__all__ = ["WorkerCreate", "WorkerOut", "WorkerPatch"]
