"""The sending rate every worker shares: token buckets and a pause, in Redis.

``MAIL_RATE`` messages per second to the relay, all processes and threads together, and
optionally ``MAIL_RATE_PER_DOMAIN`` to any one recipient domain. Each bucket holds at most one
token (no burst), refilled continuously, so over any stretch of time the senders together
never exceed the rate. One Lua script takes a token from every bucket a message needs, or none
and says how long to wait, in one atomic round trip, on Redis's own clock (``TIME``), so the
workers' clocks do not matter.

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
LONGEST_SLEEP = 0.5  # wake at least this often, so a lifted or new pause is seen

# KEYS[1]: the pause key; KEYS[2..]: buckets. ARGV[i]: bucket i+1's rate, tokens per
# microsecond. Returns 0 (a token taken from every bucket) or microseconds to wait.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local paused = redis.call('PTTL', KEYS[1])
if paused > 0 then return paused * 1000 end
local wait = 0
local level = {}
for i = 2, #KEYS do
  local rate = tonumber(ARGV[i - 1])
  local v = redis.call('HMGET', KEYS[i], 'tokens', 'ts')
  local tokens = tonumber(v[1]) or 1
  local ts = tonumber(v[2]) or now
  tokens = math.min(1, tokens + math.max(0, now - ts) * rate)
  level[i] = tokens
  if tokens < 1 then
    wait = math.max(wait, math.ceil((1 - tokens) / rate))
  end
end
if wait > 0 then return wait end
for i = 2, #KEYS do
  redis.call('HSET', KEYS[i], 'tokens', level[i] - 1, 'ts', now)
  redis.call('EXPIRE', KEYS[i], 3600)
end
return 0
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
        self._take = conn.register_script(_TAKE)
        self._pause_checked = 0.0
        self.waited = 0.0  # seconds this sender spent waiting, for logs and tests

    def _keys(self, recipient: str) -> tuple[list[str], list[float]]:
        keys, rates = [PAUSE_KEY], []
        if self.rates.per_second > 0:
            keys.append(ALL_KEY)
            rates.append(self.rates.per_second / 1e6)
        if self.rates.per_domain > 0:
            keys.append(DOMAIN_KEY + recipient.rpartition("@")[2].lower())
            rates.append(self.rates.per_domain / 1e6)
        return keys, rates

    def wait_turn(self, recipient: str) -> None:
        """Return when a message to ``recipient`` may go (after any pause, within the rates).

        With a rate set, raises ``redis.RedisError`` when Redis cannot say: the caller sends
        nothing then. Without one, a Redis that does not answer only skips the pause check.
        """
        if not self.rates.limited:
            self._wait_out_pause()
            return
        keys, rates = self._keys(recipient)
        while True:
            micros = int(cast(int, self._take(keys=keys, args=rates)))
            if micros <= 0:
                return
            pause = min(micros / 1e6, LONGEST_SLEEP)
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
