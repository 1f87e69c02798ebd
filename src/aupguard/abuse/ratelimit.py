"""Cost-weighted GCRA rate limits and period quotas, in-process or in Redis.

GCRA (the generic cell rate algorithm) keeps one number per limit, the theoretical arrival
time (TAT). A request of cost ``c`` against a limit of ``rate`` units/second with ``burst``
units moves the TAT by ``c / rate``; it is admitted if the new TAT is at most
``burst / rate`` seconds ahead of now. A 4-megapixel image of cost 4 uses four times what a
cost-1 check uses.

One decision checks every limit and quota together and books them all or none (so a request
refused by the account limit does not use up the key limit). The Redis limiter does this in
one Lua script, on the server's clock, so many workers share the limits exactly and a worker
with a wrong clock cannot skew them.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    import redis


@dataclass(frozen=True, slots=True)
class Limit:
    """``rate`` cost units per second, up to ``burst`` units at once, on ``key``."""

    key: str
    rate: float
    burst: float

    def __post_init__(self) -> None:
        if not (self.rate > 0 and math.isfinite(self.rate)):
            raise ValueError(f"rate limit {self.key!r}: rate must be positive, got {self.rate}")
        if not (self.burst >= 1 and math.isfinite(self.burst)):
            raise ValueError(f"rate limit {self.key!r}: burst must be >= 1, got {self.burst}")

    @property
    def interval(self) -> float:
        return 1.0 / self.rate


@dataclass(frozen=True, slots=True)
class Quota:
    """At most ``limit`` cost units on ``key`` until the period ends (``resets_in`` seconds);
    the caller puts the period in the key (``…:day:2025-03-01``)."""

    key: str
    limit: float
    resets_in: float

    def __post_init__(self) -> None:
        if not self.limit > 0:
            raise ValueError(f"quota {self.key!r}: limit must be positive, got {self.limit}")


class LimitDecision(BaseModel):
    """The outcome with the figures for ``RateLimit-*`` and ``Retry-After`` headers, taken
    from the tightest limit (the one with the fewest units left)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    allowed: bool
    limit: float
    remaining: float
    reset_seconds: float
    retry_after_seconds: float | None = None
    window_seconds: float
    denied_by: str | None = None  # the limit or quota key that refused
    reason: str | None = None

    def headers(self) -> dict[str, str]:
        """IETF draft ``RateLimit-*`` fields plus ``Retry-After`` on a refusal."""
        out = {
            "RateLimit-Limit": str(int(self.limit)),
            "RateLimit-Remaining": str(max(0, int(self.remaining))),
            "RateLimit-Reset": str(math.ceil(self.reset_seconds)),
            "RateLimit-Policy": f"{int(self.limit)};w={math.ceil(self.window_seconds)}",
        }
        if not self.allowed and self.retry_after_seconds is not None:
            out["Retry-After"] = str(max(1, math.ceil(self.retry_after_seconds)))
        return out


class RateLimiter(Protocol):
    def decide(
        self, limits: Sequence[Limit], quotas: Sequence[Quota], cost: float
    ) -> LimitDecision: ...


def _check_cost(
    limits: Sequence[Limit], quotas: Sequence[Quota], cost: float
) -> LimitDecision | None:
    if not (cost > 0 and math.isfinite(cost)):
        raise ValueError(f"a request cost must be a positive number, got {cost!r}")
    if not limits:
        raise ValueError("a decision needs at least one rate limit")
    for limit in limits:
        if cost > limit.burst:
            return LimitDecision(
                allowed=False,
                limit=limit.burst,
                remaining=0,
                reset_seconds=0,
                retry_after_seconds=None,
                window_seconds=limit.burst / limit.rate,
                denied_by=limit.key,
                reason=f"the request costs {cost:g} units; the most {limit.key} allows at once "
                f"is {limit.burst:g}",
            )
    return None


def _summary(
    limits: Sequence[Limit],
    remaining: Sequence[float],
    resets: Sequence[float],
    allowed: bool,
    retry: float | None,
    denied_by: str | None,
    reason: str | None,
) -> LimitDecision:
    tightest = min(range(len(limits)), key=lambda i: remaining[i])
    limit = limits[tightest]
    return LimitDecision(
        allowed=allowed,
        limit=limit.burst,
        remaining=max(0.0, remaining[tightest]),
        reset_seconds=max(0.0, resets[tightest]),
        retry_after_seconds=retry,
        window_seconds=limit.burst / limit.rate,
        denied_by=denied_by,
        reason=reason,
    )


