"""Issue 6: a partner generates a Python client from the gateway's ``/openapi.json`` with
openapi-python-client and it works: no generator warning, every operation and schema present,
and a partner flow (admin registers the partner and its OAuth client, the partner takes a
client-credentials token and lists candidates) runs on it, a 422 included."""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from devtools.run import Platform
from services.kit.idnumbers import CREDIT_CODE_CHARSET, make_credit_code, make_id_card
from tests.openapi.generated_client import generate, imported, module, warnings_in
from tests.openapi.platform_api import fetch_document, token

pytestmark = pytest.mark.e2e

OPERATION_METHODS = ("get", "put", "post", "delete", "patch")


@pytest.fixture(scope="module")
def document(contract_platform: Platform) -> dict[str, Any]:
    return fetch_document(contract_platform)


@pytest.fixture(scope="module")
def generated(
    document: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> tuple[int, str, Path]:
    out_dir = tmp_path_factory.mktemp("generated-client")
    path = out_dir / "openapi.json"
    path.write_text(json.dumps(document, ensure_ascii=False))
    status, output = generate(path, out_dir)
    return status, output, out_dir


@pytest.fixture(scope="module")
def client_package(generated: tuple[int, str, Path]) -> Iterator[ModuleType]:
    status, output, out_dir = generated
    assert status == 0, output
    with imported(out_dir) as package:
        yield package


def test_the_generator_has_no_warning(generated: tuple[int, str, Path]) -> None:
    status, output, _ = generated
    assert status == 0, output
    assert warnings_in(output) == [], output


def test_every_operation_and_schema_is_in_the_client(
    document: dict[str, Any], client_package: ModuleType
) -> None:
    from openapi_python_client.strings import ClassName, PythonIdentifier  # the generator's own

    missing: list[str] = []
    for path, item in document["paths"].items():
        for method in OPERATION_METHODS & item.keys():
            operation = item[method]
            tag = PythonIdentifier(operation["tags"][0], prefix="tag")
            name = PythonIdentifier(operation["operationId"], prefix="")
            try:
                endpoint = module(client_package, f"api.{tag}.{name}")
            except ModuleNotFoundError:
                missing.append(f"{method.upper()} {path} (api.{tag}.{name})")
                continue
            if not callable(getattr(endpoint, "sync_detailed", None)):
                missing.append(f"{method.upper()} {path}: no sync_detailed")
    models = module(client_package, "models")
    for schema in document.get("components", {}).get("schemas", {}):
        if not hasattr(models, ClassName(schema, prefix="")):
            missing.append(f"schema {schema}")
    assert missing == []


def partner_flow_bodies(models: ModuleType) -> tuple[Any, Any, Any]:
    suffix = "".join(secrets.choice("0123456789") for _ in range(8))
    partner = models.PartnerCreate.from_dict(
        {
            "name": "深圳市好帮手人力资源有限公司",
            "credit_code": make_credit_code(
                "91441200" + "".join(secrets.choice(CREDIT_CODE_CHARSET) for _ in range(9))
            ),
            "city": "shenzhen",
            "kind": "recruitment_platform",
            "contact": {"name": "王芳", "phone": "137" + suffix},
            "webhook_url": "https://hr.example.cn/jiasao/events",
        }
    )
    oauth_client = models.ClientCreate.from_dict(
        {"name": "candidate search", "scopes": ["candidates:read"]}
    )
    worker = models.WorkerCreate.from_dict(
        {
            "name": "黄美玲",
            "id_card_number": make_id_card("441202", date(1986, 3, 9), suffix[:3]),
            "phone": "139" + suffix,
            "county": "gaoyao",
            "tracks": ["maternal_infant"],
        }
    )
    return partner, oauth_client, worker


def test_a_partner_flow_runs_on_the_generated_client(
    contract_platform: Platform, client_package: ModuleType
) -> None:
    models = module(client_package, "models")
    api = {
        name: module(client_package, f"api.{name}")
        for name in (
            "organisations.register_partner",
            "partners.create_client",
            "auth.client_credentials_token",
            "workers.register_worker",
            "candidates.list_candidates",
        )
    }
    base_url = contract_platform.gateway_url
    # Undocumented statuses raise instead of coming back as None.
    admin = client_package.AuthenticatedClient(
        base_url=base_url, token=token(contract_platform, "admin"), raise_on_unexpected_status=True
    )
    partner_body, oauth_client_body, worker_body = partner_flow_bodies(models)

    registered = api["organisations.register_partner"].sync_detailed(
        client=admin, body=partner_body
    )
    assert registered.status_code == 201, registered.content
    assert isinstance(registered.parsed, models.PartnerOut)
    created = api["partners.create_client"].sync_detailed(
        registered.parsed.id, client=admin, body=oauth_client_body
    )
    assert created.status_code == 201, created.content
    assert isinstance(created.parsed, models.ClientCreated)

    basic = base64.b64encode(
        f"{created.parsed.client_id}:{created.parsed.client_secret}".encode()
    ).decode()
    anonymous = client_package.Client(
        base_url=base_url,
        headers={"Authorization": f"Basic {basic}"},
        raise_on_unexpected_status=True,
    )
    granted = api["auth.client_credentials_token"].sync_detailed(
        client=anonymous,
        body=models.ClientCredentialsTokenBody.from_dict({"grant_type": "client_credentials"}),
    )
    assert granted.status_code == 200, granted.content
    assert isinstance(granted.parsed, models.ClientToken)
    assert granted.parsed.scope.split() == ["candidates:read"]

    officer = client_package.AuthenticatedClient(
        base_url=base_url,
        token=token(contract_platform, "officer"),
        raise_on_unexpected_status=True,
    )
    worker = api["workers.register_worker"].sync_detailed(client=officer, body=worker_body)
    assert worker.status_code == 201, worker.content
    worker_id = worker.parsed.id

    partner = client_package.AuthenticatedClient(
        base_url=base_url, token=granted.parsed.access_token, raise_on_unexpected_status=True
    )
    list_candidates = api["candidates.list_candidates"]
    track = models.ListCandidatesTrack("maternal_infant")
    # The candidate arrives through WorkerRegistered on NATS: wait for matching to have it.
    deadline = time.monotonic() + 30
    while True:
        page = list_candidates.sync_detailed(client=partner, track=track, limit=200)
        assert page.status_code == 200, page.content
        assert isinstance(page.parsed, models.PageCandidateListItem)
        if any(item.worker_id == worker_id for item in page.parsed.items):
            break
        assert time.monotonic() < deadline, "the registered worker never became a candidate"
        time.sleep(0.2)

    # A read the platform refuses with 422 comes back as the problem model, not an exception.
    refused = list_candidates.sync_detailed(client=partner, track=track, min_stars=9)
    assert refused.status_code == 422, refused.content
    assert isinstance(refused.parsed, models.Problem), refused.parsed
    assert refused.parsed.status == 422
    assert [error.to_dict().get("field") for error in refused.parsed.errors] == ["min_stars"], (
        refused.content
    )
