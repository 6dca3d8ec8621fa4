"""Compatibility re-export: the worker routes live in services.registry.parties.api."""

from services.registry.parties.api import router

__all__ = ["router"]
