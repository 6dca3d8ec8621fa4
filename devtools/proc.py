"""A child process the supervisor owns: own session, output to a log file, orderly stop.

Each child runs in its own session (so its own process group): Ctrl-C in the terminal reaches
only the supervisor, which then stops the children in order, and a stop signal reaches the
child's own children too. On Linux the child also gets SIGTERM if the thread that started it
dies (``PR_SET_PDEATHSIG``), so even a supervisor killed with SIGKILL leaves no orphans; start
children from a thread that lives as long as they should (normally the main thread).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: best effort only
        pass


def log_tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a log file ('' if it does not exist)."""
    try:
        with path.open("r", encoding="utf-8", errors="replace") as fh:
            return "".join(deque(fh, maxlen=lines))
    except FileNotFoundError:
        return ""


class ManagedProcess:
    """One named child process writing stdout and stderr to ``log_path`` (appended)."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        die_with_parent: bool = True,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.die_with_parent = die_with_parent
        self._proc: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        return f"<ManagedProcess {self.name} pid={self.pid} rc={self.returncode}>"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def returncode(self) -> int | None:
        return self._proc.poll() if self._proc else None

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        if self.alive:
            raise RuntimeError(f"{self.name} is already running (pid {self.pid})")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        preexec: Callable[[], None] | None = None
        if self.die_with_parent and sys.platform.startswith("linux"):
            preexec = _die_with_parent
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
                preexec_fn=preexec,
            )

    def signal(self, sig: int) -> None:
        """Send ``sig`` to the child's whole process group (the child if the group is gone)."""
        if self._proc is None:
            return
        try:
            os.killpg(self._proc.pid, sig)
        except ProcessLookupError:
            with contextlib.suppress(ProcessLookupError):
                self._proc.send_signal(sig)

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait for the child to exit; its return code, or None on timeout."""
        if self._proc is None:
            return None
        try:
            return self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout: float = 10.0, *, term: bool = True) -> int | None:
        """SIGTERM (unless ``term`` is False: already sent), wait up to ``timeout`` s, then
        SIGKILL. Returns the exit code."""
        if self._proc is None:
            return None
        if term and self._proc.poll() is None:
            self.signal(signal.SIGTERM)
        if self.wait(timeout) is None:
            print(f"[devtools] {self.name} did not stop in {timeout:.0f}s; killing it", flush=True)
            self.kill()
        self._reap_group()
        return self._proc.returncode

    def kill(self) -> None:
        """SIGKILL the child's process group and reap the child."""
        if self._proc is None:
            return
        self.signal(signal.SIGKILL)
        self._proc.wait()
        self._reap_group()

    def _reap_group(self) -> None:
        """Kill whatever the child left behind in its process group."""
        if self._proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._proc.pid, signal.SIGKILL)

    def tail(self, lines: int = 40) -> str:
        return log_tail(self.log_path, lines)


def stop_all(processes: Sequence[ManagedProcess], timeout: float = 10.0) -> None:
    """SIGTERM all of ``processes`` at once, give each up to ``timeout`` s, then SIGKILL."""
    for proc in processes:
        if proc.alive:
            proc.signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for proc in processes:
        proc.stop(timeout=max(0.0, deadline - time.monotonic()), term=False)
