"""Stateful parts of the generated manifests: PostgreSQL per service and the NATS cluster."""

from __future__ import annotations

from typing import Any

from devtools.k8s_common import (
    Manifest,
    _monitoring_peer,
    _peer,
    _tcp,
    disruption_budget,
    labels,
    meta,
    pod_security,
    restricted_container_security,
    secret_env,
    selector,
    spread,
)
from services.kit.settings import SERVICES

NATS_IMAGE = "nats:2.10.24-alpine"
POSTGRES_IMAGE = "postgres:15.10-bookworm"
NATS_NODES = 3
POSTGRES_UID = 999  # the postgres user of the Debian-based postgres image


# -- PostgreSQL per service ---------------------------------------------------------------------


def postgres(name: str) -> list[Manifest]:
    """One PostgreSQL 15 per service (StatefulSet + headless Service), its NetworkPolicy, and a
    nightly ``pg_dump`` CronJob into the ``postgres-<service>-backups`` volume, named
    ``<service>-<UTC timestamp>.dump``, 14 days kept."""
    db = f"postgres-{name}"
    secret = f"jiasao-{name}"
    env = [
        {"name": "POSTGRES_DB", "value": name},
        {"name": "POSTGRES_USER", "value": name},
        secret_env("POSTGRES_PASSWORD", secret, "postgres-password"),
        {"name": "PGDATA", "value": "/var/lib/postgresql/data/pgdata"},
    ]
    ready = {"exec": {"command": ["pg_isready", "-U", name, "-d", name, "-h", "127.0.0.1"]}}
    container = {
        "name": "postgres",
        "image": POSTGRES_IMAGE,
        "env": env,
        "ports": [{"name": "postgres", "containerPort": 5432}],
        "readinessProbe": {**ready, "periodSeconds": 5, "timeoutSeconds": 3},
        "livenessProbe": {**ready, "periodSeconds": 15, "timeoutSeconds": 5, "failureThreshold": 6},
        "resources": {
            "requests": {"cpu": "250m", "memory": "512Mi"},
            "limits": {"cpu": "2", "memory": "2Gi"},
        },
        "securityContext": {**restricted_container_security(), "readOnlyRootFilesystem": False},
        "volumeMounts": [
            {"name": "data", "mountPath": "/var/lib/postgresql/data"},
            {"name": "run", "mountPath": "/var/run/postgresql"},
        ],
    }
    statefulset = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": meta(db, "database"),
        "spec": {
            "serviceName": db,
            "replicas": 1,
            "selector": {"matchLabels": selector(db)},
            "template": {
                "metadata": {"labels": labels(db, "database")},
                "spec": {
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "securityContext": pod_security(POSTGRES_UID),
                    "terminationGracePeriodSeconds": 60,
                    "containers": [container],
                    "volumes": [{"name": "run", "emptyDir": {}}],
                },
            },
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data"},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": "10Gi"}},
                    },
                }
            ],
        },
    }
    headless = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(db, "database"),
        "spec": {
            "clusterIP": "None",
            "selector": selector(db),
            "ports": [{"name": "postgres", "port": 5432, "targetPort": 5432}],
        },
    }
    backups_claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": meta(f"{db}-backups", "backup"),
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "20Gi"}},
        },
    }
    backup_labels = labels(f"{db}-backup", "backup")
    dump = (
        "set -eu; "
        f'file="/backups/{name}-$(date -u +%Y%m%dT%H%M%SZ).dump"; '
        f"pg_dump --format=custom --host={db} --username={name} --dbname={name} "
        '--file="$file.part"; '
        'mv "$file.part" "$file"; '
        f"find /backups -name '{name}-*.dump' -mtime +14 -delete; "
        'echo "backup written: $file"'
    )
    backup = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": f"{db}-backup", "labels": backup_labels},
        "spec": {
            "schedule": "17 2 * * *",
            "timeZone": "Asia/Shanghai",
            "concurrencyPolicy": "Forbid",
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "spec": {
                    "backoffLimit": 2,
                    "template": {
                        "metadata": {"labels": backup_labels},
                        "spec": {
                            "restartPolicy": "OnFailure",
                            "automountServiceAccountToken": False,
                            "securityContext": pod_security(POSTGRES_UID),
                            "containers": [
                                {
                                    "name": "pg-dump",
                                    "image": POSTGRES_IMAGE,
                                    "command": ["sh", "-c", dump],
                                    "env": [secret_env("PGPASSWORD", secret, "postgres-password")],
                                    "securityContext": restricted_container_security(),
                                    "resources": {
                                        "requests": {"cpu": "100m", "memory": "128Mi"},
                                        "limits": {"cpu": "1", "memory": "512Mi"},
                                    },
                                    "volumeMounts": [{"name": "backups", "mountPath": "/backups"}],
                                }
                            ],
                            "volumes": [
                                {
                                    "name": "backups",
                                    "persistentVolumeClaim": {"claimName": f"{db}-backups"},
                                }
                            ],
                        },
                    },
                }
            },
        },
    }
    policy = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta(db, "network"),
        "spec": {
            "podSelector": {"matchLabels": selector(db)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {
                    "from": [_peer(name), _peer(f"{name}-migrate"), _peer(f"{db}-backup")],
                    "ports": _tcp(5432),
                }
            ],
            "egress": [],
        },
    }
    backup_policy = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta(f"{db}-backup", "network"),
        "spec": {
            "podSelector": {"matchLabels": selector(f"{db}-backup")},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [],
            "egress": [{"to": [_peer(db)], "ports": _tcp(5432)}],
        },
    }
    return [statefulset, headless, policy, backups_claim, backup, backup_policy]


