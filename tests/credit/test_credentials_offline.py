"""The offline verifier as a third party runs it: a separate process with no network at all
(its own empty network namespace where the machine allows, and every socket call refused),
given only files — a card's credential as issued by the service, the status lists and the DID
document (or just the issuer's key) published at the time."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from services.credit.credentials import statuslist
from services.credit.numbers import local_date
from tests.credit.credit_support import Credit, officer
from tests.credit.test_credentials_cards import BASE, Scenario, registered
from tests.support.apps import eventually

#: Runs the verifier with sockets refused, and fails if it pulled in the service's stack.
OFFLINE = """
import runpy, socket, sys
def refuse(*args, **kwargs):
    raise OSError("no network for the offline verifier")
for name in ("connect", "connect_ex", "sendto"):
    setattr(socket.socket, name, refuse)
socket.getaddrinfo = socket.create_connection = refuse
sys.argv = ["verify_offline", *sys.argv[1:]]
try:
    runpy.run_module("services.credit.credentials.verify_offline", run_name="__main__")
finally:
    service_stack = {"sqlalchemy", "fastapi", "nats", "httpx"}
    loaded = sorted({m.split(".")[0] for m in sys.modules} & service_stack)
    if loaded:
        print("loaded", loaded, file=sys.stderr)
        sys.exit(3)
"""


@cache
def no_network_prefix() -> tuple[str, ...]:
    """``unshare -n`` (a network namespace with nothing in it) when this machine permits it."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], check=False).returncode == 0:
        return (unshare, "-n")
    return ()


def run_offline(tmp: Path, *args: str) -> tuple[int, dict[str, Any] | None, str]:
    done = subprocess.run(
        [*no_network_prefix(), sys.executable, "-c", OFFLINE, *args],
        cwd=tmp,
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
    )
    out = json.loads(done.stdout) if done.stdout.strip().startswith("{") else None
    return done.returncode, out, done.stderr


def write(tmp: Path, name: str, document: Any) -> str:
    (tmp / name).write_text(json.dumps(document, ensure_ascii=False), "utf-8")
    return name


async def test_offline_verifier_process_checks_issued_card_credentials(
    credit: Credit, tmp_path: Path
) -> None:
    today = local_date(datetime.now(UTC))
    scenario = Scenario(credit, uuid.uuid4())
    await credit.peer.publish(
        registered(scenario.worker_id, uuid.uuid4(), today + timedelta(days=400))
    )
    await eventually(scenario.facts)
    await credit.issue(scenario.worker_id)
    card = await scenario.becomes("active", "green")
    credential = (
        await credit.client.get(f"/api/v1/cards/{card['id']}/credential", headers=scenario.holder)
    ).json()
    did = await scenario.document(f"{BASE}/.well-known/did.json")
    write(tmp_path, "card.json", credential)
    write(tmp_path, "did.json", did)

    async def download_lists() -> list[str]:
        """What the verifier fetched while it was online: the lists as published now."""
        args = []
        for entry in credential["credentialStatus"]:
            document = await scenario.document(entry["statusListCredential"])
            args += ["--status-list", write(tmp_path, f"{entry['statusPurpose']}.json", document)]
        return args

    lists = await download_lists()
    code, out, err = run_offline(tmp_path, "card.json", "--issuer", "did.json", *lists)
    assert (code, err) == (0, "") and out is not None
    assert out == {
        "valid": True,
        "authentic": True,
        "revoked": False,
        "suspended": False,
        "problems": [],
    }
    # Only the issuer's key, as printed or noted down: the same verdict.
    key = did["verificationMethod"][0]["publicKeyMultibase"]
    code, out, _ = run_offline(tmp_path, "card.json", "--issuer-key", key, *lists)
    assert code == 0 and out is not None and out["valid"]

    # One changed byte in the credential: not authentic.
    text = (tmp_path / "card.json").read_text("utf-8")
    number = credential["credentialSubject"]["cardNumber"]
    forged = number[:-1] + ("0" if number[-1] != "0" else "1")
    (tmp_path / "forged.json").write_text(text.replace(number, forged), "utf-8")
    code, out, _ = run_offline(tmp_path, "forged.json", "--issuer", "did.json", *lists)
    assert code == 1 and out is not None and not out["authentic"]
    assert any("signature" in problem for problem in out["problems"])
    # Another key than the issuer's: not authentic, lists refused too.
    other = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
    code, out, _ = run_offline(tmp_path, "card.json", "--issuer-key", other, *lists)
    assert code == 1 and out is not None and not out["authentic"]
    # A status list whose bit was set by someone else than the issuer: status unknown.
    suspension = json.loads((tmp_path / "suspension.json").read_text("utf-8"))
    index = int(credential["credentialStatus"][1]["statusListIndex"])
    suspension["credentialSubject"]["encodedList"] = statuslist.encode([index])
    write(tmp_path, "suspension-forged.json", suspension)
    code, out, _ = run_offline(
        tmp_path,
        "card.json",
        "--issuer",
        "did.json",
        "--status-list",
        "revocation.json",
        "--status-list",
        "suspension-forged.json",
    )
    assert code == 1 and out is not None and out["suspended"] is None

    # The officer suspends the card: the newly downloaded list has the bit set.
    base = f"/api/v1/cards/{card['id']}"
    suspended = await credit.client.post(
        f"{base}/suspend", json={"reason": "under investigation"}, headers=officer()
    )
    assert suspended.status_code == 200, suspended.text
    lists = await download_lists()
    code, out, _ = run_offline(tmp_path, "card.json", "--issuer", "did.json", *lists)
    assert code == 1 and out is not None
    assert (out["authentic"], out["revoked"], out["suspended"]) == (True, False, True)
    reinstated = await credit.client.post(
        f"{base}/reinstate", json={"reason": "cleared"}, headers=officer()
    )
    assert reinstated.status_code == 200, reinstated.text
    lists = await download_lists()
    assert run_offline(tmp_path, "card.json", "--issuer", "did.json", *lists)[0] == 0
    # Revoked: the revocation bit.
    revoked = await credit.client.post(f"{base}/revoke", json={"reason": "left"}, headers=officer())
    assert revoked.status_code == 200, revoked.text
    lists = await download_lists()
    code, out, _ = run_offline(tmp_path, "card.json", "--issuer", "did.json", *lists)
    assert code == 1 and out is not None
    assert (out["authentic"], out["revoked"]) == (True, True)
    # Past validUntil, whatever the lists say: expired.
    after = datetime.fromisoformat(credential["validUntil"].replace("Z", "+00:00"))
    late = (after + timedelta(days=1)).isoformat()
    code, out, _ = run_offline(tmp_path, "card.json", "--issuer", "did.json", "--at", late)
    assert code == 1 and out is not None and any("expired" in p for p in out["problems"])

    # Input it cannot use: exit 2 with a message, never a traceback.
    for args in (
        ("missing.json", "--issuer", "did.json"),
        ("card.json", "--issuer-key", "not-a-key"),
        ("card.json", "--issuer", "did.json", "--at", "2026-01-01T00:00:00"),
    ):
        code, out, err = run_offline(tmp_path, *args)
        assert code == 2 and out is None and err.startswith("error:"), (args, err)
    # A status entry of the wrong shape: not valid, said so.
    broken = {**credential, "credentialStatus": ["not an object"]}
    code, out, _ = run_offline(
        tmp_path, write(tmp_path, "broken.json", broken), "--issuer", "did.json"
    )
    assert code == 1 and out is not None and out["problems"]