class MemoryRateLimiter:
    """Limits for one process (the default). Thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._tat: dict[str, float] = {}
        self._used: dict[str, tuple[float, float]] = {}  # key -> (units, expires at)
        self._lock = threading.Lock()

    def decide(
        self, limits: Sequence[Limit], quotas: Sequence[Quota], cost: float
    ) -> LimitDecision:
        if (early := _check_cost(limits, quotas, cost)) is not None:
            return early
        with self._lock:
            now = self._clock()
            new_tats: list[float] = []
            remaining: list[float] = []
            resets: list[float] = []
            retry = 0.0
            denied_by: str | None = None
            for limit in limits:
                tat = max(self._tat.get(limit.key, now), now)
                new_tat = tat + limit.interval * cost
                window = limit.interval * limit.burst
                allow_at = new_tat - window
                if allow_at > now:
                    if allow_at - now > retry:
                        retry, denied_by = allow_at - now, limit.key
                    remaining.append((window - (tat - now)) / limit.interval)
                    resets.append(tat - now)
                else:
                    remaining.append((window - (new_tat - now)) / limit.interval)
                    resets.append(new_tat - now)
                new_tats.append(new_tat)
            reason = None
            if denied_by is not None:
                reason = f"rate limit {denied_by} exceeded"
            else:
                for quota in quotas:
                    used, expires = self._used.get(quota.key, (0.0, 0.0))
                    if expires <= now:
                        used = 0.0
                    if used + cost > quota.limit:
                        retry = max(expires - now, 0.0) if expires > now else quota.resets_in
                        denied_by = quota.key
                        reason = f"quota {quota.key} used up ({used:g} of {quota.limit:g} units)"
                        break
            if denied_by is None:
                for limit, new_tat in zip(limits, new_tats, strict=True):
                    self._tat[limit.key] = new_tat
                for quota in quotas:
                    used, expires = self._used.get(quota.key, (0.0, 0.0))
                    if expires <= now:
                        used, expires = 0.0, now + quota.resets_in
                    self._used[quota.key] = (used + cost, expires)
            return _summary(
                limits,
                remaining,
                resets,
                denied_by is None,
                None if denied_by is None else retry,
                denied_by,
                reason,
            )

    def reset(self) -> None:
        with self._lock:
            self._tat.clear()
            self._used.clear()


# KEYS: the GCRA keys, then the quota keys. ARGV: number of GCRA keys, cost, then
# (interval, burst) per GCRA key, then (limit, ttl seconds) per quota key.
# Returns {allowed, denied index (1-based, 0 none), retry, remaining..., reset...} with numbers
# as strings (Lua numbers would be truncated to integers on the way back).
_GCRA_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local n = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])
local idx = 3
local new_tats = {}
local out_remaining = {}
local out_reset = {}
local retry = 0
local denied = 0
for i = 1, n do
  local interval = tonumber(ARGV[idx])
  local burst = tonumber(ARGV[idx + 1])
  idx = idx + 2
  local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
  if tat < now then tat = now end
  local new_tat = tat + interval * cost
  local window = interval * burst
  local allow_at = new_tat - window
  if allow_at > now then
    if allow_at - now > retry then
      retry = allow_at - now
      denied = i
    end
    out_remaining[i] = tostring((window - (tat - now)) / interval)
    out_reset[i] = tostring(tat - now)
  else
    out_remaining[i] = tostring((window - (new_tat - now)) / interval)
    out_reset[i] = tostring(new_tat - now)
  end
  new_tats[i] = new_tat
end
local m = #KEYS - n
if denied == 0 then
  for j = 1, m do
    local key = KEYS[n + j]
    local limit = tonumber(ARGV[idx])
    local ttl = tonumber(ARGV[idx + 1])
    idx = idx + 2
    local used = tonumber(redis.call('GET', key) or '0')
    if used + cost > limit then
      local pttl = redis.call('PTTL', key)
      if pttl > 0 then retry = pttl / 1000 else retry = ttl end
      denied = n + j
      break
    end
  end
end
if denied == 0 then
  for i = 1, n do
    local ms = math.ceil((new_tats[i] - now) * 1000) + 1000
    redis.call('SET', KEYS[i], tostring(new_tats[i]), 'PX', ms)
  end
  idx = 3 + 2 * n
  for j = 1, m do
    local key = KEYS[n + j]
    local ttl = tonumber(ARGV[idx + 1])
    idx = idx + 2
    redis.call('INCRBYFLOAT', key, tostring(cost))
    if redis.call('PTTL', key) < 0 then
      redis.call('PEXPIRE', key, math.ceil(ttl * 1000))
    end
  end
end
local result = {denied == 0 and 1 or 0, denied, tostring(retry)}
for i = 1, n do result[#result + 1] = out_remaining[i] end
for i = 1, n do result[#result + 1] = out_reset[i] end
return result
"""


class RedisRateLimiter:
    """Limits shared by every worker through one Redis (``AUPGUARD_REDIS_URL``).

    ``prefix`` namespaces the keys (one per deployment, or per test run)."""

    def __init__(self, client: redis.Redis, *, prefix: str = "aupguard:rl:"):
        self._client = client
        self._prefix = prefix
        self._script = client.register_script(_GCRA_LUA)

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "aupguard:rl:") -> RedisRateLimiter:
        import redis as redis_lib

        return cls(redis_lib.Redis.from_url(url, socket_timeout=2), prefix=prefix)

    def decide(
        self, limits: Sequence[Limit], quotas: Sequence[Quota], cost: float
    ) -> LimitDecision:
        if (early := _check_cost(limits, quotas, cost)) is not None:
            return early
        keys = [self._prefix + x.key for x in limits] + [self._prefix + q.key for q in quotas]
        args: list[Any] = [len(limits), repr(float(cost))]
        for limit in limits:
            args += [repr(limit.interval), repr(float(limit.burst))]
        for quota in quotas:
            args += [repr(float(quota.limit)), repr(float(quota.resets_in))]
        raw = self._script(keys=keys, args=args)
        allowed = int(raw[0]) == 1
        denied_index = int(raw[1])
        retry = float(raw[2])
        n = len(limits)
        remaining = [float(x) for x in raw[3 : 3 + n]]
        resets = [float(x) for x in raw[3 + n : 3 + 2 * n]]
        denied_by = None
        reason = None
        if denied_index:
            if denied_index <= n:
                denied_by = limits[denied_index - 1].key
                reason = f"rate limit {denied_by} exceeded"
            else:
                quota = quotas[denied_index - n - 1]
                denied_by = quota.key
                reason = f"quota {quota.key} used up ({quota.limit:g} units)"
        return _summary(
            limits, remaining, resets, allowed, None if allowed else retry, denied_by, reason
        )
