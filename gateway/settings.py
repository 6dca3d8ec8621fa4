"""Gateway settings, prefix ``GATEWAY_``: where it listens, where the services are, its limits."""

from __future__ import annotations

import json
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from services.kit.settings import SERVICE_PORTS, SERVICES


def _local(name: str) -> str:
    return f"http://127.0.0.1:{SERVICE_PORTS[name]}"


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = SERVICE_PORTS["gateway"]

    # One base URL per service; the routing table names services, never addresses.
    registry_url: str = _local("registry")
    training_url: str = _local("training")
    credit_url: str = _local("credit")
    rating_url: str = _local("rating")
    matching_url: str = _local("matching")

    #: Seconds to open a TCP connection to a service; a refused or unreachable one → 503.
    connect_timeout: float = Field(default=1.0, gt=0)
    #: Seconds a service may stay silent while answering; a slower one → 504.
    read_timeout: float = Field(default=10.0, gt=0)
    #: Largest request body forwarded; a larger one → 413 without contacting the service.
    #: The same default as each service's own limit (SERVICE_MAX_BODY_BYTES).
    max_body_bytes: int = Field(default=1024 * 1024, ge=0)
    #: Bulk import uploads (CSV / JSON Lines from agencies), streamed to the registry.
    max_upload_bytes: int = Field(default=200 * 1024 * 1024, ge=0)
    #: Seconds to wait for each next chunk of a request body; a slower sender → 408.
    body_chunk_timeout: float = Field(default=15.0, gt=0)
    #: Requests a minute per signed-in caller (token subject), and the burst allowed at once.
    rate_limit_per_minute: int = Field(default=600, ge=1)
    rate_limit_burst: int = Field(default=120, ge=1)
    #: The same for callers without a token, per client address.
    anonymous_rate_limit_per_minute: int = Field(default=120, ge=1)
    anonymous_rate_limit_burst: int = Field(default=30, ge=1)
    #: Pooled keep-alive connections per service (aiohttp ``limit_per_host``).
    pool_limit_per_host: int = Field(default=100, ge=1)
    #: Seconds an idle pooled connection is kept. Shorter than uvicorn's 5 s keep-alive, so the
    #: gateway drops a connection before the service does (avoids "server disconnected" races).
    keepalive_timeout: float = Field(default=4.0, gt=0)
    #: Seconds a resolved service address is reused (aiohttp ttl_dns_cache); 0: no cache.
    dns_cache_seconds: int = Field(default=60, ge=0)
    #: Retry-After seconds suggested with a 503.
    retry_after: int = Field(default=5, ge=0)
    #: Seconds the merged OpenAPI document is cached.
    openapi_cache_seconds: float = Field(default=30.0, ge=0)
    #: Seconds to wait for each service's /readyz or /openapi.json.
    probe_timeout: float = Field(default=3.0, gt=0)
    #: Keep (and append to) incoming X-Forwarded-* headers. Off: the gateway is the public edge,
    #: so a client could otherwise spoof its address.
    trust_forwarded_headers: bool = False
    #: Browser origins allowed by CORS; comma-separated or a JSON list. Empty: CORS off.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("registry_url", "training_url", "credit_url", "rating_url", "matching_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        # Paths are appended verbatim, so a trailing slash would double up.
        return value.rstrip("/")

    def service_urls(self) -> dict[str, str]:
        """Base URL of each service, in the platform's canonical order."""
        return {name: getattr(self, f"{name}_url") for name in SERVICES}
