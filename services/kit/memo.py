"""Reads memoised for one event-handling transaction (policies read once per inbox batch).

The inbox marks the session of each transaction that applies events (:data:`EVENT_MEMO` in
``session.info``); :func:`memoised` then loads a value once per transaction instead of once
per event. Outside such a transaction (HTTP requests, jobs) it simply loads, so a request that
changes a policy and reads it back sees its own change. Only for values no event handler
changes (the policies): a handler's own writes would not show in the memo.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

#: ``session.info`` key of the per-transaction memo, set by the inbox.
EVENT_MEMO = "kit_event_memo"


async def memoised(session: Any, key: Hashable, load: Callable[[], Awaitable[T]]) -> T:
    """``await load()``, once per event-handling transaction of ``session``."""
    memo: dict[Hashable, Any] | None = session.info.get(EVENT_MEMO)
    if memo is None:
        return await load()
    if key not in memo:
        memo[key] = await load()
    return memo[key]  # type: ignore[no-any-return]
