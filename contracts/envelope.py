"""CloudEvents 1.0 envelope used for every Jiasao event.

Every event payload is a subclass of :class:`EventData`, which names its versioned CloudEvents
``type``, its NATS subject and the producing service. The envelope adds the CloudEvents attributes
plus ``traceparent`` (W3C trace context) so a trace survives the hop through JetStream.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, TypeVar

import uuid_utils
from pydantic import BaseModel, ConfigDict, Field

SPEC_VERSION = "1.0"


class EventData(BaseModel):
    """Base for event payloads. Subclasses set the three class variables."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Versioned CloudEvents type, e.g. ``jiasao.training.enrollment.completed.v1``.
    event_type: ClassVar[str]
    #: NATS subject ``<service>.<aggregate>.<past-tense-verb>``.
    subject: ClassVar[str]
    #: The producing service, which is also the JetStream stream's subject prefix.
    producer: ClassVar[str]

    def aggregate_id(self) -> str:
        """The id of the aggregate the event is about; becomes the CloudEvents ``subject``."""
        raise NotImplementedError


DataT = TypeVar("DataT")


def new_event_id() -> str:
    """Time-ordered UUIDv7, so event ids sort by creation time."""
    return str(uuid_utils.uuid7())


class CloudEvent(BaseModel, Generic[DataT]):
    """CloudEvents 1.0 structured-mode envelope (JSON)."""

    model_config = ConfigDict(extra="forbid")

    specversion: str = Field(default=SPEC_VERSION, pattern=r"^1\.0$")
    id: str = Field(min_length=1)
    source: str = Field(
        min_length=1, description="URI-reference of the producer, /jiasao/<service>"
    )
    type: str = Field(min_length=1, description="Versioned event type")
    subject: str = Field(min_length=1, description="Id of the aggregate the event is about")
    time: datetime
    datacontenttype: str = "application/json"
    traceparent: str | None = Field(default=None, description="W3C trace context of the cause")
    data: DataT


def envelope_for(data: EventData, *, traceparent: str | None = None) -> CloudEvent[Any]:
    """Wrap a payload in a fresh envelope."""
    return CloudEvent[Any](
        id=new_event_id(),
        source=f"/jiasao/{data.producer}",
        type=data.event_type,
        subject=data.aggregate_id(),
        time=datetime.now(UTC),
        traceparent=traceparent,
        data=data.model_dump(mode="json"),
    )
