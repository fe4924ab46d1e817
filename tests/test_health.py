"""GET /healthz: open to anyone, 200 when the database and the broker answer, 503 naming what failed."""

import pytest

from aura_project.celery import app as celery_app

UNREACHABLE_BROKER = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@pytest.fixture
def unreachable_broker(monkeypatch):
    """Point the Celery app's broker connection at a port nobody listens on. The database stays real."""
    monkeypatch.delenv("CELERY_BROKER_WRITE_URL", raising=False)
    previous = celery_app.conf.get("broker_write_url")
    celery_app.conf.broker_write_url = UNREACHABLE_BROKER
    assert celery_app.conf.broker_write_url == UNREACHABLE_BROKER
    yield
    celery_app.conf.broker_write_url = previous


@pytest.mark.django_db
def test_healthz_is_ok_without_login(anon_client):
    response = anon_client.get("/healthz")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"] == {"database": "ok", "broker": "ok"}
    assert "failed" not in body
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_is_503_naming_the_broker_when_it_is_unreachable(anon_client, unreachable_broker):
    response = anon_client.get("/healthz")

    assert response.status_code == 503, response.content
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["failed"] == ["broker"]
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"] == "unavailable"
    assert "127.0.0.1" not in response.content.decode(), "an anonymous caller must not learn the broker's address"


@pytest.mark.django_db
def test_healthz_recovers_when_the_broker_is_back(anon_client, unreachable_broker):
    assert anon_client.get("/healthz").status_code == 503
    celery_app.conf.broker_write_url = None

    assert anon_client.get("/healthz").status_code == 200


@pytest.mark.django_db
def test_healthz_only_answers_get(anon_client):
    assert anon_client.post("/healthz").status_code == 405
