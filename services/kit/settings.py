"""Settings: one env prefix per service (``REGISTRY_``, ...) plus platform-wide ``JIASAO_``.

Service settings say where *this* service listens and keeps its data; platform settings are what
all processes share (the NATS URL, the var directory, key files).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICE_PORTS: dict[str, int] = {
    "gateway": 8000,
    "registry": 8001,
    "training": 8002,
    "credit": 8003,
    "rating": 8004,
    "matching": 8005,
}
SERVICES: tuple[str, ...] = ("registry", "training", "credit", "rating", "matching")


class PlatformSettings(BaseSettings):
    """Shared by every process; prefix ``JIASAO_``."""

    model_config = SettingsConfigDict(env_prefix="JIASAO_", extra="ignore")

    nats_url: str = "nats://127.0.0.1:4222"
    #: This process's own NATS user (one per service; `make run` generates them). Unset: none.
    nats_user: str | None = None
    nats_password: SecretStr | None = None
    var_dir: Path = Path("var")
    log_level: str = "INFO"
    #: JetStream replicas for streams; 1 embedded, 3 on the production cluster.
    stream_replicas: int = Field(default=1, ge=1, le=5)
    #: Seconds the NATS client waits for a JetStream API answer or a publish ack.
    nats_timeout: float = Field(default=5.0, gt=0)
    #: Tokens: who issues them (the registry) and for whom; verified by every process.
    jwt_issuer: str = "https://jiasao.gov.cn/registry"
    jwt_audience: str = "jiasao"
    #: Where to fetch the registry's public keys; unset = read them from the local key file.
    jwks_url: str | None = None
    #: Signing keys file (private keys; only the registry needs it). Default: <var>/secrets.
    jwt_keys_file: Path | None = None
    #: Ed25519 keys signing exchanged data (feed pages, exports); same format as the token key
    #: file. Default ``<var_dir>/secrets/exchange_keys.json`` (generated for development).
    exchange_keys_file: Path | None = None
    access_token_ttl: int = Field(default=900, ge=60, le=3600)


class ServiceSettings(BaseSettings):
    """Per service; build with :func:`service_settings` so the prefix is the service's name."""

    # A placeholder prefix, so settings built directly (tests) never read bare HOST or PORT.
    model_config = SettingsConfigDict(env_prefix="JIASAO_UNNAMED_SERVICE_", extra="ignore")

    name: str = "service"
    host: str = "127.0.0.1"
    port: int = 0
    database_url: str = ""
    #: Run this service's alembic migrations at start (``make run`` migrates first instead).
    migrate_on_start: bool = False
    #: Max deliveries before an event goes to the dead-letter table.
    max_deliver: int = Field(default=5, ge=1)
    #: Seconds JetStream waits for an ack before redelivering.
    ack_wait: float = Field(default=30.0, gt=0)
    #: Largest request body (bytes) outside upload routes; chunked bodies are counted too.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    #: Largest body on upload routes (bulk imports).
    max_upload_bytes: int = Field(default=200 * 1024 * 1024, ge=1024)
    #: Seconds to wait for each next chunk of a request body before answering 408.
    body_chunk_timeout: float = Field(default=15.0, gt=0)
    #: Seconds between deletions of expired Idempotency-Keys.
    idempotency_purge_interval: float = Field(default=600.0, gt=0)
    #: Seconds between reloads of the suspended partners and agencies (services.kit.suspensions):
    #: how long another replica's applied suspension takes to reach this one at most.
    party_standing_refresh_interval: float = Field(default=1.0, gt=0)


def service_settings(name: str, platform: PlatformSettings | None = None) -> ServiceSettings:
    """Settings for ``name`` from ``<NAME>_*`` variables, with embedded defaults."""
    platform = platform or PlatformSettings()
    settings = ServiceSettings(_env_prefix=f"{name.upper()}_")  # type: ignore[call-arg]
    updates: dict[str, object] = {"name": name}
    if not settings.port:
        updates["port"] = SERVICE_PORTS.get(name, 0)
    if not settings.database_url:
        db_file = (platform.var_dir / f"{name}.db").resolve()
        updates["database_url"] = f"sqlite+aiosqlite:///{db_file}"
    return settings.model_copy(update=updates)
