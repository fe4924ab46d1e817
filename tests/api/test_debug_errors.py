"""In development (DEBUG on, as `make run` runs), API errors are JSON too, not Django's HTML debug pages."""

import pytest

from governance.api import views

pytestmark = pytest.mark.django_db


@pytest.fixture
def debug(settings):
    settings.DEBUG = True


def test_a_url_matching_no_route_answers_json_404_in_development(debug, manager_key):
    response = manager_key.get("/api/incidents/xyz/")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "not_found"


def test_an_exception_escaping_a_view_answers_json_500_in_development(debug, manager_key, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("the secret internals")

    monkeypatch.setattr(views.IncidentListView, "get", broken)
    manager_key.raise_request_exception = False

    response = manager_key.get("/api/incidents/")

    assert response.status_code == 500
    assert response.json() == {"detail": "internal server error", "code": "server_error"}
    assert "the secret internals" not in response.content.decode()
    assert "the secret internals" in caplog.text  # still logged, with its traceback


def test_outside_the_api_development_keeps_its_debug_pages(debug, client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
