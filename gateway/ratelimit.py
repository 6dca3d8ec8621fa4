"""Per-client rate limits at the edge: a token bucket per caller, in this gateway's memory.

The caller is the verified token's subject (a person's account or a partner's OAuth client),
else the client's address. Each bucket holds ``burst`` requests and refills at
``per_minute / 60`` per second; an empty bucket answers 429 with ``Retry-After`` and the
``RateLimit`` / ``RateLimit-Policy`` headers of the IETF httpapi draft. Buckets are kept for
the most recent ``capacity`` callers (least recently seen are dropped, which only forgives).
Several gateway replicas each count alone: the limit per client is then replicas × the
setting, which is acceptable for abuse protection (not for billing).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    #: Seconds until one more request is allowed (0 when allowed).
    retry_after: int
    window: int

    def headers(self, policy: str) -> dict[str, str]:
        return {
            "RateLimit-Policy": f'"{policy}";q={self.limit};w={self.window}',
            "RateLimit": f'"{policy}";r={self.remaining};t={self.retry_after}',
            "Retry-After": str(self.retry_after),
        }


class RateLimiter:
    def __init__(self, per_minute: int, burst: int, capacity: int = 100_000) -> None:
        self.rate = per_minute / 60.0
        self.per_minute = per_minute
        self.burst = max(1, burst)
        self.capacity = capacity
        # key → (tokens, last refill time)
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def check(self, key: str, now: float | None = None) -> Decision:
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        allowed = tokens >= 1.0
        if allowed:
            tokens -= 1.0
        self._buckets[key] = (tokens, now)
        self._buckets.move_to_end(key)
        if len(self._buckets) > self.capacity:
            self._buckets.popitem(last=False)
        retry_after = 0 if allowed else max(1, math.ceil((1.0 - tokens) / self.rate))
        return Decision(allowed, self.per_minute, int(tokens), retry_after, 60)
