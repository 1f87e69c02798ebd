"""Degraded mode for the shared limits: while Redis cannot be reached, rate limits and the
request history fall back to this process's own (``AUPGUARD_REDIS_FALLBACK=local``), and every
fallback is counted (``aupguard_redis_fallback_total{component}`` on ``/metrics``) and logged.

Each worker then enforces its own share only — an account spread over N workers may get up to N
times its rate — which is why the default is to refuse (fail closed) instead; the operator
chooses. Redis is tried again on every request, so recovery needs no restart.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Iterator, Sequence

from aupguard.abuse.history import MemoryHistory, Recent, RequestEvent, RequestHistory
from aupguard.abuse.ratelimit import Limit, LimitDecision, MemoryRateLimiter, Quota, RateLimiter

logger = logging.getLogger("aupguard.abuse")
WARN_EVERY_S = 30.0


def is_unavailable(exc: BaseException) -> bool:
    """Redis unreachable (connection refused, timeout, reset), not a programming error."""
    if isinstance(exc, ConnectionError | TimeoutError | OSError):
        return True
    module = type(exc).__module__
    return module.startswith("redis") and type(exc).__name__ in (
        "ConnectionError",
        "TimeoutError",
        "BusyLoadingError",
        "ClusterDownError",
    )


class FallbackCounter:
    """How often each component fell back, for /metrics; warns at most every 30 s."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._warned: dict[str, float] = {}
        self._lock = threading.Lock()

    def note(self, component: str, exc: BaseException) -> None:
        now = time.monotonic()
        with self._lock:
            self._counts[component] = self._counts.get(component, 0) + 1
            warn = now - self._warned.get(component, -WARN_EVERY_S) >= WARN_EVERY_S
            if warn:
                self._warned[component] = now
        if warn:
            logger.warning(
                "Redis unavailable (%s: %s): %s uses this process's own state "
                "(AUPGUARD_REDIS_FALLBACK=local)",
                type(exc).__name__,
                exc,
                component,
            )

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def collect(self) -> Iterator[object]:
        """A Prometheus collector (``registry.register(counter)``)."""
        from prometheus_client.core import CounterMetricFamily

        family = CounterMetricFamily(
            "aupguard_redis_fallback",
            "Decisions taken on this process's own limits or history because Redis was down",
            labels=["component"],
        )
        for component, count in sorted(self.counts().items()):
            family.add_metric([component], count)
        yield family


class FallbackRateLimiter:
    def __init__(
        self,
        primary: RateLimiter,
        counter: FallbackCounter,
        fallback: RateLimiter | None = None,
    ):
        self.primary = primary
        self.fallback = fallback or MemoryRateLimiter()
        self.counter = counter

    def decide(
        self, limits: Sequence[Limit], quotas: Sequence[Quota], cost: float
    ) -> LimitDecision:
        try:
            return self.primary.decide(limits, quotas, cost)
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            self.counter.note("rate_limits", exc)
            return self.fallback.decide(limits, quotas, cost)


class FallbackHistory:
    def __init__(
        self,
        primary: RequestHistory,
        counter: FallbackCounter,
        fallback: RequestHistory | None = None,
    ):
        self.primary = primary
        self.fallback = fallback or MemoryHistory()
        self.counter = counter

    def record(self, event: RequestEvent) -> Recent:
        try:
            return self.primary.record(event)
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            self.counter.note("request_history", exc)
            return self.fallback.record(event)

    def account_counts(self, account_ids: Sequence[str], since: dt.datetime) -> dict[str, int]:
        try:
            return self.primary.account_counts(account_ids, since)
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            self.counter.note("request_history", exc)
            return self.fallback.account_counts(account_ids, since)
