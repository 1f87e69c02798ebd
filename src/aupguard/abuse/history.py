"""The request history behaviour detectors read: recent requests per API key and per
account, and hourly request counts per account for a volume baseline. In-process by default;
Redis for many workers. Prompts are kept only as a shape (hashes of their words), never as
text."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import zlib
from collections import defaultdict, deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

if TYPE_CHECKING:
    import redis

_WORD = re.compile(r"\w+", re.UNICODE)
MAX_SHAPE_WORDS = 48
HISTORY_DEPTH = 200  # requests kept per key and per account
BASELINE_HOURS = 24 * 7


def prompt_shape(text: str) -> tuple[int, ...]:
    """The words of a prompt as 32-bit hashes, enough to see a
    templated sweep without keeping the prompt."""
    words = _WORD.findall(text.casefold())[:MAX_SHAPE_WORDS]
    return tuple(zlib.crc32(w.encode("utf-8")) for w in words)


class RequestEvent(BaseModel):
    """One request as behaviour detectors see it. ``at`` is the server's time."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    at: dt.datetime
    account_id: str
    key_id: str | None = None
    ip: str | None = None
    network: str | None = None  # the /24 or /48 of ``ip`` (filled by the guard)
    device: str | None = Field(default=None, max_length=200)
    user_agent: str | None = Field(default=None, max_length=400)
    geo: tuple[float, float] | None = None  # (latitude, longitude) from the operator's edge
    operation: str = "check"
    cost: float = 1.0
    shape: tuple[int, ...] = ()

    @field_validator("at")
    @classmethod
    def _aware(cls, value: dt.datetime) -> dt.datetime:
        if value.tzinfo is None:
            raise ValueError("request time must be timezone-aware (UTC)")
        return value

    @field_validator("geo")
    @classmethod
    def _geo(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and not (-90 <= value[0] <= 90 and -180 <= value[1] <= 180):
            raise ValueError(f"not a latitude/longitude pair: {value}")
        return value


class Recent(BaseModel):
    """What the history knows around one request (the request itself included)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    by_key: tuple[RequestEvent, ...]
    by_account: tuple[RequestEvent, ...]
    hourly: dict[int, int]  # hour number (epoch hours) -> requests of the account


class RequestHistory(Protocol):
    def record(self, event: RequestEvent) -> Recent:
        """Add ``event`` and return the history around it, in one step."""
        ...

    def account_counts(self, account_ids: Sequence[str], since: dt.datetime) -> dict[str, int]:
        """Requests per account since ``since`` (for summed rates of linked accounts)."""
        ...


def _hour(at: dt.datetime) -> int:
    return int(at.timestamp() // 3600)


class MemoryHistory:
    def __init__(self, depth: int = HISTORY_DEPTH):
        self._depth = depth
        self._by_key: dict[str, deque[RequestEvent]] = defaultdict(lambda: deque(maxlen=depth))
        self._by_account: dict[str, deque[RequestEvent]] = defaultdict(lambda: deque(maxlen=depth))
        self._hourly: dict[str, dict[int, int]] = defaultdict(dict)
        self._lock = threading.Lock()

    def record(self, event: RequestEvent) -> Recent:
        hour = _hour(event.at)
        with self._lock:
            by_account = self._by_account[event.account_id]
            by_account.append(event)
            by_key: tuple[RequestEvent, ...] = ()
            if event.key_id:
                self._by_key[event.key_id].append(event)
                by_key = tuple(self._by_key[event.key_id])
            hours = self._hourly[event.account_id]
            hours[hour] = hours.get(hour, 0) + 1
            if len(hours) > BASELINE_HOURS + 1:
                for old in [h for h in hours if h < hour - BASELINE_HOURS]:
                    del hours[old]
            return Recent(by_key=by_key, by_account=tuple(by_account), hourly=dict(hours))

    def account_counts(self, account_ids: Sequence[str], since: dt.datetime) -> dict[str, int]:
        with self._lock:
            return {
                a: sum(1 for e in self._by_account.get(a, ()) if e.at >= since) for a in account_ids
            }


class RedisHistory:
    """Lists of recent requests per key and account, hourly counts in a hash; one pipelined
    round trip per request."""

    def __init__(
        self, client: redis.Redis, *, prefix: str = "aupguard:hist:", depth: int = HISTORY_DEPTH
    ):
        self._client = client
        self._prefix = prefix
        self._depth = depth

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "aupguard:hist:") -> RedisHistory:
        import redis as redis_lib

        return cls(redis_lib.Redis.from_url(url, socket_timeout=2), prefix=prefix)

    def record(self, event: RequestEvent) -> Recent:
        raw = event.model_dump_json(exclude_defaults=True)
        account_key = f"{self._prefix}a:{event.account_id}"
        hours_key = f"{self._prefix}h:{event.account_id}"
        pipe = self._client.pipeline(transaction=False)
        pipe.lpush(account_key, raw)
        pipe.ltrim(account_key, 0, self._depth - 1)
        pipe.expire(account_key, 86400)
        pipe.lrange(account_key, 0, self._depth - 1)
        pipe.hincrby(hours_key, str(_hour(event.at)), 1)
        pipe.expire(hours_key, (BASELINE_HOURS + 2) * 3600)
        pipe.hgetall(hours_key)
        if event.key_id:
            key_key = f"{self._prefix}k:{event.key_id}"
            pipe.lpush(key_key, raw)
            pipe.ltrim(key_key, 0, self._depth - 1)
            pipe.expire(key_key, 86400)
            pipe.lrange(key_key, 0, self._depth - 1)
        out = pipe.execute()
        by_account = tuple(RequestEvent.model_validate_json(x) for x in reversed(out[3]))
        hourly = {int(h): int(n) for h, n in out[6].items()}
        by_key: tuple[RequestEvent, ...] = ()
        if event.key_id:
            by_key = tuple(RequestEvent.model_validate_json(x) for x in reversed(out[10]))
        return Recent(by_key=by_key, by_account=by_account, hourly=hourly)

    def account_counts(self, account_ids: Sequence[str], since: dt.datetime) -> dict[str, int]:
        pipe = self._client.pipeline(transaction=False)
        for a in account_ids:
            pipe.lrange(f"{self._prefix}a:{a}", 0, self._depth - 1)
        counts: dict[str, int] = {}
        for a, rows in zip(account_ids, pipe.execute(), strict=True):
            counts[a] = sum(
                1 for x in rows if dt.datetime.fromisoformat(json.loads(x)["at"]) >= since
            )
        return counts
