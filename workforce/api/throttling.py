"""The API's rate limits: one fixed-window counter per service key, user or client address, and one per client
address for failed authentications.

Counting is one round trip: Redis INCR and EXPIRE in one pipeline when the cache is Redis (shared by every
process), else a counter in this process's memory (the embedded single-machine default, where the web server is
one process). A throttle must never take the API down: if Redis cannot be reached, the request is let through
and a warning logged (docs/operations.md).
"""

import logging
import threading
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

log = logging.getLogger(__name__)

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
REDIS_RETRY_AFTER = 10  # seconds: after a failure, requests do not wait on Redis again before then
_redis_down_until = 0.0


def parse_rate(rate: str) -> tuple[int, int]:
    count, _, period = rate.partition("/")
    return int(count), PERIODS[period[0]]


class _LocalCounters:
    """Fixed-window counters in this process, for caches that cannot count atomically in one round trip."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: dict[str, int] = {}
        self.window = None

    def incr(self, key: str, window: int) -> int:
        with self.lock:
            if window != self.window:  # a new window: forget the old counts
                self.counts, self.window = {}, window
            self.counts[key] = self.counts.get(key, 0) + 1
            return self.counts[key]


_local = _LocalCounters()


def _redis_client():
    backend = getattr(cache, "_cache", None)
    return backend.get_client(None, write=True) if backend is not None and hasattr(backend, "get_client") else None


class KeyRateThrottle(BaseThrottle):
    """One bucket per service key or user (or client address, before authentication)."""

    scope = "key"
    THROTTLE_RATES = None  # tests may set {scope: rate}; otherwise REST_FRAMEWORK's DEFAULT_THROTTLE_RATES

    def rate(self) -> str:
        rates = self.THROTTLE_RATES or settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
        return rates[self.scope]

    def ident(self, request) -> str:
        user = request.user
        key_id = getattr(user, "key_id", None)
        if key_id:
            return f"key:{key_id}"
        if user and user.is_authenticated:
            return f"user:{user.pk}"
        return f"anon:{self.get_ident(request)}"

    def allow_request(self, request, view) -> bool:
        limit, period = parse_rate(self.rate())
        now = time.time()
        window = int(now // period)
        key = f"throttle_{self.scope}_{self.ident(request)}_{window}"
        count = self.count(key, window, period)
        self.wait_seconds = period - (now % period)
        return count is None or count <= limit

    def count(self, key: str, window: int, period: int) -> int | None:
        return _count(key, window, period)

    def wait(self) -> float:
        return self.wait_seconds


def _count(key: str, window: int, period: int) -> int | None:
    """The window's count after this request, or None when it cannot be counted (the request goes on)."""
    global _redis_down_until
    client = _redis_client()
    if client is None:
        return _local.incr(key, window)
    if time.monotonic() < _redis_down_until:
        return _local.incr(key, window)  # Redis failed moments ago: count here rather than wait on it again
    try:
        pipe = client.pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, period + 1)
        return pipe.execute()[0]
    except Exception as exc:  # redis-py raises several types for "unreachable"; none may become a 500
        log.warning("throttle counted in this process for %ss: Redis unavailable: %s", REDIS_RETRY_AFTER, exc)
        _redis_down_until = time.monotonic() + REDIS_RETRY_AFTER
        return None


class FailedAuthThrottle:
    """Failed authentications per client address, counted like the rate limit above (Redis, failing open).

    Only failures are counted, so a valid key is never slowed by them, even from an address that is being
    refused: an address shared behind one NAT must not let a misconfigured client lock the Manager out, and a
    key's 190 random bits are not guessed by trying. Past the rate, a wrong key gets 429 instead of 401."""

    scope = "auth_failure"
    THROTTLE_RATES = None  # tests may set {scope: rate}; otherwise REST_FRAMEWORK's DEFAULT_THROTTLE_RATES

    def failed(self, request) -> float | None:
        """Count one failure from the request's address; the seconds to wait if it is over the rate, else None."""
        rates = self.THROTTLE_RATES or settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
        limit, period = parse_rate(rates[self.scope])
        now = time.time()
        window = int(now // period)
        count = _count(f"throttle_{self.scope}_{BaseThrottle().get_ident(request)}_{window}", window, period)
        return None if count is None or count <= limit else period - (now % period)
