import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/"])
def test_the_schema_and_swagger_need_a_key(anon_client, path):
    assert anon_client.get(path).status_code == 401


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/"])
def test_a_viewer_key_reads_the_schema_and_swagger(viewer_key, path):
    assert viewer_key.get(path).status_code == 200


def test_the_served_schema_describes_the_report_endpoint(manager_key):
    body = manager_key.get("/api/schema/?format=json").json()
    assert "/api/audit/" in body["paths"]
    assert "ServiceKey" in body["components"]["securitySchemes"]
