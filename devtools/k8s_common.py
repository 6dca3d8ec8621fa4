"""Builders shared by the generated Kubernetes manifests (devtools.k8s)."""

from __future__ import annotations

from typing import Any

PART_OF = "jiasao"
APP_UID = 10001  # the image's user (deploy/Dockerfile)

Manifest = dict[str, Any]


# -- small builders ---------------------------------------------------------------------------


def labels(name: str, component: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": PART_OF,
    }


def selector(name: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": name}


def meta(name: str, component: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "labels": labels(name, component), **extra}


def secret_env(env: str, secret: str, key: str) -> dict[str, Any]:
    return {"name": env, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def restricted_container_security() -> dict[str, Any]:
    """The Pod Security Standard "restricted" profile for a container."""
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }


def pod_security(uid: int) -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": uid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def spread(name: str) -> list[dict[str, Any]]:
    """Replicas on different nodes where possible (never blocks scheduling)."""
    return [
        {
            "maxSkew": 1,
            "topologyKey": "kubernetes.io/hostname",
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": selector(name)},
        }
    ]


def _peer(name: str) -> dict[str, Any]:
    return {"podSelector": {"matchLabels": selector(name)}}


def _monitoring_peer() -> dict[str, Any]:
    """Prometheus, from a namespace labelled ``jiasao.io/monitoring: "true"``."""
    return {"namespaceSelector": {"matchLabels": {"jiasao.io/monitoring": "true"}}}


def _tcp(port: int) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": port}]


def disruption_budget(name: str) -> Manifest:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": meta(name, "availability"),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector(name)}},
    }
