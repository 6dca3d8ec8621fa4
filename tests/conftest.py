"""Fixtures for every suite: an isolated nats-server, real databases, dev keys in a temp dir."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.nats import NatsServer
from tests.support.databases import backends


@pytest.fixture(scope="session", autouse=True)
def _platform_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point JIASAO_VAR_DIR at a temp dir holding freshly generated development keys."""
    from services.kit.auth import ensure_dev_jwt_keys
    from services.kit.pii import ensure_dev_pii_keys
    from services.kit.signing import ensure_dev_exchange_keys

    var_dir = tmp_path_factory.mktemp("var")
    previous = os.environ.get("JIASAO_VAR_DIR")
    os.environ["JIASAO_VAR_DIR"] = str(var_dir)
    ensure_dev_pii_keys(var_dir)
    ensure_dev_jwt_keys(var_dir)
    ensure_dev_exchange_keys(var_dir)
    yield var_dir
    if previous is None:
        os.environ.pop("JIASAO_VAR_DIR", None)
    else:
        os.environ["JIASAO_VAR_DIR"] = previous


@pytest.fixture
def nats_server() -> Iterator[NatsServer]:
    """A private nats-server with JetStream on a free port and a temporary store."""
    with NatsServer() as server:
        yield server


@pytest.fixture(params=backends())
def backend(request: pytest.FixtureRequest) -> str:
    """Each database test runs on SQLite, and on PostgreSQL when JIASAO_TEST_POSTGRES_URL is set."""
    return request.param  # type: ignore[no-any-return]


#: The longest test files, put first in the collection in the hope that parallel workers
#: (`make test` runs pytest-xdist, files kept whole) start them early. Measured: xdist's
#: loadfile scheduler still ran the schemathesis file last (about 4 of the 16 minutes alone).
LONGEST_FIRST = (
    "tests/openapi/test_schemathesis.py",
    "tests/devtools/test_chaos.py",
    "tests/deploy/test_cluster_chain.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)
