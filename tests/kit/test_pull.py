"""kit.pull against a real nats-server: the first message at once, then what is pending.

Behaviour, not timing: a pull that finds nothing more pending ends with what it has (a
lingering gather would capture the next message for a request nobody waits for), a backlog
comes in batches of the requested size, and nothing is lost or delivered twice between pulls.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import nats
import pytest
from nats.js.api import AckPolicy, ConsumerConfig

from devtools.nats import NatsServer
from services.kit.pull import fetch_pending, pull

STREAM = "PULLTEST"


@pytest.fixture
async def js_sub(nats_server: NatsServer) -> AsyncIterator[tuple[object, object]]:
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await js.add_stream(name=STREAM, subjects=["pulltest.>"])
    await js.add_consumer(
        STREAM, ConsumerConfig(durable_name="c", ack_policy=AckPolicy.EXPLICIT, ack_wait=30)
    )
    sub = await js.pull_subscribe_bind("c", stream=STREAM)
    try:
        yield js, sub
    finally:
        await js.delete_stream(STREAM)
        await nc.close()


async def _publish(js: object, count: int, start: int = 0) -> None:
    for index in range(start, start + count):
        await js.publish("pulltest.x", str(index).encode())  # type: ignore[attr-defined]


async def test_a_backlog_comes_in_batches_of_the_requested_size(
    js_sub: tuple[object, object],
) -> None:
    js, sub = js_sub
    await _publish(js, 25)
    sizes = []
    seen: list[int] = []
    for _ in range(3):
        messages = await pull(sub, 10, timeout=2)  # type: ignore[arg-type]
        sizes.append(len(messages))
        seen += [int(m.data) for m in messages]
        for message in messages:
            await message.ack()
    assert sizes == [10, 10, 5]
    assert seen == list(range(25))


async def test_nothing_pending_returns_what_it_has_and_leaves_no_request_behind(
    js_sub: tuple[object, object],
) -> None:
    js, sub = js_sub
    assert await fetch_pending(sub, 50) == []  # type: ignore[arg-type]
    await _publish(js, 1)
    first = await pull(sub, 50, timeout=2)  # type: ignore[arg-type]
    assert [int(m.data) for m in first] == [0]
    await first[0].ack()
    # A lingering request from the gather would take this message and hold it in the
    # client's queue; with none left, the next pull gets it from the server alone.
    await _publish(js, 1, start=1)
    info = await js.consumer_info(STREAM, "c")  # type: ignore[attr-defined]
    assert info.num_waiting == 0
    second = await pull(sub, 50, timeout=2)  # type: ignore[arg-type]
    assert [int(m.data) for m in second] == [1]


async def test_messages_arriving_one_by_one_are_each_delivered_once(
    js_sub: tuple[object, object],
) -> None:
    js, sub = js_sub
    received: list[int] = []

    async def consume() -> None:
        while len(received) < 40:
            try:
                messages = await pull(sub, 8, timeout=1)  # type: ignore[arg-type]
            except TimeoutError:
                continue
            for message in messages:
                received.append(int(message.data))
                await message.ack()

    consumer = asyncio.create_task(consume())
    for index in range(40):
        await _publish(js, 1, start=index)
        if index % 5 == 0:
            await asyncio.sleep(0.01)
    await asyncio.wait_for(consumer, 20)
    assert received == list(range(40))


async def test_no_answer_within_the_timeout_is_a_timeout(js_sub: tuple[object, object]) -> None:
    _, sub = js_sub
    with pytest.raises(TimeoutError):
        await pull(sub, 10, timeout=0.2)  # type: ignore[arg-type]


async def test_a_lingering_pull_takes_what_arrives_within_its_linger(
    js_sub: tuple[object, object],
) -> None:
    js, sub = js_sub

    async def trickle() -> None:
        for index in range(5):
            await _publish(js, 1, start=index)
            await asyncio.sleep(0.02)

    publisher = asyncio.create_task(trickle())
    messages = await pull(sub, 10, timeout=2, linger=0.5)  # type: ignore[arg-type]
    await publisher
    assert [int(m.data) for m in messages] == [0, 1, 2, 3, 4]


async def test_a_lone_message_costs_one_pull_request_and_a_backlog_two(
    nats_server: NatsServer, js_sub: tuple[object, object]
) -> None:
    """The first message's pending count decides whether to ask for more: none pending, no
    second request (the server would answer "no messages")."""
    js, sub = js_sub
    watcher = await nats.connect(nats_server.url)
    requests: list[bytes] = []

    async def seen(message: object) -> None:
        requests.append(message.data)  # type: ignore[attr-defined]

    await watcher.subscribe(f"$JS.API.CONSUMER.MSG.NEXT.{STREAM}.c", cb=seen)
    await watcher.flush()
    try:
        await _publish(js, 1)
        lone = await pull(sub, 50, timeout=2)  # type: ignore[arg-type]
        await watcher.flush()
        await asyncio.sleep(0.1)
        assert [int(m.data) for m in lone] == [0]
        assert len(requests) == 1
        await lone[0].ack()
        requests.clear()
        await _publish(js, 3, start=1)
        backlog = await pull(sub, 50, timeout=2)  # type: ignore[arg-type]
        await watcher.flush()
        await asyncio.sleep(0.1)
        assert [int(m.data) for m in backlog] == [1, 2, 3]
        assert len(requests) == 2
        assert b"no_wait" in requests[1]
    finally:
        await watcher.close()
