"""A JetStream client that plays an upstream producer in service tests, and reads streams back."""

from __future__ import annotations

from typing import Any

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError

from contracts.catalog import STREAMS, model_for, stream_for
from contracts.envelope import CloudEvent, EventData, envelope_for


class JetStreamPeer:
    """Publishes real envelopes as an upstream producer would, and reads streams back."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._nc: Client | None = None

    async def __aenter__(self) -> JetStreamPeer:
        self._nc = await nats.connect(self.url)
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._nc is not None:
            await self._nc.close()

    @property
    def js(self) -> JetStreamContext:
        assert self._nc is not None
        return self._nc.jetstream()

    async def ensure_stream(self, name: str) -> None:
        # The same settings the kit's Bus uses, so the service's own ensure_stream agrees.
        config = StreamConfig(
            name=name, subjects=STREAMS[name], storage=StorageType.FILE, duplicate_window=120.0
        )
        try:
            await self.js.add_stream(config)
        except BadRequestError:
            await self.js.update_stream(config)

    async def publish(
        self, event: EventData | CloudEvent[Any], *, msg_id: str | None = None
    ) -> CloudEvent[Any]:
        """Publish ``event`` (wrapped in a fresh envelope unless it is one) on its stream."""
        envelope = event if isinstance(event, CloudEvent) else envelope_for(event)
        subject = _subject_of(event, envelope)
        await self.ensure_stream(stream_for(subject))
        await self.js.publish(
            subject,
            envelope.model_dump_json().encode(),
            headers={"Nats-Msg-Id": msg_id or envelope.id},
        )
        return envelope

    async def read(self, stream: str, subject: str) -> list[CloudEvent[Any]]:
        """Every message on ``subject`` in ``stream``, in order (an ephemeral consumer)."""
        sub = await self.js.pull_subscribe(
            subject,
            stream=stream,
            config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, filter_subject=subject),
        )
        try:
            pending = (await sub.consumer_info()).num_pending
            found: list[CloudEvent[Any]] = []
            while len(found) < pending:
                for message in await sub.fetch(pending - len(found), timeout=5):
                    found.append(CloudEvent[Any].model_validate_json(message.data))
                    await message.ack()
            return found
        finally:
            await sub.unsubscribe()


def _subject_of(event: EventData | CloudEvent[Any], envelope: CloudEvent[Any]) -> str:
    return event.subject if isinstance(event, EventData) else model_for(envelope.type).subject
