"""Suspended partners and agencies: their tokens are refused by every service at once.

Tokens are verified offline (:mod:`services.kit.auth`) and a partner's lives five minutes, so
a token issued before its partner was suspended would verify until it expires. The registry
therefore publishes every change of a partner's or an agency's standing
(``registry.partner.status_changed``, ``registry.agency.status_changed``). Each other service
keeps the latest standing per party in ``kit_party_standing`` (consumer
``<service>-party-standing``, :func:`handle_standing_changed`); the registry writes the same
table in the suspending transaction (:func:`record`). The suspended ones are held in memory
by each process (:class:`Suspensions`), and the token verifier asks it after the signature
check, for remembered verifications too: a partner or agency token whose party is suspended
is refused with 401 problem+json, without a database or registry call on the request path.

401, not 403: the credential itself is withdrawn (RFC 6750 ``invalid_token`` covers "revoked"),
whatever the route; a 403 would say "this token, but not here". The client's next token
request fails at the registry too (its clients were revoked with the suspension).

The memory follows the table: loaded before the service serves, changed right after the
commit of a transaction of this process that changed a row (``session.info`` carries the
changes to the ``db.on_commit`` callback), and reloaded every ``refresh_interval`` seconds, so
the other replicas (they share the durable consumer: one of them applies a given event) follow
within that interval, and so does a rebuild of the read model. A process that started but
could not load the table yet (its database was away) answers partner and agency tokens 503
until it has: deny by default. (An app whose lifespan never ran, as in the suite's policy
test, has nothing loaded and checks nothing.)

Parties suspended before this table existed need no row: their clients were revoked then and
their tokens have long expired. Reactivation's event removes the party from the set; the
table keeps every party's latest row so a late, older change is ignored (``changed_at``).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Column, MetaData, String, Table, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.envelope import CloudEvent, EventData
from contracts.registry import AgencyStatusChanged, PartnerStatusChanged
from services.kit.db import Database
from services.kit.errors import Problem
from services.kit.principal import SCOPED_ROLES, Principal, unauthorized
from services.kit.types import UtcDateTime

log = logging.getLogger(__name__)

standing_metadata = MetaData()
TABLE = "kit_party_standing"

party_standing = Table(
    TABLE,
    standing_metadata,
    #: The token role of the party's clients: ``partner`` or ``agency``.
    Column("role", String(20), primary_key=True),
    Column("party_id", String(36), primary_key=True),
    #: ``active`` or ``suspended``.
    Column("status", String(20), nullable=False),
    #: When the standing last changed (orders the changes; for a suspended party, since when).
    Column("changed_at", UtcDateTime, nullable=False),
)

#: ``session.info`` key: the standings this transaction changed, applied after its commit.
CHANGES = "jiasao.party_standing_changes"

#: How often each process reloads the table (the other replicas' changes, rebuilds).
REFRESH_INTERVAL_SECONDS = 1.0

#: (token role, party id): the role keeps a partner and an agency with one id apart.
Key = tuple[str, uuid.UUID]


async def record(
    session: AsyncSession, role: str, party_id: str, status: str, changed_at: datetime
) -> bool:
    """Keep the party's latest standing; False for an older change arriving late (ignored)."""
    key = party_id.lower()
    where = (party_standing.c.role == role, party_standing.c.party_id == key)
    query = select(party_standing.c.changed_at).where(*where)
    if session.bind is not None and session.bind.dialect.name != "sqlite":
        query = query.with_for_update()
    known = (await session.execute(query)).one_or_none()
    if known is None:
        await session.execute(
            insert(party_standing).values(
                role=role, party_id=key, status=status, changed_at=changed_at
            )
        )
    elif known.changed_at <= changed_at:
        await session.execute(
            update(party_standing).where(*where).values(status=status, changed_at=changed_at)
        )
    else:
        return False
    session.info.setdefault(CHANGES, []).append((role, key, status, changed_at))
    return True


