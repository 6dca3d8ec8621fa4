"""The ``kit_idempotency_keys`` table: claim a key, finish it, release it, purge old ones.

A claim is one short transaction with ``INSERT … ON CONFLICT DO NOTHING``, so two concurrent
retries never collide on the primary key (on PostgreSQL a caught ``IntegrityError`` would
leave the transaction aborted). A key still "in progress" whose owner died is taken over at
once, compare-and-delete on its ``created_at`` so only one retry wins.

Stored bodies are encrypted with the platform's personal-data cipher (AES-GCM): a response
that echoes an ID-card or phone number must not land in plaintext in a database file.
Responses that carry credentials are never stored at all (see :func:`withholds`).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.db import Database
from services.kit.dialect import dialect_insert
from services.kit.liveness import Liveness
from services.kit.pii import PiiCipher
from services.kit.tables import idempotency_keys
from services.kit.types import utcnow

#: How long a finished key replays its answer.
TTL = timedelta(hours=24)
#: A key whose owner cannot be judged (another host's SQLite, an unknown form) is taken over
#: after this long; owners that can be judged are released as soon as they are dead.
UNJUDGEABLE_AFTER = timedelta(seconds=60)
_CONTEXT = "kit.idempotency.body"
#: Top-level response fields that mean "this answer holds a credential": never stored.
_CREDENTIAL_FIELDS = frozenset(
    {"access_token", "refresh_token", "id_token", "client_secret", "password", "secret"}
)

_table = idempotency_keys
_key_columns = [_table.c.caller, _table.c.key]


@dataclass(frozen=True)
class Stored:
    request_hash: str
    status: int | None
    content_type: str | None
    location: str | None
    body: bytes | None

    @property
    def in_progress(self) -> bool:
        return self.status is None

    @property
    def withheld(self) -> bool:
        """Finished, but its answer was not kept (credentials, or no cipher to protect it)."""
        return self.status is not None and self.body is None


def withholds(headers: list[tuple[bytes, bytes]], body: bytes) -> bool:
    """True for answers that must not be stored: ``Cache-Control: no-store`` or credentials."""
    for name, value in headers:
        if name == b"cache-control" and b"no-store" in value.lower():
            return True
    try:
        document = json.loads(body) if body[:1] == b"{" else None
    except ValueError:
        return False
    return isinstance(document, dict) and bool(_CREDENTIAL_FIELDS & document.keys())


class IdempotencyStore:
    def __init__(self, db: Database, liveness: Liveness, cipher: PiiCipher | None) -> None:
        self.db = db
        self.liveness = liveness
        self.cipher = cipher

    async def claim(self, caller: str, key: str, request_hash: str) -> Stored | None:
        """Claim the key for this request: None when claimed, else the row that holds it."""
        for _ in range(3):  # a racing twin may take over the same stale row in between
            now = utcnow()
            async with self.db.write() as session:
                inserted = await session.execute(
                    dialect_insert(session, _table)
                    .values(
                        caller=caller,
                        key=key,
                        request_hash=request_hash,
                        owner=self.liveness.owner,
                        created_at=now,
                    )
                    .on_conflict_do_nothing(index_elements=_key_columns)
                )
                if inserted.rowcount == 1:
                    return None
                row = (await session.execute(select(_table).where(self._where(caller, key)))).one()
            if not await self._stale(row, now):
                return self._stored(row)
            async with self.db.write() as session:
                await session.execute(
                    delete(_table).where(
                        self._where(caller, key), _table.c.created_at == row.created_at
                    )
                )
        raise RuntimeError("idempotency key could not be claimed")  # pragma: no cover

    async def finish(
        self,
        caller: str,
        key: str,
        status: int,
        content_type: str | None,
        location: str | None,
        body: bytes | None,
    ) -> None:
        """Store the answer (``body=None`` withholds it); a 5xx frees the key for a retry."""
        async with self.db.write() as session:
            if status >= 500:
                await self._release(session, caller, key)
                return
            stored = None if body is None or self.cipher is None else self._seal(body)
            await session.execute(
                update(_table)
                .where(self._where(caller, key))
                .values(
                    status=status,
                    content_type=content_type,
                    location=location,
                    body=stored,
                    owner=None,
                )
            )

    async def release(self, caller: str, key: str) -> None:
        async with self.db.write() as session:
            await self._release(session, caller, key)

    async def purge(self, now: datetime | None = None) -> int:
        """Delete keys older than :data:`TTL`; returns how many."""
        cutoff = (now or utcnow()) - TTL
        async with self.db.write() as session:
            result = await session.execute(delete(_table).where(_table.c.created_at < cutoff))
        return int(result.rowcount or 0)

    # --- helpers -------------------------------------------------------------------------------

    @staticmethod
    def _where(caller: str, key: str) -> Any:
        return (_table.c.caller == caller) & (_table.c.key == key)

    async def _release(self, session: AsyncSession, caller: str, key: str) -> None:
        await session.execute(delete(_table).where(self._where(caller, key)))

    async def _stale(self, row: Any, now: datetime) -> bool:
        if row.created_at < now - TTL:
            return True
        if row.status is not None:
            return False
        alive = await self.liveness.is_alive(row.owner)
        if alive is None:
            return bool(row.created_at < now - UNJUDGEABLE_AFTER)
        return not alive

    def _seal(self, body: bytes) -> bytes:
        assert self.cipher is not None
        text = base64.b64encode(body).decode()
        return self.cipher.encrypt(text, context=_CONTEXT).encode()

    def _open(self, sealed: bytes) -> bytes:
        assert self.cipher is not None
        return base64.b64decode(self.cipher.decrypt(sealed.decode(), context=_CONTEXT))

    def _stored(self, row: Any) -> Stored:
        body = None
        if row.body is not None and self.cipher is not None:
            body = self._open(row.body)
        return Stored(row.request_hash, row.status, row.content_type, row.location, body)
