"""Registry service app."""

from __future__ import annotations

from fastapi import FastAPI

from services.kit.app import ServiceContext, create_service_app
from services.kit.pii import load_pii_cipher
from services.registry.api import router


async def _load_keys(ctx: ServiceContext) -> None:
    ctx.extras["pii"] = load_pii_cipher()


def create_app() -> FastAPI:
    return create_service_app(
        "registry",
        routers=[router],
        title="Jiasao registry",
        description="Workers, companies, institutions, employers, partners; accounts; consent.",
        on_startup=_load_keys,
    )
