"""kit.logging: JSON lines, and no access log when the server was told not to write one."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import uvicorn

from services.kit.logging import configure_logging

LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


@pytest.fixture(autouse=True)
def _restore_loggers() -> Iterator[None]:
    saved = {
        name: (logging.getLogger(name).propagate, logging.getLogger(name).handlers[:])
        for name in ("", *LOGGERS)
    }
    level = logging.getLogger().level
    yield
    for name, (propagate, handlers) in saved.items():
        logging.getLogger(name).propagate = propagate
        logging.getLogger(name).handlers[:] = handlers
    logging.getLogger().setLevel(level)


def _server_config(access_log: bool) -> None:
    """What ``uvicorn.run(..., log_config=None, access_log=...)`` does to the loggers before
    it calls the app factory (which configures the kit's logging)."""
    uvicorn.Config("services.training.app:create_app", log_config=None, access_log=access_log)


def test_the_app_factory_does_not_switch_the_access_log_back_on() -> None:
    _server_config(access_log=False)
    configure_logging("training")
    assert not logging.getLogger("uvicorn.access").hasHandlers()
    # uvicorn's own start-up and error lines still reach the JSON handler.
    assert logging.getLogger("uvicorn.error").hasHandlers()


def test_an_access_log_asked_for_is_written_as_json() -> None:
    # As in a fresh process (servers started by earlier tests of this one turned it off).
    logging.getLogger("uvicorn.access").propagate = True
    _server_config(access_log=True)
    configure_logging("training")
    access = logging.getLogger("uvicorn.access")
    assert access.hasHandlers()
    assert not access.handlers  # through the root's JSON handler, not one of its own
