"""No plaintext ID-card or phone number in the database files, a PostgreSQL dump, or the logs.

The test registers people and organisations with numbers it knows, exercises the paths that
handle those numbers (lookup, phone change, masked and unmasked reads, a rejected duplicate),
then searches every byte the platform wrote for them. Positive controls (names and masked
forms that *must* be there) prove each search actually sees the data.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import make_url

from devtools.nats import NatsServer
from tests.registry.test_parties_support import (
    OFFICER,
    Registry,
    bearer,
    captured_logs,
    company_body,
    employer_body,
    institution_body,
    mask_id_card,
    mask_mobile,
    new_id_card,
    new_phone,
    partner_body,
    running_registry,
    worker_body,
)


@dataclass
class Secrets:
    numbers: list[str] = field(default_factory=list)
    controls: list[str] = field(default_factory=list)

    def id_card(self) -> str:
        number = new_id_card()
        self.numbers.append(number)
        self.controls.append(mask_id_card(number))
        return number

    def phone(self) -> str:
        number = new_phone()
        self.numbers.append(number)
        self.controls.append(mask_mobile(number))
        return number


def find_pg_dump() -> str:
    found = shutil.which("pg_dump")
    if found:
        return found
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_dump"))
    if not candidates:
        pytest.fail("pg_dump is not installed (looked on PATH and /usr/lib/postgresql/*/bin)")
    return candidates[-1]


def pg_dump(database_url: str) -> bytes:
    url = make_url(database_url).set(drivername="postgresql")
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    libpq = url.set(password=None).render_as_string(hide_password=False)
    result = subprocess.run(
        [find_pg_dump(), "--no-owner", "--dbname", libpq],
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result.stdout


def sqlite_bytes(database_url: str) -> dict[str, bytes]:
    path = Path(make_url(database_url).database or "")
    files = {}
    for suffix in ("", "-wal", "-shm", "-journal"):
        candidate = Path(f"{path}{suffix}")
        if candidate.exists():
            files[candidate.name] = candidate.read_bytes()
    assert path.name in files
    return files


def assert_clean(where: str, blob: bytes, secrets: Secrets) -> None:
    for number in secrets.numbers:
        for form in {number, number.lower()}:
            assert form.encode() not in blob, f"plaintext {form[:3]}… found in {where}"
            assert form.encode("utf-16-le") not in blob, f"UTF-16 {form[:3]}… in {where}"


async def _exercise(registry: Registry, secrets: Secrets) -> None:
    company = await registry.created(
        "/api/v1/companies", company_body(contact={"name": "黄丽", "phone": secrets.phone()})
    )
    await registry.created(
        "/api/v1/institutions", institution_body(contact={"name": "罗敏", "phone": secrets.phone()})
    )
    await registry.created("/api/v1/employers", employer_body(phone=secrets.phone()))
    await registry.created(
        "/api/v1/partners", partner_body(contact={"name": "王芳", "phone": secrets.phone()})
    )
    staff = bearer("company", company["id"])
    workers = []
    for as_ in (OFFICER, staff):
        number = secrets.id_card()
        worker = await registry.created(
            "/api/v1/workers", worker_body(id_card_number=number, phone=secrets.phone()), as_
        )
        workers.append((worker, number))
        # Read back masked and unmasked; look the worker up; try to register them twice.
        await registry.get(f"/api/v1/workers/{worker['id']}", staff if as_ is staff else OFFICER)
        await registry.get(f"/api/v1/workers/{worker['id']}", bearer("worker", worker["id"]))
        found = await registry.post("/api/v1/workers/lookup", {"id_card_number": number}, OFFICER)
        assert found.status_code == 200
        again = await registry.post("/api/v1/workers", worker_body(id_card_number=number), OFFICER)
        assert again.status_code == 409
    # A phone change: both the old and the new number must stay out of storage.
    worker, _ = workers[0]
    path = f"/api/v1/workers/{worker['id']}"
    etag = (await registry.client.get(path, headers=OFFICER)).headers["etag"]
    changed = await registry.client.patch(
        path, json={"phone": secrets.phone()}, headers={**OFFICER, "If-Match": etag}
    )
    assert changed.status_code == 200
    # A rejected number (bad check digit) passes through validation only.
    bad = new_id_card()
    wrong = bad[:17] + ("0" if bad[17] != "0" else "1")
    secrets.numbers.append(wrong)
    rejected = await registry.post("/api/v1/workers", worker_body(id_card_number=wrong), OFFICER)
    assert rejected.status_code == 422
    secrets.controls.append("陈秀英")  # names are stored as they are
    await registry.events()  # outbox rows published (and still in the database)


async def test_no_plaintext_numbers_at_rest_or_in_logs(
    backend: str, tmp_path: Path, nats_server: NatsServer, capfd: pytest.CaptureFixture[str]
) -> None:
    secrets = Secrets()
    async with running_registry(backend, tmp_path, nats_server.url) as registry:
        # After start-up: the app's logging set-up replaces the root handlers.
        with captured_logs() as logs:
            await _exercise(registry, secrets)
        url = registry.database_url
        if backend == "sqlite":
            live = sqlite_bytes(url)
        else:
            live = {"pg_dump": pg_dump(url)}
    # After shutdown too: closing checkpoints SQLite's WAL into the main file.
    after = sqlite_bytes(url) if backend == "sqlite" else {}
    text = logs.getvalue()
    stderr = capfd.readouterr().err

    stores = dict(live)
    if backend == "sqlite":
        stores.update({f"{name} (closed)": blob for name, blob in after.items()})
    everything = b"".join(stores.values())
    for control in secrets.controls:
        assert control.encode() in everything, f"control {control} missing: the search is blind"
    for where, blob in stores.items():
        assert_clean(where, blob, secrets)

    assert '"worker registered"' in text  # the logs were captured
    assert_clean("logs", text.encode(), secrets)
    # The services' own JSON log stream (stderr), as an operator would collect it.
    assert '"worker registered"' in stderr
    assert_clean("stderr", stderr.encode(), secrets)
