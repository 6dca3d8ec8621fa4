"""The container image and the compose file, checked without Docker (no daemon here): the
Dockerfile's invariants, the image's layout and entry point run for real from a copy made the
way the Dockerfile copies, the compose file's wiring, its NATS config served by a real
nats-server, and its PostgreSQL init script run against a real server."""

from __future__ import annotations

import ast
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
import uuid
from pathlib import Path
from typing import Any

import nats
import psycopg
import pytest
import yaml
from nats.errors import Error as NatsError
from nats.js.errors import NotFoundError
from sqlalchemy import make_url

from devtools.deploy_secrets import compose_env
from devtools.k8s import PROJECT_ROOT
from devtools.nats import find_nats_server, server_info
from devtools.ports import free_ports
from services.kit.settings import SERVICE_PORTS, SERVICES
from tests.support.databases import POSTGRES_ENV

DEPLOY = PROJECT_ROOT / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
ENTRYPOINT = DEPLOY / "entrypoint.sh"
COMPOSE = DEPLOY / "compose.yaml"
APPS = ("gateway", *SERVICES)


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def copies() -> list[tuple[str, str]]:
    """(source, destination) of the COPY instructions that take files from the context."""
    out = []
    for keyword, rest in instructions():
        if keyword == "COPY" and not rest.startswith("--from"):
            *sources, destination = rest.split()
            out += [(source, destination) for source in sources]
    return out


# -- the image ----------------------------------------------------------------------------------


def test_dockerfile_is_multi_stage_pinned_and_non_root() -> None:
    steps = instructions()
    args = {rest.split("=", 1)[0]: rest.split("=", 1)[1] for k, rest in steps if k == "ARG"}
    assert re.fullmatch(r"python:3\.11\.\d+-slim-[a-z]+", args["PYTHON_IMAGE"]), "pinned patch"
    stages = [rest for keyword, rest in steps if keyword == "FROM"]
    assert stages == ["${PYTHON_IMAGE} AS build", "${PYTHON_IMAGE} AS runtime"]
    runtime = steps[[k for k, _ in steps].index("FROM", 1) :]
    users = [rest for keyword, rest in runtime if keyword == "USER"]
    assert users and re.fullmatch(r"[1-9]\d*:[1-9]\d*", users[-1]), "a numeric non-root user"
    assert "COPY --from=build /opt/venv /opt/venv" in [f"{k} {r}" for k, r in runtime]
    (entrypoint,) = [json.loads(rest) for keyword, rest in runtime if keyword == "ENTRYPOINT"]
    assert entrypoint == ["/app/entrypoint.sh"]  # exec form: the process is PID 1
    (cmd,) = [json.loads(rest) for keyword, rest in runtime if keyword == "CMD"]
    assert cmd == ["gateway", "serve"]
    assert not [rest for keyword, rest in steps if keyword == "ADD"]
    env = " ".join(rest for keyword, rest in runtime if keyword == "ENV").split()
    for name in APPS:  # reachable from outside the container
        assert f"{name.upper()}_HOST=0.0.0.0" in env, name
    install = next(rest for keyword, rest in steps if keyword == "RUN" and "pip install" in rest)
    assert "--constraint requirements.lock" in install  # the locked versions, nothing newer


