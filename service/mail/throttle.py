"""The sending rate every worker shares: slots on a Redis clock, and a pause.

``MAIL_RATE`` messages per second to the relay, all processes and threads together, and
optionally ``MAIL_RATE_PER_DOMAIN`` to any one recipient domain. Each limit is a theoretical
arrival time in Redis (GCRA, the virtual-scheduling form of a token bucket holding one token):
a sender reserves the next free slot of the overall limit (at least one interval after the
slot before it) if its domain's limit is free by then too, in one atomic Lua script on
Redis's own clock (``TIME``), and sleeps until its slot; a sender whose domain is the one
holding it back reserves nothing and asks again when the domain is free. So senders do not
poll for tokens, a late sender loses nobody else's slot, and over any stretch of time the
senders together never exceed the rate (no burst).
Slots are reserved at most :data:`HORIZON` ahead; a sender further back waits and asks again.

A relay's "slow down" (421, 451 or 454 at any stage, see ``mailer.Deferred.slow_down``) sets a
shared pause key for ``MAIL_SLOWDOWN_PAUSE`` seconds: every sender waits it out before its next
message, not only the one that was told. The pause is checked by the same script, and, when
no rate is set, by a cheap ``PTTL`` at most every :data:`PAUSE_CHECK` seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import redis
from flask import current_app

PREFIX = "newsroom:mail:"
PAUSE_KEY = PREFIX + "pause"
ALL_KEY = PREFIX + "rate:all"
DOMAIN_KEY = PREFIX + "rate:domain:"
PAUSE_CHECK = 0.25  # seconds between pause checks when no rate is set
LONGEST_SLEEP = 0.5  # wake at least this often while not holding a slot
HORIZON = 1.0  # seconds ahead a slot may be reserved

# KEYS[1]: the pause key; KEYS[2..]: each limit's next free slot (microseconds, Redis clock).
# ARGV[1]: the horizon; ARGV[i]: limit i-1's interval (microseconds).
# Returns {1, wait}: a slot reserved, send after ``wait`` microseconds; {0, wait}: none
# reserved (paused, or the next slot is past the horizon), ask again after ``wait``.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local paused = redis.call('PTTL', KEYS[1])
if paused > 0 then return {0, paused * 1000} end
local slot = math.max(now, tonumber(redis.call('GET', KEYS[2]) or now))
local horizon = tonumber(ARGV[1])
if slot - now > horizon then return {0, slot - now - horizon} end
-- A further limit (the domain's) not free by then: reserve nothing, so the first limit's
-- earlier slots stay free for other domains.
for i = 3, #KEYS do
  local next_free = tonumber(redis.call('GET', KEYS[i]) or now)
  if next_free > slot then return {0, next_free - slot} end
end
for i = 2, #KEYS do
  redis.call('SET', KEYS[i], string.format('%.0f', slot + tonumber(ARGV[i])), 'PX', 3600000)
end
return {1, slot - now}
"""


@dataclass(frozen=True)
class Rates:
    per_second: float = 0.0  # 0: unlimited
    per_domain: float = 0.0
    pause_seconds: int = 30

    @property
    def limited(self) -> bool:
        return self.per_second > 0 or self.per_domain > 0


class Throttle:
    """One sender's view of the shared limits (one per batch run or confirmation)."""

    def __init__(self, conn: redis.Redis, rates: Rates,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.conn = conn
        self.rates = rates
        self.sleep = sleep
        self._reserve = conn.register_script(_RESERVE)
        self._pause_checked = 0.0
        self.waited = 0.0  # seconds this sender spent waiting, for logs and tests

    def _keys(self, recipient: str) -> tuple[list[str], list[float]]:
        keys, intervals = [PAUSE_KEY], []
        if self.rates.per_second > 0:
            keys.append(ALL_KEY)
            intervals.append(1e6 / self.rates.per_second)
        if self.rates.per_domain > 0:
            keys.append(DOMAIN_KEY + recipient.rpartition("@")[2].lower())
            intervals.append(1e6 / self.rates.per_domain)
        return keys, intervals

    def wait_turn(self, recipient: str) -> None:
        """Return when a message to ``recipient`` may go (after any pause, within the rates).

        With a rate set, raises ``redis.RedisError`` when Redis cannot say: the caller sends
        nothing then. Without one, a Redis that does not answer only skips the pause check.
        """
        if not self.rates.limited:
            self._wait_out_pause()
            return
        keys, intervals = self._keys(recipient)
        while True:
            reserved, micros = cast(list[int], self._reserve(
                keys=keys, args=[HORIZON * 1e6, *intervals]))
            pause = max(int(micros), 0) / 1e6
            if reserved:
                if pause:
                    self.waited += pause
                    self.sleep(pause)
                return
            pause = min(max(pause, 0.001), LONGEST_SLEEP)
            self.waited += pause
            self.sleep(pause)

    def _wait_out_pause(self) -> None:
        now = time.monotonic()
        if now - self._pause_checked < PAUSE_CHECK:
            return
        while True:
            try:
                left = int(cast(int, self.conn.pttl(PAUSE_KEY)))
            except redis.RedisError:  # no rate is set: the pause is advice, not a limit
                break
            if left <= 0:
                break
            pause = min(left / 1000, LONGEST_SLEEP)
            self.waited += pause
            self.sleep(pause)
        self._pause_checked = time.monotonic()

    def slow_down(self) -> None:
        """The relay asked us to slow down: every sender pauses (a later one extends it)."""
        self.conn.set(PAUSE_KEY, "1", ex=self.rates.pause_seconds)
        self._pause_checked = 0.0


def paused_for(conn: redis.Redis) -> float:
    """Seconds the shared pause has left (0: none), for the dashboard and tests."""
    left = int(cast(int, conn.pttl(PAUSE_KEY)))
    return max(left, 0) / 1000


def configured_rates() -> Rates:
    """The rates from the settings; ``app.config["MAIL_RATE"]`` (and the others) override
    them, as ``SMTP_URL`` can be (tests and the benchmark do)."""
    settings = current_app.config["SETTINGS"]
    config = current_app.config
    return Rates(float(config.get("MAIL_RATE", settings.mail_rate)),
                 float(config.get("MAIL_RATE_PER_DOMAIN", settings.mail_rate_per_domain)),
                 int(config.get("MAIL_SLOWDOWN_PAUSE", settings.mail_slowdown_pause)))
