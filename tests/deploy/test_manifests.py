"""The Kubernetes manifests: generated files up to date, both overlays rendered by kustomize
(``kubectl kustomize``, which the machine image ships), every rendered object valid against the
Kubernetes 1.30 schema in strict mode (``kubernetes-validate``, schemas shipped in the wheel),
and the platform's rules (probes, resources, non-root, NetworkPolicies, R3 NATS) hold."""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from functools import cache
from typing import Any

import kubernetes_validate.utils as kv
import pytest
import yaml

from devtools.deploy_secrets import secret_manifests
from devtools.k8s import BASE_DIR, GATEWAY, NATS_DIR, PROJECT_ROOT, manifest_files
from services.kit.settings import SERVICE_PORTS, SERVICES

OVERLAYS = PROJECT_ROOT / "deploy" / "k8s" / "overlays"
KUBERNETES_VERSION = "1.30.0"
APPS = (GATEWAY, *SERVICES)

Doc = dict[str, Any]


def kubectl() -> str:
    found = shutil.which("kubectl")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("kubectl (with its built-in kustomize) is part of the machine image")
        pytest.skip("kubectl is not installed: cannot render the overlays")
    return found


@cache
def render(overlay: str) -> tuple[Doc, ...]:
    out = subprocess.run(
        [kubectl(), "kustomize", str(OVERLAYS / overlay)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    return tuple(doc for doc in yaml.safe_load_all(out) if doc)


def find(docs: tuple[Doc, ...], kind: str, name: str | None = None) -> list[Doc]:
    return [
        d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)
    ]


def one(docs: tuple[Doc, ...], kind: str, name: str) -> Doc:
    found = find(docs, kind, name)
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def containers(doc: Doc) -> list[Doc]:
    spec = doc["spec"]
    if doc["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return list(spec["template"]["spec"]["containers"])


def walk(value: Any) -> Iterator[Doc]:
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


# -- generated, rendered, valid ---------------------------------------------------------------


def test_generated_manifests_are_up_to_date() -> None:
    for path, content in manifest_files().items():
        assert path.is_file(), f"{path} is missing: run python -m devtools.k8s manifests"
        assert path.read_text(encoding="utf-8") == content, (
            f"{path.relative_to(PROJECT_ROOT)} is out of date: run python -m devtools.k8s manifests"
        )
    listed = yaml.safe_load((BASE_DIR / "kustomization.yaml").read_text())["resources"]
    generated = {p.name for p in manifest_files() if p.parent == BASE_DIR}
    assert generated <= set(listed), "every generated base file is in the kustomization"


@pytest.mark.parametrize("overlay", ["small", "province"])
def test_every_rendered_object_is_valid_kubernetes(overlay: str) -> None:
    docs = render(overlay)
    assert len(docs) > 60
    errors = []
    for doc in docs:
        try:
            kv.validate(doc, KUBERNETES_VERSION, strict=True)
        except kv.ValidationError as exc:
            errors.append(f"{doc['kind']}/{doc['metadata']['name']}: {exc.message}")
    assert not errors, "\n".join(errors)
    assert {d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"} == {"jiasao"}


def test_the_validation_rejects_what_kubernetes_would() -> None:
    deployment = one(render("small"), "Deployment", "credit")
    typo = copy.deepcopy(deployment)
    typo["spec"]["replica"] = typo["spec"].pop("replicas")  # unknown field (strict)
    wrong_type = copy.deepcopy(deployment)
    wrong_type["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "http"
    for bad in (typo, wrong_type):
        with pytest.raises(kv.ValidationError):
            kv.validate(bad, KUBERNETES_VERSION, strict=True)


def test_the_secrets_generator_satisfies_every_reference() -> None:
    secrets = {s["metadata"]["name"]: s for s in secret_manifests("jiasao")}
    for secret in secrets.values():
        kv.validate(secret, KUBERNETES_VERSION, strict=True)
    referenced: set[tuple[str, str]] = set()
    for doc in render("province"):
        for node in walk(doc):
            if "secretKeyRef" in node:
                referenced.add((node["secretKeyRef"]["name"], node["secretKeyRef"]["key"]))
            if "secretName" in node:
                referenced.add((node["secretName"], "jwt_keys.json"))
    assert referenced, "the manifests reference their secrets"
    for name, key in sorted(referenced):
        assert name in secrets and key in secrets[name]["stringData"], f"{name}/{key}"
    # The NATS server and each service must agree on the service's password.
    for service in SERVICES:
        nats_side = secrets["jiasao-nats"]["stringData"][service]
        assert secrets[f"jiasao-{service}"]["stringData"]["nats-password"] == nats_side
        url = secrets[f"jiasao-{service}"]["stringData"]["database-url"]
        password = secrets[f"jiasao-{service}"]["stringData"]["postgres-password"]
        assert url == f"postgresql+asyncpg://{service}:{password}@postgres-{service}:5432/{service}"


# -- the platform's rules ---------------------------------------------------------------------


def test_each_process_runs_as_a_probed_limited_non_root_deployment() -> None:
    docs = render("province")
    for name in APPS:
        deployment = one(docs, "Deployment", name)
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["image"] == "jiasao:0.1.0"
        assert container["args"] == [name, "serve"]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["ports"] == [{"name": "http", "containerPort": SERVICE_PORTS[name]}]
        assert set(container["resources"]) == {"requests", "limits"}
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
        assert pod["automountServiceAccountToken"] is False
        env = {e["name"]: e for e in container["env"]}
        assert env[f"{name.upper()}_HOST"]["value"] == "0.0.0.0"
        one(docs, "Service", name)
        hpa = one(docs, "HorizontalPodAutoscaler", name)
        assert hpa["spec"]["scaleTargetRef"]["name"] == name
        one(docs, "PodDisruptionBudget", name)
        if name == GATEWAY:
            continue
        assert env["JIASAO_NATS_USER"]["value"] == name
        assert env[f"{name.upper()}_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
            "name": f"jiasao-{name}",
            "key": "database-url",
        }
        job = one(docs, "Job", f"{name}-migrate")
        assert containers(job)[0]["args"] == [name, "migrate"]
        database = one(docs, "StatefulSet", f"postgres-{name}")
        assert database["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]
        backup = one(docs, "CronJob", f"postgres-{name}-backup")
        assert f"--dbname={name}" in containers(backup)[0]["command"][-1]


def test_overlays_size_the_platform() -> None:
    for overlay, replicas, low, high, storage in (
        ("small", 1, 1, 2, "5Gi"),
        ("province", 3, 3, 12, "100Gi"),
    ):
        docs = render(overlay)
        for name in APPS:
            assert one(docs, "Deployment", name)["spec"]["replicas"] == replicas
            hpa = one(docs, "HorizontalPodAutoscaler", name)["spec"]
            assert (hpa["minReplicas"], hpa["maxReplicas"]) == (low, high)
        for service in SERVICES:
            claim = one(docs, "StatefulSet", f"postgres-{service}")["spec"]["volumeClaimTemplates"]
            assert claim[0]["spec"]["resources"]["requests"]["storage"] == storage
        assert one(docs, "StatefulSet", "nats")["spec"]["replicas"] == 3


def _policy(docs: tuple[Doc, ...], name: str) -> Doc:
    return one(docs, "NetworkPolicy", name)["spec"]


def _peers(rules: list[Doc]) -> set[tuple[str, int]]:
    """(pod name or '*monitoring' or '*anywhere', port) pairs a rule list opens."""
    out = set()
    for rule in rules:
        ports = [p["port"] for p in rule["ports"]]
        peers = rule.get("from", rule.get("to"))
        names = ["*anywhere"] if peers is None else []
        for peer in peers or []:
            if "podSelector" in peer and "namespaceSelector" not in peer:
                names.append(peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"])
            elif peer.get("namespaceSelector", {}).get("matchLabels") == {
                "jiasao.io/monitoring": "true"
            }:
                names.append("*monitoring")
            else:
                names.append("*other")
        out |= {(name, port) for name in names for port in ports}
    return out


def test_network_policies_open_only_what_each_part_needs() -> None:
    docs = render("small")
    deny = _policy(docs, "default-deny")
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    # Only the gateway is reachable from outside; only it has an ingress without a source.
    for doc in find(docs, "NetworkPolicy"):
        open_to_all = any("from" not in rule for rule in doc["spec"].get("ingress", []))
        assert open_to_all == (doc["metadata"]["name"] == GATEWAY), doc["metadata"]["name"]
    gateway = _policy(docs, GATEWAY)
    assert _peers(gateway["egress"]) == {(s, SERVICE_PORTS[s]) for s in SERVICES}
    registry_port = SERVICE_PORTS["registry"]
    for service in SERVICES:
        policy = _policy(docs, service)
        expected = {("nats", 4222), (f"postgres-{service}", 5432)}
        if service != "registry":
            expected.add(("registry", registry_port))  # its JWKS
        assert _peers(policy["egress"]) == expected, service
        callers = {peer for peer, _ in _peers(policy["ingress"])}
        assert GATEWAY in callers and "*monitoring" in callers and "*anywhere" not in callers
        database = _policy(docs, f"postgres-{service}")
        assert _peers(database["ingress"]) == {
            (service, 5432),
            (f"{service}-migrate", 5432),
            (f"postgres-{service}-backup", 5432),
        }
        assert database["egress"] == []
        others = {s for s in SERVICES if s != service}
        assert not any(f"postgres-{o}" == p for o in others for p, _ in _peers(policy["egress"]))
    nats = _policy(docs, "nats")
    assert _peers(nats["ingress"]) == {
        *((s, 4222) for s in SERVICES),
        ("nats", 6222),
        ("*monitoring", 8222),
    }


def test_nats_is_a_three_node_jetstream_cluster_built_from_deploy_nats() -> None:
    docs = render("province")
    statefulset = one(docs, "StatefulSet", "nats")
    spec = statefulset["spec"]
    assert spec["replicas"] == 3 and spec["serviceName"] == "nats"
    assert spec["podManagementPolicy"] == "Parallel"
    headless = one(docs, "Service", "nats")["spec"]
    assert headless["clusterIP"] == "None" and headless["publishNotReadyAddresses"] is True
    (container,) = spec["template"]["spec"]["containers"]
    assert container["args"] == ["--config", "/etc/nats-config/nats-server.conf"]
    assert container["lifecycle"]["preStop"]["exec"]["command"][:2] == ["nats-server", "--signal"]
    # The ConfigMap is the checked-in config and the generated accounts, byte for byte.
    config_name = spec["template"]["spec"]["volumes"][0]["configMap"]["name"]
    config = one(docs, "ConfigMap", config_name)["data"]
    for file in ("nats-server.conf", "accounts.conf"):
        assert config[file] == (NATS_DIR / file).read_text(encoding="utf-8")
    # Every $VARIABLE the server config uses is in the container's environment (a quoted
    # "$JS.API..." is a subject, not a variable).
    unquoted_variable = re.compile(r'(?<!")\$([A-Z][A-Z0-9_]*)')
    used = set(unquoted_variable.findall(config["nats-server.conf"]))
    used |= set(unquoted_variable.findall(config["accounts.conf"]))
    given = {e["name"] for e in container["env"]}
    assert used and used <= given, used - given
    platform = one(docs, "ConfigMap", "jiasao-platform")["data"]
    assert platform["JIASAO_STREAM_REPLICAS"] == "3"
    assert platform["JIASAO_NATS_URL"] == "nats://nats-client:4222"
    assert one(docs, "PodDisruptionBudget", "nats")["spec"]["maxUnavailable"] == 1
