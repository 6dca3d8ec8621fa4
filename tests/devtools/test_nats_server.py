"""devtools.nats.NatsServer against a real nats-server (free ports only: 4222 may be taken)."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest

from devtools.nats import NatsServer, NatsServerError, server_info
from devtools.ports import free_port, port_accepts

STREAM = "DEVTOOLS_TEST"


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture
def server(tmp_path: Path) -> Iterator[NatsServer]:
    srv = NatsServer(store_dir=tmp_path / "store", log_file=tmp_path / "nats.log")
    srv.start()
    yield srv
    srv.cleanup()


async def test_starts_on_a_free_port_with_jetstream(server: NatsServer) -> None:
    assert server.running
    assert server.url == f"nats://127.0.0.1:{server.port}"
    info = server_info(server.host, server.port)
    assert info is not None
    assert info["jetstream"] is True
    nc = await nats.connect(server.url)
    try:
        account = await nc.jetstream().account_info()
        assert account.streams == 0
    finally:
        await nc.close()


async def test_kill_then_restart_keeps_port_and_stream_data(server: NatsServer) -> None:
    nc = await nats.connect(server.url)
    js = nc.jetstream()
    await js.add_stream(name=STREAM, subjects=["devtools.>"])
    for i in range(5):
        ack = await js.publish("devtools.test", f"m{i}".encode(), headers={"Nats-Msg-Id": f"e{i}"})
        assert ack.seq == i + 1
    await nc.close()

    port, old_pid = server.port, server.pid
    assert old_pid is not None
    server.kill()
    assert not server.running
    assert _gone(old_pid)
    assert not port_accepts(server.host, port)

    server.restart()
    assert server.port == port
    assert server.pid not in (None, old_pid)
    nc = await nats.connect(server.url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(STREAM)
        assert info.state.messages == 5
        msg = await js.get_msg(STREAM, 3)
        assert msg.data == b"m2"
        # The duplicate window survived the crash too: the relay's Nats-Msg-Id still dedups.
        again = await js.publish("devtools.test", b"m0", headers={"Nats-Msg-Id": "e0"})
        assert again.duplicate
        assert (await js.stream_info(STREAM)).state.messages == 5
    finally:
        await nc.close()


async def test_graceful_restart_keeps_stream_data(server: NatsServer) -> None:
    nc = await nats.connect(server.url)
    await nc.jetstream().add_stream(name=STREAM, subjects=["devtools.>"])
    await nc.jetstream().publish("devtools.one", b"x")
    await nc.close()
    server.restart()
    nc = await nats.connect(server.url)
    try:
        assert (await nc.jetstream().stream_info(STREAM)).state.messages == 1
    finally:
        await nc.close()


def test_stop_leaves_no_process_and_keeps_the_store(tmp_path: Path) -> None:
    srv = NatsServer(store_dir=tmp_path / "store")
    srv.start()
    pid = srv.pid
    assert pid is not None
    srv.stop()
    assert not srv.running
    assert srv.pid is None
    assert _gone(pid)
    assert not port_accepts(srv.host, srv.port)
    assert (tmp_path / "store" / "jetstream").is_dir()
    srv.stop()  # idempotent


def test_temporary_store_is_removed_on_exit() -> None:
    with NatsServer() as srv:
        store, pid = srv.store_dir, srv.pid
        assert store.is_dir()
        assert pid is not None
    assert _gone(pid)
    assert not store.exists()


def test_busy_port_fails_with_a_clear_message(tmp_path: Path) -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        srv = NatsServer(port, tmp_path / "store")
        with pytest.raises(NatsServerError, match="JIASAO_NATS_PORT"):
            srv.start()
    assert not srv.running


def test_server_that_cannot_start_reports_its_log(tmp_path: Path) -> None:
    srv = NatsServer(store_dir=tmp_path / "store", extra_args=("--no-such-flag",))
    with pytest.raises(NatsServerError, match="exited with code"):
        srv.start()
    assert not srv.running
