"""Import jobs: their life cycle, and the runtime that runs them as background tasks.

Life cycle: ``queued`` (spooled, waiting for a free slot) → ``running`` → ``done`` (every row
has an outcome; invalid ones are in the report) | ``failed`` (the file as a whole could not be
read past some line: bad header, broken CSV, not UTF-8; rows before it were stored) |
``interrupted`` (the process stopped or died while the job was queued or running).

A runner keeps the heartbeat of its jobs fresh. At start, and every ``heartbeat_seconds``
afterwards, jobs whose runner is gone are marked ``interrupted``: at once when the runner was
a process on this host that no longer exists (or this very process before a restart), else
once the heartbeat is older than ``stale_after_seconds``. Recovery is to submit the file again:
the import is idempotent, so rows stored before the interruption come back ``unchanged``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select, update

from services.kit.app import ServiceContext
from services.kit.db import Database
from services.kit.pii import PiiCipher
from services.kit.principal import Principal
from services.kit.types import utcnow
from services.registry.exchange.formats import FileProblem, Format, Kind
from services.registry.exchange.importer import Importer
from services.registry.exchange.models import ImportJob
from services.registry.exchange.report import Counts
from services.registry.exchange.settings import ExchangeSettings


class ImportStopped(Exception):
    """The registry is stopping: end the job after the batch just committed."""


log = logging.getLogger(__name__)

ACTIVE = ("queued", "running")
_HOST = socket.gethostname()[:60]
FINAL = ("done", "failed", "interrupted")


def runner_id() -> str:
    return f"{_HOST}:{os.getpid()}:{secrets.token_hex(4)}"


def discard(path: Path) -> None:
    """Delete a spool file if it is there (a quick syscall, fine on the event loop)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def runner_is_gone(runner: str | None, me: str, *, at_start: bool = False) -> bool:
    """True when ``runner`` was a process on this host that no longer exists, or (``at_start``)
    an earlier incarnation of this process (a container restarted with the same pid)."""
    if not runner or runner == me:
        return False
    rest, sep, _token = runner.rpartition(":")
    host, sep2, pid = rest.rpartition(":")
    if not sep or not sep2 or host != _HOST or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return at_start
    return not _pid_alive(int(pid))


async def create_job(
    db: Database,
    *,
    job_id: uuid.UUID,
    kind: Kind,
    fmt: Format,
    size: int,
    actor: Principal,
    runner: str | None,
) -> ImportJob:
    now = utcnow()
    job = ImportJob(
        id=job_id,
        kind=kind,
        format=fmt,
        status="queued",
        submitted_by=actor.subject[:64],
        submitted_role=actor.role,
        size_bytes=size,
        total=0,
        created=0,
        unchanged=0,
        conflict=0,
        duplicate=0,
        invalid=0,
        runner=runner,
        heartbeat_at=now,
        created_at=now,
    )
    async with db.write() as session:
        session.add(job)
    return job


async def get_job(db: Database, job_id: uuid.UUID) -> ImportJob | None:
    async with db.read() as session:
        return await session.get(ImportJob, job_id)


async def _set(db: Database, job_id: uuid.UUID, *, only_active: bool = True, **values: Any) -> None:
    async with db.write() as session:
        query = update(ImportJob).where(ImportJob.id == job_id)
        if only_active:
            query = query.where(ImportJob.status.in_(ACTIVE))
        await session.execute(query.values(**values))


