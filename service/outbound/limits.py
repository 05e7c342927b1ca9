"""The per-destination concurrency cap: at most N requests in flight to one host, in Redis.

Shared by every worker process, so a slow or dead callback host ties up at most N worker
slots and every other subscriber's deliveries go on. A slot is a member of a sorted set scored
by its expiry: a worker killed while holding one frees it when the lease runs out, without
anyone having to notice the death.
"""

from __future__ import annotations

import time
import uuid
from typing import cast
from urllib.parse import urlsplit

import redis

PREFIX = "newsroom:outbound:slots:"

def destination(url: str) -> str:
    """What the cap counts by: scheme, host and port (``https://hooks.example:443``)."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"


def acquire(conn: redis.Redis, url: str, cap: int, lease_seconds: float) -> str | None:
    """Take a slot for ``url``'s destination; its token, or None when all ``cap`` are taken."""
    tokens = acquire_many(conn, url, cap, lease_seconds, 1, 0.0)
    return tokens[0] if tokens else None


# Up to len(ARGV) - 3 slots at once: KEYS[1]; ARGV: now, expiry, cap, tokens...
_ACQUIRE_MANY = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local free = tonumber(ARGV[3]) - redis.call('ZCARD', KEYS[1])
local granted = 0
for i = 4, #ARGV do
  if granted >= free then break end
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[i])
  granted = granted + 1
end
redis.call('EXPIRE', KEYS[1], 3600)
return granted
"""


def acquire_many(conn: redis.Redis, url: str, cap: int, lease_seconds: float, want: int,
                 wait: float) -> list[str]:
    """Up to ``want`` slots for ``url``'s destination in one round trip, trying again for up
    to ``wait`` seconds while none is free: a batch to one host takes turns within its cap
    rather than being sent back to the queue at once. Their tokens (empty: still full)."""
    deadline = time.monotonic() + wait
    while True:
        tokens = [uuid.uuid4().hex for _ in range(want)]
        now = time.time()
        granted = int(cast(int, conn.eval(_ACQUIRE_MANY, 1, PREFIX + destination(url), now,
                                          now + lease_seconds, cap, *tokens)))
        if granted or time.monotonic() >= deadline:
            return tokens[:granted]
        time.sleep(0.02)


def release(conn: redis.Redis, url: str, *tokens: str) -> None:
    if tokens:
        conn.zrem(PREFIX + destination(url), *tokens)


def in_flight(conn: redis.Redis, url: str) -> int:
    """Slots currently held for ``url``'s destination (for tests and the dashboard)."""
    key = PREFIX + destination(url)
    conn.zremrangebyscore(key, "-inf", time.time())
    return int(cast(int, conn.zcard(key)))  # a sync client's reply
