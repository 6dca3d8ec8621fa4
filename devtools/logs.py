"""Echo the children's log files to the console, each line prefixed with the process name.

The files keep the services' JSON lines as they are; the console shows them shortened.
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import TextIO

_HIDDEN = frozenset({"time", "level", "service", "logger", "message", "color_message"})


def pretty(line: str) -> str:
    """A JSON log record as ``HH:MM:SS level message key=value...``; other lines unchanged."""
    if not line.startswith("{"):
        return line
    try:
        record = json.loads(line)
    except ValueError:
        return line
    if not isinstance(record, dict) or "message" not in record:
        return line
    clock = str(record.get("time", ""))[11:19]
    extras = " ".join(f"{k}={v}" for k, v in record.items() if k not in _HIDDEN)
    text = f"{clock} {str(record.get('level', '')).upper():<7} {record['message']}"
    return f"{text}  {extras}" if extras else text


class LogFollower:
    """A daemon thread that prints new lines of some log files as ``name | line``."""

    def __init__(self, out: TextIO | None = None, interval: float = 0.2) -> None:
        self._files: dict[str, Path] = {}
        self._offsets: dict[str, int] = {}
        self._out = out or sys.stdout
        self._interval = interval
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._width = 8

    def follow(self, name: str, path: Path) -> None:
        with self._lock:
            self._files[name] = path
            self._offsets.setdefault(name, 0)
            self._width = max(self._width, len(name))

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="log-follower", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
        self.poll()  # the last lines, e.g. what a child said while stopping

    def _run(self) -> None:
        while not self._stopped.wait(self._interval):
            self.poll()

    def poll(self) -> None:
        with self._lock:
            for name, path in self._files.items():
                self._echo(name, path)

    def _echo(self, name: str, path: Path) -> None:
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return
        offset = self._offsets[name]
        if size < offset:  # truncated: start over
            offset = 0
        if size == offset:
            return
        with path.open("rb") as fh:
            fh.seek(offset)
            data = fh.read(size - offset)
        complete = data.rfind(b"\n") + 1
        self._offsets[name] = offset + complete
        if not complete:
            return
        lines = data[:complete].decode("utf-8", errors="replace").splitlines()
        prefix = f"{name:<{self._width}} | "
        self._out.write("".join(prefix + pretty(line) + "\n" for line in lines))
        self._out.flush()