async def run_job(
    db: Database,
    cipher: PiiCipher,
    job_id: uuid.UUID,
    path: Path,
    *,
    kind: Kind,
    fmt: Format,
    actor: Principal | None,
    batch_size: int = 500,
    stop: asyncio.Event | None = None,
) -> str:
    """Run a queued job to its end; returns the final status. The caller deletes the file.

    ``stop`` ends the job between batches (status interrupted). Stopping that way, rather
    than cancelling the task, never interrupts a transaction halfway: a cancelled SQLite
    statement can leave its connection holding the write lock.
    """
    now = utcnow()
    await _set(db, job_id, status="running", started_at=now, heartbeat_at=now)

    async def between_batches(_: Counts) -> None:
        if stop is not None and stop.is_set():
            raise ImportStopped

    importer = Importer(
        db,
        cipher,
        job_id=job_id,
        kind=kind,
        fmt=fmt,
        actor=actor,
        batch_size=batch_size,
        on_batch=between_batches,
    )
    status, error = "done", None
    try:
        counts = await importer.run(path)
    except ImportStopped:
        status = "interrupted"
        error = "the registry stopped during the import; submit the file again to finish it"
        counts = importer.counts
    except FileProblem as problem:
        status, error = "failed", str(problem)
        counts = importer.counts
    except asyncio.CancelledError:
        await _set(
            db,
            job_id,
            status="interrupted",
            finished_at=utcnow(),
            error="the registry stopped during the import; submit the file again to finish it",
        )
        raise
    except Exception as exc:
        log.exception("import failed", extra={"job_id": str(job_id)})
        status, error = "failed", f"internal error ({type(exc).__name__}); submit the file again"
        counts = importer.counts
    await _set(db, job_id, status=status, error=error, finished_at=utcnow())
    log.info(
        "import finished",
        extra={
            "job_id": str(job_id),
            "kind": kind,
            "status": status,
            "actor": actor.subject if actor else None,
            **{f"rows_{name}": value for name, value in counts.as_dict().items()},
        },
    )
    return status


async def interrupt_abandoned(
    db: Database, me: str, stale_after: float, *, at_start: bool = False
) -> int:
    """Mark jobs whose runner is gone as interrupted; returns how many."""
    now = utcnow()
    async with db.read() as session:
        rows = (
            await session.execute(
                select(ImportJob.id, ImportJob.runner, ImportJob.heartbeat_at).where(
                    ImportJob.status.in_(ACTIVE)
                )
            )
        ).all()
    cutoff = now - timedelta(seconds=stale_after)
    abandoned = [
        job_id
        for job_id, runner, heartbeat in rows
        if runner != me
        and (
            runner_is_gone(runner, me, at_start=at_start) or heartbeat is None or heartbeat < cutoff
        )
    ]
    if not abandoned:
        return 0
    async with db.write() as session:
        await session.execute(
            update(ImportJob)
            .where(ImportJob.id.in_(abandoned), ImportJob.status.in_(ACTIVE))
            .values(
                status="interrupted",
                finished_at=now,
                error="the process running the import stopped; submit the file again to finish it",
            )
        )
    log.warning("interrupted abandoned imports", extra={"jobs": [str(j) for j in abandoned]})
    return len(abandoned)


