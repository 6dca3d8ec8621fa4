"""No plaintext ID-card or phone number anywhere under var/ — databases with their WAL files,
logs, the JetStream store — after workers are created with and without Idempotency-Key,
replayed, refused and read back."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path

import httpx
import pytest

from devtools.run import Platform
from services.kit.idnumbers import make_id_card
from tests.e2e.test_chain import poll, token_headers

pytestmark = pytest.mark.e2e


def files_containing(root: Path, needles: list[bytes]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in root.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            hits = [n.decode() for n in needles if n in content]
            if hits:
                found[str(path.relative_to(root))] = hits
    return found


def test_no_plaintext_personal_numbers_under_var(
    platform_factory: Callable[[Path], Platform], tmp_path: Path
) -> None:
    var_dir = tmp_path / "var"
    platform = platform_factory(var_dir)
    officer = token_headers(platform, "officer")
    people = [
        (make_id_card("441202", date(1980 + n, 3, 9), f"{n:03d}"), f"1390000{n:04d}")
        for n in range(1, 5)
    ]
    with httpx.Client(base_url=platform.gateway_url, timeout=10, headers=officer) as api:
        ids = []
        for n, (id_card, phone) in enumerate(people):
            body = {
                "name": f"测试{n}",
                "id_card_number": id_card,
                "phone": phone,
                "county": "duanzhou",
                "tracks": ["elderly_care"],
            }
            headers = {"Idempotency-Key": f"pii-{uuid.uuid4()}"} if n % 2 else {}
            created = api.post("/api/v1/workers", json=body, headers=headers)
            assert created.status_code == 201, created.text
            ids.append(created.json()["id"])
            if headers:  # the replay comes from the stored (sealed) answer
                replay = api.post("/api/v1/workers", json=body, headers=headers)
                assert replay.headers.get("idempotent-replayed") == "true"
                assert replay.json() == created.json()
            # A duplicate is refused; the refusal must not log the number either.
            duplicate = api.post("/api/v1/workers", json=body)
            assert duplicate.status_code in (409, 422), duplicate.text
        for worker_id in ids:
            assert api.get(f"/api/v1/workers/{worker_id}").status_code == 200

        # The registration events went through JetStream and reached the other services.
        def known_everywhere() -> bool:
            response = api.post(
                "/api/v1/enrollments",
                json={"course_id": str(uuid.uuid4()), "worker_id": ids[-1]},
            )
            return "unknown-worker" not in response.text

        poll(known_everywhere)
    platform.stop()

    needles = [id_card.encode() for id_card, _ in people] + [p.encode() for _, p in people]
    assert any(var_dir.rglob("*.db")), "no database files: the test looked in the wrong place"
    assert any((var_dir / "nats").rglob("*")), "no JetStream store found"
    assert files_containing(var_dir, needles) == {}
