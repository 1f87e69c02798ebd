"""Behaviour checks per request: record the request in the history, build each detector's
context (links, bans, plan, age — cached briefly, they change rarely), run the detectors and
let the engine decide under the pack's behaviour clauses."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from aupguard.abuse.detectors import BehaviourContext, BehaviourDetector, create_detectors
from aupguard.abuse.detectors.rate_limit_evasion import RateLimitEvasionSettings
from aupguard.abuse.history import RequestEvent, RequestHistory
from aupguard.detectors.base import DetectorResult
from aupguard.engine.decide import decide
from aupguard.engine.verdict import Verdict
from aupguard.policy.models import Modality, PolicyPack
from aupguard.store import Store
from aupguard.store.records import AccountLink, AgeAttestation, Plan

T = TypeVar("T")
BLOCKING_STEPS = ("permanent_ban",)


class TTLCache(Generic[T]):
    """A small per-process cache; ``ttl`` seconds of staleness is accepted."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic):
        self._ttl = ttl
        self._clock = clock
        self._data: dict[str, tuple[float, T]] = {}
        self._lock = threading.Lock()

    def get(self, key: str, load: Callable[[], T]) -> T:
        now = self._clock()
        with self._lock:
            hit = self._data.get(key)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        value = load()
        with self._lock:
            if len(self._data) > 100_000:
                self._data.clear()
            self._data[key] = (now, value)
        return value

    def forget(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)


class BehaviourMonitor:
    def __init__(
        self,
        store: Store,
        pack: PolicyPack,
        history: RequestHistory,
        *,
        detectors: Sequence[BehaviourDetector] | None = None,
        cache_seconds: float = 30.0,
    ):
        self.store = store
        self.pack = pack
        self.history = history
        self.detectors = list(detectors) if detectors is not None else create_detectors()
        self._links: TTLCache[tuple[AccountLink, ...]] = TTLCache(cache_seconds)
        self._banned: TTLCache[bool] = TTLCache(cache_seconds)
        self._plan: TTLCache[Plan | None] = TTLCache(cache_seconds)
        self._age: TTLCache[AgeAttestation | None] = TTLCache(cache_seconds)
        rle = next((d for d in self.detectors if d.name == "abuse.rate_limit_evasion"), None)
        settings = getattr(rle, "settings", None)
        self._rate_window = (
            settings.window_seconds
            if isinstance(settings, RateLimitEvasionSettings)
            else RateLimitEvasionSettings().window_seconds
        )

    def forget(self, account_id: str) -> None:
        """Drop cached facts about an account (after a ban, a new attestation…)."""
        for cache in (self._links, self._banned, self._plan, self._age):
            cache.forget(account_id)

    def _is_banned(self, account_id: str) -> bool:
        now = self.store.now()
        return any(
            a.step in BLOCKING_STEPS and a.in_force(now)
            for a in self.store.enforcement.actions(account_id)
        )

    def _banned_cached(self, account_id: str) -> bool:
        return self._banned.get(account_id, lambda: self._is_banned(account_id))

    def context(self, event: RequestEvent) -> BehaviourContext:
        account = event.account_id
        recent = self.history.record(event)
        links = self._links.get(account, lambda: tuple(self.store.accounts.links(account)))
        banned = frozenset(
            link.account_id for link in links if self._banned_cached(link.account_id)
        )
        strong = [link.account_id for link in links if link.shared.keys() - {"network"}]
        counts = (
            self.history.account_counts(strong, event.at - dt.timedelta(seconds=self._rate_window))
            if strong
            else {}
        )
        return BehaviourContext(
            event=event,
            recent=recent,
            links=links,
            banned_accounts=banned,
            linked_counts=counts,
            plan=self._plan.get(account, lambda: self.store.accounts.plan_for(account)),
            age=self._age.get(account, lambda: self.store.accounts.age_attestation(account)),
            minimum_age=self.pack.defaults.minimum_age,
            parental_consent_allowed=self.pack.defaults.parental_consent_below_minimum,
        )

    def check(self, event: RequestEvent) -> Verdict:
        """Record ``event`` and decide the account's behaviour under the pack. A detector that
        fails is recorded as an error, so the pack's behaviour failure mode applies."""
        ctx = self.context(event)
        results: list[DetectorResult] = []
        for detector in self.detectors:
            started = time.perf_counter()
            try:
                res = detector.check(ctx)
            except Exception as exc:  # a broken detector must not allow silently
                res = DetectorResult(
                    detector=detector.name,
                    version=detector.version,
                    error=f"{type(exc).__name__}: {exc}",
                )
            elapsed = (time.perf_counter() - started) * 1000
            results.append(res.model_copy(update={"elapsed_ms": round(elapsed, 3)}))
        return decide(self.pack, results, Modality.ACCOUNT_EVENTS)
