"""Subprocess for the crash test: commits an event, then dies before any relay runs."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from services.kit.db import Database
from services.kit.outbox import publish
from tests.kit.kit_harness import rating_event


async def main(database_url: str) -> None:
    db = Database(database_url)
    async with db.write() as session:
        envelope = await publish(session, rating_event())
    print(envelope.id, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # no cleanup, no relay, no graceful anything


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
