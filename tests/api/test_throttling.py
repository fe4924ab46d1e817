"""Each key has its own request budget, counted in the shared cache (Redis when configured)."""

import uuid

import pytest
from django.conf import settings
from django.core.cache import cache

from workforce.api.throttling import KeyRateThrottle

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_per_minute(monkeypatch):
    # A fresh scope per test instead of clearing the cache: with Redis, clearing would flush the broker's DB.
    scope = f"key-{uuid.uuid4().hex}"
    monkeypatch.setattr(KeyRateThrottle, "scope", scope)
    monkeypatch.setattr(KeyRateThrottle, "THROTTLE_RATES", {scope: "3/min"})
    return scope


def test_a_key_over_its_rate_gets_429(manager_key, three_per_minute):
    answers = [manager_key.get("/api/workers/").status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]


def test_each_key_has_its_own_budget(manager_key, viewer_key, three_per_minute):
    for _ in range(3):
        assert manager_key.get("/api/workers/").status_code == 200
    assert manager_key.get("/api/workers/").status_code == 429
    assert viewer_key.get("/api/workers/").status_code == 200


@pytest.mark.redis
def test_throttle_counters_live_in_redis_when_redis_is_configured(manager_key, three_per_minute):
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    manager_key.get("/api/workers/")
    keys = cache._cache.get_client().keys(f"*throttle_{three_per_minute}_*")
    assert keys, "the throttle's counter was not written to Redis"


def test_the_throttle_lets_requests_through_when_redis_is_unreachable(manager_key, three_per_minute, monkeypatch):
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    from workforce.api import throttling

    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    monkeypatch.setattr(throttling, "_redis_client", lambda: dead)
    monkeypatch.setattr(throttling, "_redis_down_until", 0.0)
    answers = [manager_key.get("/api/workers/").status_code for _ in range(5)]
    # The failed call lets its request through; the next ones are counted in this process, not refused for
    # Redis's sake: the API stays up, and the budget still holds.
    assert answers == [200, 200, 200, 200, 429]
