"""The NATS connection of one process: connects in the background, reconnects forever.

A service starts even while NATS is down (its ``/readyz`` says 503 until connected); events
wait in the outbox meanwhile. ``generation`` grows on every (re)connect so pull consumers know
to re-bind.

With a NATS user (``JIASAO_NATS_USER`` / ``JIASAO_NATS_PASSWORD``, one per service) the server
lets a service manage only its own stream, so streams of other producers are looked up, never
created or changed. Replies arrive on ``_INBOX.<name>.>``, the only inbox its user may read.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence

import nats
from nats.aio.client import Client
from nats.errors import MaxPayloadError
from nats.js import JetStreamContext
from nats.js.api import PubAck, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from services.kit.settings import PlatformSettings

log = logging.getLogger(__name__)

#: How long JetStream remembers a Nats-Msg-Id to drop a republished duplicate.
DUPLICATE_WINDOW_S = 120.0


class StreamMissing(LookupError):
    """Another service's stream does not exist yet (its producer creates it)."""

    def __str__(self) -> str:
        return f"stream {self.args[0]} does not exist yet; its producing service creates it"


class Bus:
    def __init__(
        self,
        url: str,
        *,
        name: str,
        streams: Mapping[str, Sequence[str]] = (),  # type: ignore[assignment]
        replicas: int = 1,
        timeout: float = 5.0,
        user: str | None = None,
        password: str | None = None,
    ) -> None:
        if user is None:  # not given: this process's own credentials from the environment
            platform = PlatformSettings()
            user = platform.nats_user
            if platform.nats_password is not None:
                password = platform.nats_password.get_secret_value()
        self.url = url
        self.name = name
        self.user = user
        self._password = password
        self.streams = dict(streams)
        self.replicas = replicas
        self.timeout = timeout
        self.generation = 0
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    @property
    def servers(self) -> list[str]:
        """``url`` as the client's server list: a cluster is given as comma-separated URLs
        (``nats://a:4222,nats://b:4222``), so a process starting while one node is down
        connects to another."""
        return [part.strip() for part in self.url.split(",") if part.strip()]

    @property
    def is_connected(self) -> bool:
        return self._nc is not None and self._nc.is_connected and self._ready.is_set()

    @property
    def js(self) -> JetStreamContext:
        if self._js is None:
            raise ConnectionError("NATS is not connected yet")
        return self._js

    async def start(self) -> None:
        self._task = asyncio.create_task(self._connect_forever(), name=f"bus-connect-{self.name}")

    async def wait_connected(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self._ready.wait(), timeout)

    async def _connect_forever(self) -> None:
        delay = 0.2
        while not self._closing:
            try:
                self._nc = await nats.connect(
                    self.servers,
                    name=self.name,
                    user=self.user,
                    password=self._password,
                    inbox_prefix=f"_INBOX.{self.name}",
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=1,
                    connect_timeout=2,
                    disconnected_cb=self._on_disconnected,
                    reconnected_cb=self._on_reconnected,
                    error_cb=self._on_error,
                )
                self._js = self._nc.jetstream(timeout=self.timeout)
                await self._provision()
                self.generation += 1
                self._ready.set()
                log.info("connected to NATS", extra={"url": self.url})
                return
            except Exception as exc:
                if self._nc is not None:
                    await self._close_quietly()
                log.warning("NATS not reachable, retrying", extra={"error": repr(exc)})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _provision(self) -> None:
        for stream, subjects in self.streams.items():
            await self.ensure_stream(stream, list(subjects))

    async def ensure_stream(self, name: str, subjects: list[str]) -> None:
        """Create our own stream, or bring its config to ours; safe when many processes race.

        Another producer's stream is only checked: it is created here only without a NATS user
        (tests, where no producer may run); with one, a missing stream raises
        :class:`StreamMissing` so the consumer retries until its producer has created it.
        """
        if name not in self.streams:
            try:
                await self.js.stream_info(name)
                return
            except NotFoundError:
                if self.user is not None:
                    raise StreamMissing(name) from None
        config = StreamConfig(
            name=name,
            subjects=subjects,
            storage=StorageType.FILE,
            num_replicas=self.replicas,
            duplicate_window=DUPLICATE_WINDOW_S,
        )
        try:
            await self.js.add_stream(config)
        except BadRequestError:
            await self.js.update_stream(config)

    async def _on_disconnected(self) -> None:
        self._ready.clear()
        log.warning("disconnected from NATS")

    async def _on_reconnected(self) -> None:
        try:
            await self._provision()
        except Exception as exc:  # the server may still be recovering JetStream
            log.warning("re-provisioning after reconnect failed", extra={"error": repr(exc)})
        self.generation += 1
        self._ready.set()
        log.info("reconnected to NATS")

    async def _on_error(self, exc: Exception) -> None:
        log.debug("NATS client error", extra={"error": repr(exc)})

    async def publish(
        self, subject: str, payload: bytes, *, msg_id: str, headers: dict[str, str] | None = None
    ) -> PubAck:
        """Publish to JetStream and wait for the ack; the msg id makes a retry a no-op."""
        if not self.is_connected:
            raise ConnectionError("NATS is not connected")
        headers = {**(headers or {}), "Nats-Msg-Id": msg_id}
        return await self.js.publish(subject, payload, timeout=self.timeout, headers=headers)

    async def publish_batch(
        self, messages: Sequence[tuple[str, bytes, str]]
    ) -> list[PubAck | Exception]:
        """Publish ``(subject, payload, msg_id)`` messages pipelined, then await their acks.

        The messages leave in the order given (one connection keeps it); the result for each is
        its ack or the exception that refused it. A message over the server's max_payload is
        refused before sending (the client would otherwise keep its ack slot forever).
        """
        if not self.is_connected or self._nc is None:
            raise ConnectionError("NATS is not connected")
        limit = self._nc.max_payload
        results: list[PubAck | Exception | None] = [None] * len(messages)
        futures: dict[int, asyncio.Future[PubAck]] = {}
        for index, (subject, payload, msg_id) in enumerate(messages):
            # Headers count against max_payload too; 256 bytes covers Nats-Msg-Id and framing.
            if len(payload) + len(msg_id) + 256 > limit:
                results[index] = MaxPayloadError(f"{len(payload)} bytes > max_payload {limit}")
                continue
            futures[index] = await self.js.publish_async(
                subject, payload, headers={"Nats-Msg-Id": msg_id}
            )
        if futures:
            _, pending = await asyncio.wait(futures.values(), timeout=self.timeout)
            for future in pending:
                future.cancel()  # frees its slot in the client's pending-acks window
        for index, future in futures.items():
            if future.cancelled():
                results[index] = TimeoutError("no publish ack in time")
            elif future.exception() is not None:
                results[index] = future.exception()  # type: ignore[assignment]
            else:
                results[index] = future.result()
        return [result for result in results if result is not None]

    async def close(self) -> None:
        self._closing = True
        if self._task is not None and not self._task.done():
            self._task.cancel()
        if self._nc is not None and not self._nc.is_closed:
            try:
                await asyncio.wait_for(self._nc.drain(), 5)
            except Exception:
                await self._close_quietly()
        self._ready.clear()

    async def _close_quietly(self) -> None:
        try:
            if self._nc is not None:
                await self._nc.close()
        except Exception:
            pass
