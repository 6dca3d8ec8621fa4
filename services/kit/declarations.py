"""What a service declares to the kit, read without building it: its event subscriptions
(durable consumers) and its read models.

``create_app`` of ``services.<name>.app`` is called with ``create_service_app`` replaced by a
stand-in that captures its arguments and stops the call, so no app, database, NATS connection
or key is touched. The NATS permission generator (devtools.nats_auth) and the operator
commands (services.kit.cli) both read consumers this way.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from services.kit.read_models import ReadModel
from services.kit.subscriptions import Subscription


@dataclass(frozen=True)
class Declarations:
    subscriptions: tuple[Subscription, ...]
    read_models: tuple[ReadModel, ...]


class _Captured(Exception):  # a control-flow signal, not an error
    def __init__(self, declarations: Declarations) -> None:
        super().__init__()
        self.declarations = declarations


def declared(service: str) -> Declarations:
    """The subscriptions and read models ``services.<service>.app.create_app`` passes on."""
    module = importlib.import_module(f"services.{service}.app")
    real = module.create_service_app

    def capture(
        name: str,
        *,
        subscriptions: Sequence[Subscription] = (),
        read_models: Sequence[ReadModel] = (),
        **_: Any,
    ) -> NoReturn:
        raise _Captured(Declarations(tuple(subscriptions), tuple(read_models)))

    module.create_service_app = capture
    try:
        module.create_app()
    except _Captured as captured:
        return captured.declarations
    finally:
        module.create_service_app = real
    raise RuntimeError(f"services.{service}.app.create_app did not call create_service_app")
