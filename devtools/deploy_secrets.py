"""Fresh secrets for a deployment, never committed: Kubernetes Secrets (``python -m
devtools.k8s secrets``) and the env file of deploy/compose.yaml (``compose-env``)."""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from devtools.k8s_common import Manifest, labels
from services.kit.settings import SERVICES

# -- Secrets (never committed) ----------------------------------------------------------------


def _password() -> str:
    return secrets.token_hex(24)  # URL-safe: it is embedded in nats:// and postgresql:// URLs


def _b64key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass(frozen=True)
class FreshSecrets:
    """One set of random secrets; the Kubernetes Secrets and the compose env file both come
    from it, so the NATS server and each service always agree on a password."""

    nats_passwords: dict[str, str]
    db_passwords: dict[str, str]
    route_password: str
    sys_password: str
    postgres_password: str
    pii_key_id: str
    pii_key: str
    pii_index_key: str
    jwt_keys: dict[str, Any]
    #: The platform's exchange signing keys (feed pages, exports): same format as jwt_keys.
    exchange_keys: dict[str, Any]
    metrics_token: str

    @classmethod
    def generate(cls) -> FreshSecrets:
        from services.kit.auth import new_private_pem

        jwt_kid = f"k-{datetime.now(UTC):%Y%m%d%H%M%S}-{secrets.token_hex(3)}"
        exchange_kid = f"exchange-{datetime.now(UTC):%Y%m%d%H%M%S}-{secrets.token_hex(3)}"
        return cls(
            nats_passwords={name: _password() for name in SERVICES},
            db_passwords={name: _password() for name in SERVICES},
            route_password=_password(),
            sys_password=_password(),
            postgres_password=_password(),
            pii_key_id=f"k-{datetime.now(UTC):%Y%m%d}",
            pii_key=_b64key(),
            pii_index_key=_b64key(),
            jwt_keys={"active": jwt_kid, "keys": {jwt_kid: new_private_pem()}},
            exchange_keys={"active": exchange_kid, "keys": {exchange_kid: new_private_pem()}},
            metrics_token=_password(),
        )


def secret_manifests(namespace: str, fresh: FreshSecrets | None = None) -> list[Manifest]:
    """Secrets with every key the manifests reference (tests check the two agree)."""
    fresh = fresh or FreshSecrets.generate()

    def secret(name: str, data: dict[str, str]) -> Manifest:
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": namespace, "labels": labels(name, "secret")},
            "type": "Opaque",
            "stringData": data,
        }

    out = [
        secret(
            "jiasao-nats",
            {
                "route-password": fresh.route_password,
                "sys-password": fresh.sys_password,
                **fresh.nats_passwords,
            },
        ),
        secret(
            "jiasao-pii",
            {
                "keys": f"{fresh.pii_key_id}:{fresh.pii_key}",
                "active-key": fresh.pii_key_id,
                "index-key": fresh.pii_index_key,
            },
        ),
        secret(
            "jiasao-jwt",
            {
                "jwt_keys.json": json.dumps(fresh.jwt_keys, indent=2),
                "exchange_keys.json": json.dumps(fresh.exchange_keys, indent=2),
            },
        ),
        # Prometheus sends it as a bearer token (deploy/prometheus/scrape.yaml).
        secret("jiasao-metrics", {"token": fresh.metrics_token}),
    ]
    for name in SERVICES:
        password = fresh.db_passwords[name]
        out.append(
            secret(
                f"jiasao-{name}",
                {
                    "nats-password": fresh.nats_passwords[name],
                    "postgres-password": password,
                    "database-url": (
                        f"postgresql+asyncpg://{name}:{password}@postgres-{name}:5432/{name}"
                    ),
                },
            )
        )
    return out


def compose_env(fresh: FreshSecrets | None = None) -> str:
    """The env file deploy/compose.yaml reads (``--env-file``); single-quoted, so literal."""
    fresh = fresh or FreshSecrets.generate()
    values = {
        "POSTGRES_PASSWORD": fresh.postgres_password,
        "NATS_SYS_PASSWORD": fresh.sys_password,
        "JIASAO_PII_KEYS": f"{fresh.pii_key_id}:{fresh.pii_key}",
        "JIASAO_PII_ACTIVE_KEY": fresh.pii_key_id,
        "JIASAO_PII_INDEX_KEY": fresh.pii_index_key,
        "JIASAO_JWT_KEYS_JSON": json.dumps(fresh.jwt_keys, separators=(",", ":")),
        "JIASAO_EXCHANGE_KEYS_JSON": json.dumps(fresh.exchange_keys, separators=(",", ":")),
        "JIASAO_METRICS_TOKEN": fresh.metrics_token,
    }
    for name in SERVICES:
        values[f"{name.upper()}_DB_PASSWORD"] = fresh.db_passwords[name]
        values[f"{name.upper()}_NATS_PASSWORD"] = fresh.nats_passwords[name]
    lines = [
        "# Secrets for deploy/compose.yaml, generated by `python -m devtools.k8s compose-env`."
    ]
    lines += [f"{key}='{value}'" for key, value in values.items()]
    return "\n".join(lines) + "\n"