# -- NATS: a 3-node JetStream cluster -----------------------------------------------------------


def nats() -> list[Manifest]:
    """The StatefulSet nats-0..2 behind the headless Service ``nats`` (routes, as
    deploy/nats/nats-server.conf names them) and the client Service ``nats-client`` (ready
    nodes only). Shaped after the NATS Helm chart: Parallel pod management, the pod name as
    server name, lame-duck mode before stop, /healthz probes, PDB maxUnavailable 1."""
    name = "nats"
    env: list[dict[str, Any]] = [
        {"name": "NATS_SERVER_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        secret_env("NATS_ROUTE_PASSWORD", "jiasao-nats", "route-password"),
        secret_env("NATS_SYS_PASSWORD", "jiasao-nats", "sys-password"),
    ]
    for service_name in SERVICES:
        env.append(secret_env(f"{service_name.upper()}_NATS_PASSWORD", "jiasao-nats", service_name))
    for node in range(NATS_NODES):
        env.append(
            {
                "name": f"NATS_ROUTE_{node}",
                "value": f"nats://route:$(NATS_ROUTE_PASSWORD)@nats-{node}.nats:6222",
            }
        )

    def health(query: str, period: int, threshold: int) -> dict[str, Any]:
        return {
            "httpGet": {"path": f"/healthz{query}", "port": "monitor"},
            "initialDelaySeconds": 10,
            "timeoutSeconds": 5,
            "periodSeconds": period,
            "failureThreshold": threshold,
        }

    container = {
        "name": "nats",
        "image": NATS_IMAGE,
        "args": ["--config", "/etc/nats-config/nats-server.conf"],
        "env": env,
        "ports": [
            {"name": "client", "containerPort": 4222},
            {"name": "cluster", "containerPort": 6222},
            {"name": "monitor", "containerPort": 8222},
        ],
        "startupProbe": health("", 10, 90),
        "readinessProbe": health("?js-server-only=true", 10, 3),
        "livenessProbe": health("?js-enabled-only=true", 30, 3),
        # Lame duck: clients move to the other nodes before this one stops (PID 1 is the server).
        "lifecycle": {"preStop": {"exec": {"command": ["nats-server", "--signal", "ldm=1"]}}},
        "resources": {
            "requests": {"cpu": "500m", "memory": "1Gi"},
            "limits": {"cpu": "2", "memory": "2Gi"},
        },
        "securityContext": restricted_container_security(),
        "volumeMounts": [
            {"name": "config", "mountPath": "/etc/nats-config"},
            {"name": "data", "mountPath": "/data"},
        ],
    }
    statefulset = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": meta(name, "messaging"),
        "spec": {
            "serviceName": name,
            "replicas": NATS_NODES,
            "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": selector(name)},
            "template": {
                "metadata": {"labels": labels(name, "messaging")},
                "spec": {
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "securityContext": pod_security(1000),
                    # At least lame_duck_duration (30 s) + grace period (10 s) + overhead.
                    "terminationGracePeriodSeconds": 60,
                    "topologySpreadConstraints": [
                        {**spread(name)[0], "whenUnsatisfiable": "DoNotSchedule"}
                    ],
                    "containers": [container],
                    "volumes": [{"name": "config", "configMap": {"name": "nats-config"}}],
                },
            },
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data"},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": "50Gi"}},
                    },
                }
            ],
        },
    }
    headless = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(name, "messaging"),
        "spec": {
            "clusterIP": "None",
            "publishNotReadyAddresses": True,
            "selector": selector(name),
            "ports": [
                {"name": "client", "port": 4222, "targetPort": "client"},
                {"name": "cluster", "port": 6222, "targetPort": "cluster"},
                {"name": "monitor", "port": 8222, "targetPort": "monitor"},
            ],
        },
    }
    client = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta("nats-client", "messaging"),
        "spec": {
            "type": "ClusterIP",
            "selector": selector(name),
            "ports": [{"name": "client", "port": 4222, "targetPort": "client"}],
        },
    }
    policy = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta(name, "network"),
        "spec": {
            "podSelector": {"matchLabels": selector(name)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {"from": [_peer(s) for s in SERVICES], "ports": _tcp(4222)},
                {"from": [_peer(name)], "ports": _tcp(6222)},
                {"from": [_monitoring_peer()], "ports": _tcp(8222)},
            ],
            "egress": [{"to": [_peer(name)], "ports": _tcp(6222)}],
        },
    }
    return [statefulset, headless, client, disruption_budget(name), policy]