async def handle_standing_changed(
    session: AsyncSession, envelope: CloudEvent[Any], data: EventData
) -> None:
    """The consumer's handler (``<service>-party-standing`` on both subjects)."""
    if isinstance(data, PartnerStatusChanged):
        await record(session, "partner", data.partner_id, data.status, data.changed_at)
    elif isinstance(data, AgencyStatusChanged):
        await record(session, "agency", data.agency_id, data.status, data.changed_at)
    else:
        raise TypeError(f"party-standing consumer got {envelope.type}")  # a wiring bug


class Suspensions:
    """The suspended partners and agencies of one process, asked by the token verifier."""

    def __init__(self, refresh_interval: float = REFRESH_INTERVAL_SECONDS) -> None:
        self.refresh_interval = refresh_interval
        #: (role, party id) → suspended since.
        self._suspended: dict[Key, datetime] = {}
        self._generation = 0
        self.loaded = False
        self._started = False
        self._task: asyncio.Task[None] | None = None

    def __contains__(self, key: tuple[str, uuid.UUID | str]) -> bool:
        role, party_id = key
        return (role, uuid.UUID(str(party_id))) in self._suspended

    def check(self, principal: Principal) -> None:
        """Raise 401 for a token of a suspended partner or agency; 503 for any partner or agency
        token while a started process has not loaded the set yet (its database was away)."""
        if principal.role not in SCOPED_ROLES:
            return
        if self._started and not self.loaded:
            raise Problem(
                503,
                "service-unavailable",
                "Service unavailable",
                "The service has not yet loaded which partners are suspended; retry shortly",
                headers={"Retry-After": "1"},
            )
        if not self._suspended or principal.party_id is None:
            return
        since = self._suspended.get((principal.role, principal.party_id))
        if since is not None:
            raise unauthorized(
                f"The {principal.role} this token was issued to is suspended (since "
                f"{since.isoformat(timespec='seconds')}); its tokens are refused until it is "
                "reactivated"
            )

    def after_commit(self, session: AsyncSession) -> None:
        """``db.on_commit`` callback: apply the changes the committed transaction recorded."""
        changes = session.info.pop(CHANGES, None)
        if not changes:
            return
        for role, party_id, status, changed_at in changes:
            key = (role, uuid.UUID(party_id))
            if status == "suspended":
                self._suspended[key] = changed_at
            else:
                self._suspended.pop(key, None)
        self._generation += 1

    async def load(self, db: Database) -> None:
        """Replace the set with the table's suspended parties."""
        generation = self._generation
        async with db.read() as session:
            rows = (
                await session.execute(
                    select(
                        party_standing.c.role,
                        party_standing.c.party_id,
                        party_standing.c.changed_at,
                    ).where(party_standing.c.status == "suspended")
                )
            ).all()
        if generation != self._generation and self.loaded:
            return  # a commit of this process was applied meanwhile: the next reload has it
        self._suspended = {(row.role, uuid.UUID(row.party_id)): row.changed_at for row in rows}
        self.loaded = True

    async def start(self, db: Database) -> None:
        """Load, then follow the table; register :meth:`after_commit` with ``db``. A service
        starts while its database is away (``/readyz`` says so): the load is then retried every
        ``refresh_interval`` and partner and agency tokens get 503 until it succeeds."""
        self._started = True
        db.on_commit(self.after_commit)
        try:
            await self.load(db)
        except Exception as exc:
            log.warning("suspended parties not loaded; retrying", extra={"error": repr(exc)})
        self._task = asyncio.create_task(self._follow(db), name="party-standing-refresh")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _follow(self, db: Database) -> None:
        while True:
            await asyncio.sleep(self.refresh_interval)
            try:
                await self.load(db)
            except Exception as exc:  # the last set is kept while the database is away
                log.warning("reloading suspended parties failed", extra={"error": repr(exc)})
