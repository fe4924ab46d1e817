"""Failed authentication is throttled per client address: wrong keys at a high rate get 429 with Retry-After,
while a valid key from the same address goes on working. Counted in Redis when configured, failing open."""

import uuid

import pytest
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient

from workforce.api import throttling
from workforce.api.throttling import FailedAuthThrottle

pytestmark = pytest.mark.django_db

LIMIT = 5


@pytest.fixture
def five_failures_a_minute(monkeypatch) -> str:
    # A fresh scope per test instead of clearing the cache: with Redis, clearing would flush the broker's DB.
    scope = f"auth_failure-{uuid.uuid4().hex}"
    monkeypatch.setattr(FailedAuthThrottle, "scope", scope)
    monkeypatch.setattr(FailedAuthThrottle, "THROTTLE_RATES", {scope: f"{LIMIT}/min"})
    return scope


def _bogus(address: str = "203.0.113.7", key: str = "bogus.key-that-matches-nothing") -> APIClient:
    client = APIClient(REMOTE_ADDR=address)
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def test_the_failure_rate_is_one_setting():
    assert FailedAuthThrottle.scope in settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]


def test_wrong_keys_from_one_address_get_429_with_retry_after_and_a_json_body_past_the_limit(five_failures_a_minute):
    client = _bogus()
    answers = [client.get("/api/workers/") for _ in range(LIMIT + 2)]

    assert [a.status_code for a in answers] == [401] * LIMIT + [429, 429]
    refused = answers[-1]
    assert refused["Content-Type"] == "application/json"
    assert refused.json()["code"] == "throttled"
    assert 0 < int(refused["Retry-After"]) <= 60


def test_a_valid_key_from_the_same_address_is_unaffected_by_its_failures(five_failures_a_minute, manager_key):
    manager_key.defaults["REMOTE_ADDR"] = "203.0.113.7"
    bogus = _bogus()
    for _ in range(LIMIT):
        assert bogus.get("/api/workers/").status_code == 401
        assert manager_key.get("/api/workers/").status_code == 200
    assert bogus.get("/api/workers/").status_code == 429
    assert manager_key.get("/api/workers/").status_code == 200


def test_each_address_has_its_own_failure_budget(five_failures_a_minute):
    for _ in range(LIMIT + 1):
        _bogus("203.0.113.7").get("/api/workers/")

    assert _bogus("203.0.113.7").get("/api/workers/").status_code == 429
    assert _bogus("198.51.100.2").get("/api/workers/").status_code == 401


def test_a_revoked_key_and_an_empty_key_count_as_failures(five_failures_a_minute, roles):
    from workforce.models import ServiceKey

    revoked, raw = ServiceKey.objects.create_key(name="gone", role=roles["Manager"])
    ServiceKey.objects.filter(pk=revoked.pk).update(revoked=True)
    statuses = [_bogus(key=raw).get("/api/workers/").status_code for _ in range(LIMIT)]
    statuses.append(_bogus(key="").get("/api/workers/").status_code)

    assert statuses == [401] * LIMIT + [429]


@pytest.mark.redis
def test_failure_counters_live_in_redis_when_redis_is_configured(five_failures_a_minute):
    _bogus().get("/api/workers/")

    assert cache._cache.get_client().keys(f"*throttle_{five_failures_a_minute}_203.0.113.7_*")


def test_with_redis_unreachable_wrong_keys_still_get_401_and_are_counted_here(five_failures_a_minute, monkeypatch):
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    monkeypatch.setattr(throttling, "_redis_client", lambda: dead)
    monkeypatch.setattr(throttling, "_redis_down_until", 0.0)
    client = _bogus("192.0.2.44")
    statuses = [client.get("/api/workers/").status_code for _ in range(LIMIT + 2)]

    # The call that found Redis down goes uncounted (fails open); the next ones are counted in this process.
    assert statuses == [401] * (LIMIT + 1) + [429]


def test_a_forged_forwarded_for_header_does_not_buy_a_fresh_failure_budget(five_failures_a_minute):
    answers = [
        _bogus().get("/api/workers/", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code for n in range(LIMIT + 1)
    ]

    assert answers == [401] * LIMIT + [429]  # counted by the connection's address, not the header