class ExchangeRuntime:
    """Spool directory, background import tasks, heartbeats. Lives in ``ctx.extras``."""

    def __init__(self, settings: ExchangeSettings | None = None) -> None:
        self.settings = settings or ExchangeSettings()
        self.runner = runner_id()
        self.spool_dir: Path | None = None
        self._ctx: ServiceContext | None = None
        self._tasks: dict[uuid.UUID, asyncio.Task[str]] = {}
        self._slots = asyncio.Semaphore(self.settings.concurrency)
        self._keeper: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    @property
    def ctx(self) -> ServiceContext:
        assert self._ctx is not None, "the exchange runtime is not started"
        return self._ctx

    def install(self, app: FastAPI) -> None:
        """Stop running imports (marking them interrupted) before the service's database
        closes: wraps the app's lifespan, whose startup calls :meth:`start`."""
        inner = app.router.lifespan_context

        @asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[Any]:
            async with inner(app) as state:
                try:
                    yield state
                finally:
                    await self.stop()

        app.router.lifespan_context = lifespan

    async def start(self, ctx: ServiceContext) -> None:
        self._ctx = ctx
        ctx.extras["exchange"] = self
        self.spool_dir = self._make_spool_dir(ctx)
        self._clean_spool()
        await interrupt_abandoned(
            ctx.db, self.runner, self.settings.stale_after_seconds, at_start=True
        )
        self._keeper = asyncio.create_task(self._keep(), name="import-heartbeat")

    def _make_spool_dir(self, ctx: ServiceContext) -> Path:
        """``<var>/registry/imports`` (private: spooled files hold plaintext ID numbers)."""
        candidates = [self.settings.spool_dir or ctx.platform.var_dir / "registry" / "imports"]
        candidates.append(Path(tempfile.gettempdir()) / f"jiasao-registry-imports-{os.getuid()}")
        for path in candidates:
            try:
                path.mkdir(parents=True, exist_ok=True, mode=0o700)
                path.chmod(0o700)
                return path.resolve()
            except OSError as exc:
                log.warning("cannot use spool dir", extra={"dir": str(path), "error": repr(exc)})
        raise RuntimeError("no usable spool directory for imports")

    def _clean_spool(self) -> None:
        """Files left by a process that died mid-import; their jobs get marked interrupted."""
        assert self.spool_dir is not None
        for leftover in self.spool_dir.glob("*.upload"):
            pid = leftover.name.split(".")[1] if leftover.name.count(".") >= 2 else ""
            if pid.isdigit() and int(pid) != os.getpid() and _pid_alive(int(pid)):
                continue  # another live process on this host (same spool dir) owns it
            discard(leftover)

    def spool_path(self, job_id: uuid.UUID) -> Path:
        assert self.spool_dir is not None
        return self.spool_dir / f"{job_id}.{os.getpid()}.upload"

    def submit(
        self,
        job_id: uuid.UUID,
        path: Path,
        *,
        kind: Kind,
        fmt: Format,
        actor: Principal,
    ) -> None:
        task = asyncio.create_task(
            self._run(job_id, path, kind=kind, fmt=fmt, actor=actor), name=f"import-{job_id}"
        )
        self._tasks[job_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(job_id, None))

    async def _run(
        self, job_id: uuid.UUID, path: Path, *, kind: Kind, fmt: Format, actor: Principal
    ) -> str:
        try:
            async with self._slots:
                return await run_job(
                    self.ctx.db,
                    self.ctx.extras["pii"],
                    job_id,
                    path,
                    kind=kind,
                    fmt=fmt,
                    actor=actor,
                    batch_size=self.settings.batch_size,
                    stop=self._stopping,
                )
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await _set(
                    self.ctx.db,
                    job_id,
                    status="interrupted",
                    finished_at=utcnow(),
                    error="the registry stopped before the import ran; submit the file again",
                )
            raise
        finally:
            discard(path)

    async def wait(self, job_id: uuid.UUID) -> None:
        """Until the job's task (in this process) ends; for tests and the benchmark."""
        task = self._tasks.get(job_id)
        if task is not None:
            await asyncio.wait({task})

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(self.settings.heartbeat_seconds)
            try:
                if self._tasks:
                    async with self.ctx.db.write() as session:
                        await session.execute(
                            update(ImportJob)
                            .where(ImportJob.id.in_(list(self._tasks)))
                            .where(ImportJob.status.in_(ACTIVE))
                            .values(heartbeat_at=utcnow())
                        )
                await interrupt_abandoned(
                    self.ctx.db, self.runner, self.settings.stale_after_seconds
                )
            except Exception as exc:
                log.warning("import heartbeat failed", extra={"error": repr(exc)})

    async def stop(self) -> None:
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper
        tasks = list(self._tasks.values())
        self._stopping.set()  # running jobs end after their current batch
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=10)
            for task in late:  # last resort: a batch that takes more than 10 s
                task.cancel()
            if late:
                await asyncio.wait(late, timeout=5)
