"""Operator commands of every service (``python -m services.<name> …``, see services.kit.cli):

- ``dead-letters list [--include-replayed] [--limit N]``
- ``dead-letters replay --id ID [--id ID …] | --all``
- ``rebuild <read-model> [--timeout S] [--nats-wait S]`` (services.kit.read_models)
- ``lag``: the outbox backlog and every durable consumer's numbers on JetStream
- ``rotate-keys``: the registry rotates its token signing key (services.registry.identity.cli);
  no other service holds a key of its own (module ``rotate_keys_elsewhere``)

They use the service's own settings (``<SERVICE>_DATABASE_URL``, ``JIASAO_NATS_URL`` and its
NATS user), so they run wherever the service runs (``kubectl exec deploy/credit -- python -m
services.credit lag``), and read what the service declares without starting it
(services.kit.declarations). Exit status: 0 done, 1 something failed (said on stderr).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TextIO

from sqlalchemy.exc import NoSuchTableError

from services.kit import operations
from services.kit.bus import Bus
from services.kit.db import Database
from services.kit.declarations import Declarations, declared
from services.kit.inbox import ConsumerRunner
from services.kit.read_models import RebuildError, count_rows, find, rebuild
from services.kit.settings import PlatformSettings, ServiceSettings, service_settings

EXIT_FAILED = 1
NATS_WAIT_S = 10.0
#: A rebuild whose NATS requests time out is tried again, this many seconds apart, until
#: ``--nats-wait`` seconds have passed since the first attempt. After a cluster node dies, an
#: idle durable consumer whose leader was on it stays leaderless (its requests time out) for
#: ~20 s on a quiet machine and longer on a loaded one.
REBUILD_RETRY_PAUSE = 2.0
REBUILD_NATS_WAIT_S = 120.0


@dataclass
class Operator:
    service: str
    settings: ServiceSettings
    platform: PlatformSettings
    db: Database
    declarations: Declarations
    out: TextIO
    err: TextIO

    def bus(self) -> Bus:
        password = self.platform.nats_password
        return Bus(
            self.platform.nats_url,
            name=self.service,
            replicas=self.platform.stream_replicas,
            timeout=self.platform.nats_timeout,
            user=self.platform.nats_user,
            password=password.get_secret_value() if password is not None else None,
        )

    def runners(self, bus: Bus | None = None) -> dict[str, ConsumerRunner]:
        return {
            s.name: ConsumerRunner(
                s,
                self.db,
                bus or self.bus(),
                max_deliver=self.settings.max_deliver,
                ack_wait=self.settings.ack_wait,
            )
            for s in self.declarations.subscriptions
        }


@asynccontextmanager
async def operator(
    service: str, out: TextIO | None = None, err: TextIO | None = None
) -> AsyncIterator[Operator]:
    out, err = out or sys.stdout, err or sys.stderr
    platform = PlatformSettings()
    settings = service_settings(service, platform)
    db = Database(settings.database_url)
    try:
        yield Operator(service, settings, platform, db, declared(service), out, err)
    finally:
        await db.dispose()


@asynccontextmanager
async def connected(op: Operator) -> AsyncIterator[Bus]:
    bus = op.bus()
    await bus.start()
    try:
        await bus.wait_connected(NATS_WAIT_S)
        yield bus
    finally:
        await bus.close()


def table(header: Sequence[str], rows: Sequence[Sequence[object]], out: TextIO) -> None:
    """Columns padded to their widest cell; the last column is not padded."""
    cells = [[str(c) for c in header], *([str(c) for c in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header) - 1)]
    for row in cells:
        padded = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*padded, row[-1]]).rstrip(), file=out)


# -- dead letters ---------------------------------------------------------------------------


async def dead_letters_list(op: Operator, *, include_replayed: bool, limit: int) -> int:
    rows = await operations.list_dead_letters(op.db, include_replayed=include_replayed, limit=limit)
    if not rows:
        print(f"{op.service}: no dead letters", file=op.out)
        return 0
    table(
        ("id", "consumer", "event", "attempts", "failed at", "replayed at", "error"),
        [
            (
                row["id"],
                row["consumer"],
                row["event_type"] or row["subject"],
                row["attempts"],
                f"{row['failed_at']:%Y-%m-%d %H:%M:%S}",
                f"{row['replayed_at']:%Y-%m-%d %H:%M:%S}" if row["replayed_at"] else "-",
                " ".join(str(row["error"]).split())[:120],
            )
            for row in rows
        ],
        op.out,
    )
    return 0


async def dead_letters_replay(op: Operator, ids: Sequence[str], *, replay_all: bool) -> int:
    if replay_all:
        ids = [str(row["id"]) for row in await operations.list_dead_letters(op.db, limit=10_000)]
        if not ids:
            print(f"{op.service}: no dead letters to replay", file=op.out)
            return 0
    runners = op.runners()
    failed = 0
    for dead_letter_id in ids:
        try:
            applied = await operations.replay_dead_letter(op.db, runners, dead_letter_id)
        except Exception as exc:
            failed += 1
            print(f"{dead_letter_id}  failed again: {exc!r} (kept)", file=op.out)
            continue
        if applied is None:
            failed += 1
            print(f"{dead_letter_id}  no such dead letter in {op.service}", file=op.out)
        else:
            print(f"{dead_letter_id}  {'applied' if applied else 'already applied'}", file=op.out)
    print(f"replayed {len(ids) - failed} of {len(ids)}", file=op.out)
    return EXIT_FAILED if failed else 0


# -- lag ------------------------------------------------------------------------------------


async def lag(op: Operator) -> int:
    backlog = await operations.outbox_backlog(op.db)
    dead = await operations.dead_letter_counts(op.db)
    print(
        f"outbox: {backlog.pending} pending, oldest {backlog.oldest_age_s:.1f}s, "
        f"{backlog.parked} parked",
        file=op.out,
    )
    subscriptions = op.declarations.subscriptions
    if not subscriptions:
        print(f"consumers: none ({op.service} consumes no stream)", file=op.out)
        return 0
    try:
        async with connected(op) as bus:
            lags = await operations.consumer_lag(bus, subscriptions)
    except TimeoutError:
        for s in subscriptions:
            print(f"{s.name}  dead_letters={dead.get(s.name, 0)}", file=op.out)
        print(f"NATS not reachable at {op.platform.nats_url}: no consumer numbers", file=op.err)
        return EXIT_FAILED
    table(
        ("consumer", "stream", "pending", "ack pending", "redelivered", "dead letters"),
        [
            (
                item.consumer,
                item.stream,
                *(
                    (item.pending, item.ack_pending, item.redelivered)
                    if item.error is None
                    else (f"({item.error})", "", "")
                ),
                dead.get(item.consumer, 0),
            )
            for item in lags
        ],
        op.out,
    )
    return 0


# -- rebuild --------------------------------------------------------------------------------


async def rebuild_read_model(
    op: Operator, name: str, *, timeout: float, nats_wait: float = REBUILD_NATS_WAIT_S
) -> int:
    try:
        model = find(op.declarations.read_models, name)
    except RebuildError as exc:
        print(str(exc), file=op.err)
        return EXIT_FAILED
    # A rebuild that times out is run again from the start: right after a node of a cluster
    # dies, JetStream requests time out until the streams have elected new leaders. An attempt
    # may have emptied the tables before it timed out (the streams still hold every event), so
    # the sizes before are counted once, before the first attempt.
    try:
        before = await count_rows(op.db, model.tables)
    except NoSuchTableError as exc:
        print(f"read model {model.name!r}: no table {exc}", file=op.err)
        return EXIT_FAILED
    give_up_at = time.monotonic() + nats_wait
    attempt = 0
    while True:
        attempt += 1
        try:
            async with connected(op) as bus:
                result = await rebuild(
                    op.db,
                    bus,
                    model,
                    op.declarations.subscriptions,
                    ack_wait=op.settings.ack_wait,
                    max_deliver=op.settings.max_deliver,
                    timeout=timeout,
                    progress=lambda line: print(line, file=op.out),
                    rows_before=before,
                )
            break
        except TimeoutError:
            if time.monotonic() + REBUILD_RETRY_PAUSE < give_up_at:
                print(f"NATS timed out (attempt {attempt}); trying again", file=op.err)
                await asyncio.sleep(REBUILD_RETRY_PAUSE)
                continue
            print(
                f"NATS not reachable at {op.platform.nats_url} after {attempt} attempts in "
                f"{nats_wait:g}s; the read model may be empty until a rebuild succeeds: run "
                "it again once NATS answers",
                file=op.err,
            )
            return EXIT_FAILED
        except RebuildError as exc:
            print(str(exc), file=op.err)
            return EXIT_FAILED
    handled = ", ".join(f"{c} {n}" for c, n in result.handled.items())
    print(f"replayed: {handled} events", file=op.out)
    for table_name, rows in result.rows_after.items():
        before = result.rows_before[table_name]
        print(f"{table_name}: {before} rows before, {rows} after", file=op.out)
    print(f"rebuilt {result.read_model} in {result.seconds:.1f}s", file=op.out)
    return 0


# -- keys -----------------------------------------------------------------------------------


def rotate_keys_elsewhere(service: str, out: TextIO | None = None) -> int:
    """Every service but the registry: nothing of its own to rotate; say what is shared."""
    print(
        f"{service} holds no key of its own: tokens are signed by the registry "
        "(`python -m services.registry rotate-keys`) and verified here from its JWKS or key "
        "file. The personal-data keys (JIASAO_PII_*) are shared by all services and rotated by "
        "configuration (docs/operations.md, Keys); values already stored keep their key and "
        "are not re-encrypted by any command. Nothing was changed.",
        file=out or sys.stdout,
    )
    return 0
