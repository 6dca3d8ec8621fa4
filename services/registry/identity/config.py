"""Identity tunables, from ``REGISTRY_*`` environment variables (all have safe defaults)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class IdentitySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REGISTRY_", extra="ignore")

    #: Consecutive failed logins that lock an account (or an unknown phone number).
    login_max_failures: int = Field(default=5, ge=1, le=100)
    #: How long a lock lasts, in seconds.
    login_lockout_seconds: int = Field(default=15 * 60, ge=1)
    #: Lifetime of each refresh token; a new one is issued on every refresh.
    refresh_token_ttl_seconds: int = Field(default=30 * 24 * 3600, ge=60)
    #: Lifetime of partner platforms' access tokens (capped at the people's access-token TTL):
    #: short, because suspending a partner cannot recall a token already issued.
    partner_token_ttl_seconds: int = Field(default=5 * 60, ge=30)
    #: How often the signing key file's mtime is checked for a rotation.
    signing_key_check_seconds: float = Field(default=2.0, ge=0)
    #: Argon2 hashes computed at once (each takes ~64 MiB); more callers wait their turn.
    password_hash_concurrency: int = Field(default=4, ge=1, le=64)
