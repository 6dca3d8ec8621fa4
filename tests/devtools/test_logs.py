"""devtools.logs: console echo of the children's log files."""

from __future__ import annotations

import io
import json
from pathlib import Path

from devtools.logs import LogFollower, pretty


def test_pretty_shortens_json_records_and_keeps_other_lines() -> None:
    record = {
        "time": "2026-01-02T03:04:05.678+00:00",
        "level": "warning",
        "service": "credit",
        "logger": "services.kit.bus",
        "message": "disconnected",
        "request_id": "r1",
    }
    assert pretty(json.dumps(record)) == "03:04:05 WARNING disconnected  request_id=r1"
    assert pretty("[123] nats says hi") == "[123] nats says hi"
    assert pretty("{not json") == "{not json"
    assert pretty('{"no_message": 1}') == '{"no_message": 1}'


def test_follower_prints_complete_lines_once_with_the_name(tmp_path: Path) -> None:
    out = io.StringIO()
    log = tmp_path / "a.log"
    follower = LogFollower(out)
    follower.follow("registry", log)
    follower.poll()  # no file yet
    log.write_text("one\ntw")
    follower.poll()
    assert out.getvalue() == "registry | one\n"
    with log.open("a") as fh:
        fh.write("o\n")
    follower.poll()
    follower.poll()
    assert out.getvalue() == "registry | one\nregistry | two\n"
    log.write_text("new\n")  # truncated and rewritten
    follower.poll()
    assert out.getvalue().endswith("registry | new\n")