def test_every_runtime_dependency_is_pinned_by_the_lock() -> None:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    locked = {
        line.split("==")[0].lower().replace("_", "-")
        for line in (PROJECT_ROOT / "requirements.lock").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    for requirement in project["dependencies"]:
        name = re.split(r"[\[<>=!~ ;]", requirement, maxsplit=1)[0].lower().replace("_", "-")
        assert name in locked, requirement
    runtime = " ".join(project["dependencies"])
    assert "pytest" not in runtime and "schemathesis" not in runtime


def test_the_build_context_allows_exactly_what_the_image_copies() -> None:
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    sources = {source.rstrip("/") for source, _ in copies()}
    assert "*" in ignore  # an allow-list
    assert sources == allowed
    for source in sources:
        assert (PROJECT_ROOT / source).exists(), source


def test_the_runtime_code_imports_nothing_the_image_leaves_out() -> None:
    copied = {Path(s.rstrip("/")).parts[0] for s, _ in copies() if s.endswith("/")}
    left_out = {p.name for p in PROJECT_ROOT.iterdir() if p.is_dir() and p.name not in copied}
    offenders = []
    for package in copied:
        for path in (PROJECT_ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                offenders += [f"{path}: {n}" for n in names if n.split(".")[0] in left_out]
    assert not offenders, offenders


@pytest.fixture(scope="module")
def image_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """/app as the Dockerfile lays it out (its own COPY lines, followed here)."""
    root = tmp_path_factory.mktemp("image")
    for source, destination in copies():
        if not destination.startswith("/app"):
            continue
        target = root / destination.removeprefix("/").removeprefix("app").lstrip("/")
        origin = PROJECT_ROOT / source
        if origin.is_dir():
            shutil.copytree(origin, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, target)
    return root


def run_entrypoint(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    # Bytecode on: the .pyc files it leaves show which copy of the code ran.
    skip = ("JIASAO_", "CREDIT_", "PYTHONDONTWRITEBYTECODE")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
    return subprocess.run(
        [str(root / "entrypoint.sh"), *args],
        cwd=root,
        env={**clean, "PYTHONPATH": str(root), "JIASAO_PYTHON": sys.executable, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_entrypoint_runs_any_process_by_name(image_root: Path, tmp_path: Path) -> None:
    assert os.access(image_root / "entrypoint.sh", os.X_OK)
    database = tmp_path / "credit.db"
    migrated = run_entrypoint(
        image_root,
        "credit",
        "migrate",
        CREDIT_DATABASE_URL=f"sqlite+aiosqlite:///{database}",
        JIASAO_VAR_DIR=str(tmp_path / "var"),
    )
    assert migrated.returncode == 0, migrated.stderr
    import sqlite3

    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone()
    # The migration ran from the image's copy, not from the working tree.
    for package in ("services/credit", "services/kit"):
        assert list((image_root / package / "__pycache__").glob("*.pyc")), package
    for name in APPS:  # each name execs its module, arguments passed through unchanged
        module = "gateway" if name == "gateway" else f"services.{name}"
        echoed = run_entrypoint(image_root, name, "serve", "--port", "9", JIASAO_PYTHON="echo")
        assert echoed.stdout.split() == ["-m", module, "serve", "--port", "9"]
    helped = run_entrypoint(image_root, "gateway", "--help")
    assert helped.returncode == 0 and "python -m gateway" in helped.stdout, helped.stderr
    for bad in ((), ("billing", "serve")):
        refused = run_entrypoint(image_root, *bad)
        assert refused.returncode == 64 and "usage: entrypoint.sh" in refused.stderr


# -- the compose file ---------------------------------------------------------------------------


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def env_file() -> dict[str, str]:
    values = {}
    for line in compose_env().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            assert value.startswith("'") and value.endswith("'") and "'" not in value[1:-1]
            values[key] = value[1:-1]
    return values


def test_compose_wires_the_platform_like_production() -> None:
    services = compose()["services"]
    assert set(services) == {
        "postgres",
        "nats",
        *APPS,
        *(f"{s}-migrate" for s in SERVICES),
    }
    published = {name for name, spec in services.items() if spec.get("ports")}
    assert published == {"gateway"}
    for name in APPS:
        spec = services[name]
        assert spec["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
        context = (DEPLOY / spec["build"]["context"]).resolve()
        assert context / spec["build"]["dockerfile"] == DOCKERFILE
        assert spec["command"] == [name, "serve"]
        assert spec["read_only"] is True and spec["cap_drop"] == ["ALL"]
        env = spec["environment"]
        assert env[f"{name.upper()}_PORT"] == str(SERVICE_PORTS[name])
        assert f"127.0.0.1:{SERVICE_PORTS[name]}/" in " ".join(spec["healthcheck"]["test"])
        if name == "gateway":
            continue
        assert spec["depends_on"][f"{name}-migrate"] == {
            "condition": "service_completed_successfully"
        }
        assert spec["depends_on"]["nats"] == {"condition": "service_healthy"}
        assert env["JIASAO_NATS_USER"] == name
        assert env[f"{name.upper()}_DATABASE_URL"].endswith(f"@postgres:5432/{name}")
        assert env[f"{name.upper()}_DATABASE_URL"].startswith(f"postgresql+asyncpg://{name}:")
        migrate = services[f"{name}-migrate"]
        assert migrate["command"] == [name, "migrate"] and migrate["restart"] == "no"
    for name in ("postgres", "nats"):
        for volume in services[name]["volumes"]:
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (DEPLOY / source).is_file(), source
    # The NATS users are the generated production ones, not a copy.
    assert "./nats/accounts.conf:/etc/nats/accounts.conf:ro" in services["nats"]["volumes"]


def test_every_compose_variable_comes_from_the_env_generator() -> None:
    lines = COMPOSE.read_text(encoding="utf-8").splitlines()
    text = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
    required = set(re.findall(r"\$\{([A-Z0-9_]+)(?::\?[^}]*)?\}", text))
    optional = set(re.findall(r"\$\{([A-Z0-9_]+):-[^}]*\}", text))
    generated = env_file()
    assert required and required <= set(generated), required - set(generated)
    assert optional == {"GATEWAY_PUBLISHED_PORT"}
    keys = json.loads(generated["JIASAO_JWT_KEYS_JSON"])
    assert keys["active"] in keys["keys"]
    assert compose()["secrets"]["jwt_keys"] == {"environment": "JIASAO_JWT_KEYS_JSON"}


async def _connects(url: str, **credentials: str) -> bool:
    """Whether the server accepts these credentials; if it does, JetStream answers the user's
    own stream request (permissions allow it; the stream does not exist yet)."""
    try:
        client = await nats.connect(
            url,
            allow_reconnect=False,
            connect_timeout=2,
            inbox_prefix="_INBOX.credit",
            **credentials,
        )
    except (NatsError, OSError):
        return False
    try:
        with pytest.raises(NotFoundError):
            await client.jetstream(timeout=5).stream_info("CREDIT")
        return client.is_connected
    finally:
        await client.close()


def test_compose_nats_config_serves_the_service_users(tmp_path: Path) -> None:
    values = env_file()
    folder = tmp_path / "etc"
    folder.mkdir()
    text = (DEPLOY / "compose" / "nats.conf").read_text()
    assert text.count("store_dir: /data/jetstream") == 1  # the one line moved for this test
    (folder / "nats.conf").write_text(text.replace("/data/jetstream", str(tmp_path / "js")))
    shutil.copy(DEPLOY / "nats" / "accounts.conf", folder / "accounts.conf")
    port, monitor = free_ports(2)
    env = {k: v for k, v in values.items() if k.endswith("_PASSWORD") and "NATS" in k}
    env |= {"PATH": os.environ.get("PATH", ""), "NATS_SERVER_NAME": "nats-0"}
    argv = [find_nats_server(), "-c", str(folder / "nats.conf"), "-a", "127.0.0.1"]
    argv += ["-p", str(port), "-m", str(monitor)]
    process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while server_info("127.0.0.1", port) is None:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            assert time.monotonic() < deadline
            time.sleep(0.05)
        url = f"nats://127.0.0.1:{port}"
        password = values["CREDIT_NATS_PASSWORD"]
        assert asyncio.run(_connects(url, user="credit", password=password))
        assert not asyncio.run(_connects(url, user="credit", password=password + "x"))
        assert not asyncio.run(_connects(url))  # anonymous
    finally:
        process.terminate()
        process.wait(10)


def test_compose_postgres_init_creates_one_owned_database_per_service() -> None:
    server = os.environ.get(POSTGRES_ENV)
    if not server:
        pytest.skip(f"{POSTGRES_ENV} is not set")
    admin = make_url(server)
    prefix = f"t{uuid.uuid4().hex[:8]}_"
    services = ["registry", "credit"]
    env = {
        **os.environ,
        "POSTGRES_USER": admin.username or "postgres",
        "PGHOST": admin.host or "127.0.0.1",
        "PGPORT": str(admin.port or 5432),
        "JIASAO_DB_PREFIX": prefix,
        "JIASAO_SERVICES": " ".join(services),
        **{f"{s.upper()}_DB_PASSWORD": f"pw-{s}" for s in services},
    }
    if admin.password:
        env["PGPASSWORD"] = admin.password
    admin_url = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        result = subprocess.run(
            ["sh", str(DEPLOY / "compose" / "postgres-init.sh")],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        with psycopg.connect(admin_url) as conn:
            owners = dict(
                conn.execute(
                    "SELECT d.datname, r.rolname FROM pg_database d "
                    "JOIN pg_roles r ON r.oid = d.datdba WHERE d.datname LIKE %s",
                    (f"{prefix}%",),
                ).fetchall()
            )
            assert owners == {f"{prefix}{s}": f"{prefix}{s}" for s in services}
            (public_connect,) = conn.execute(
                "SELECT has_database_privilege('public', %s, 'CONNECT')", (f"{prefix}credit",)
            ).fetchone() or (True,)
            assert public_connect is False
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            for service in services:
                conn.execute(f'DROP DATABASE IF EXISTS "{prefix}{service}" WITH (FORCE)')
                conn.execute(f'DROP ROLE IF EXISTS "{prefix}{service}"')
