"""``python -m services.registry create-admin``: the first admin, without a built-in password."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import make_url

from devtools.nats import NatsServer
from tests.registry.test_identity_support import (
    auth,
    new_phone,
    registry_on,
)
from tests.support.databases import service_database

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _cli(database_url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    # JIASAO_VAR_DIR (the PII keys) is inherited from the test session's environment.
    env = {**os.environ, "REGISTRY_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "services.registry", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        timeout=120,
        check=False,
    )


async def test_create_admin_prints_a_password_that_logs_in(
    backend: str, tmp_path: Path, nats_server: NatsServer
) -> None:
    phone = new_phone()
    with service_database("registry", backend, tmp_path) as url:
        result = _cli(url, "create-admin", "--phone", phone, "--name", "系统管理员")
        assert result.returncode == 0, result.stderr
        password = result.stdout.strip()
        assert result.stdout == password + "\n"  # the password alone, once
        assert len(password) >= 20
        assert phone not in result.stderr and f"{phone[:3]}****{phone[7:]}" in result.stderr

        again = _cli(url, "create-admin", "--phone", phone)
        assert again.returncode == 1
        assert "already belongs to an admin" in again.stderr
        assert again.stdout == ""

        async with registry_on(url, nats_server.url) as registry:
            response = await registry.login(phone, password)
            assert response.status_code == 200, response.text
            tokens = response.json()
            assert tokens["role"] == "admin" and tokens["party_id"] is None
            me = (await registry.me(tokens["access_token"])).json()
            assert me["display_name"] == "系统管理员" and me["phone"] == phone
            # The new admin can do admin things: create an officer.
            created = await registry.create_account("officer", as_=auth(tokens["access_token"]))
            assert created["role"] == "officer"


async def test_create_admin_reads_the_password_from_stdin(
    backend: str, tmp_path: Path, nats_server: NatsServer
) -> None:
    phone = new_phone()
    with service_database("registry", backend, tmp_path) as url:
        weak = _cli(url, "create-admin", "--phone", phone, "--password-stdin", stdin="1234567890\n")
        assert weak.returncode == 2 and "password: must not be all digits" in weak.stderr
        chosen = "my own admin passphrase"
        result = _cli(
            url, "create-admin", "--phone", phone, "--password-stdin", stdin=chosen + "\n"
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout == ""  # nothing to show: the operator chose it
        async with registry_on(url, nats_server.url) as registry:
            assert (await registry.login(phone, chosen)).status_code == 200


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--phone", "12345"], "--phone: must be 11 digits"),
        (["--phone", "13912345678", "--name", " padded "], "--name"),
    ],
)
def test_create_admin_rejects_bad_arguments(tmp_path: Path, args: list[str], message: str) -> None:
    result = _cli(f"sqlite+aiosqlite:///{tmp_path / 'r.db'}", "create-admin", *args)
    assert result.returncode == 2
    assert message in result.stderr


def test_create_admin_asks_for_migrations_first(backend: str, tmp_path: Path) -> None:
    missing_file = _cli(
        f"sqlite+aiosqlite:///{tmp_path / 'absent.db'}", "create-admin", "--phone", new_phone()
    )
    assert missing_file.returncode == 2
    assert "python -m services.registry migrate" in missing_file.stderr
    assert not (tmp_path / "absent.db").exists()
    with service_database("registry", backend, tmp_path, migrate=False) as url:
        if backend == "sqlite":
            database = make_url(url).database
            assert database is not None
            Path(database).touch()  # exists, but holds no tables
        empty = _cli(url, "create-admin", "--phone", new_phone())
        assert empty.returncode == 2
        assert "migrate" in empty.stderr and "Traceback" not in empty.stderr
