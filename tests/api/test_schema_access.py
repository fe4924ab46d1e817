import re

import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/", "/api/redoc/"])
def test_the_schema_and_swagger_need_a_key(anon_client, path):
    assert anon_client.get(path).status_code == 401


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/", "/api/redoc/"])
def test_a_viewer_key_reads_the_schema_and_swagger(viewer_key, path):
    assert viewer_key.get(path).status_code == 200


def test_the_served_schema_describes_the_report_endpoint(manager_key):
    body = manager_key.get("/api/schema/?format=json").json()
    assert "/api/audit/" in body["paths"]
    assert "ServiceKey" in body["components"]["securitySchemes"]


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_swagger_and_redoc_load_every_asset_from_the_project_so_they_work_offline(viewer_key, path):
    page = viewer_key.get(path).content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets, "the page loads its scripts and styles"
    assert not [a for a in assets if a.startswith(("http:", "https:", "//"))]  # no CDN
    scripts = [a for a in assets if a.endswith(".js")]
    assert scripts
    for asset in scripts:  # each is a static file the project ships (drf-spectacular-sidecar)
        assert asset.startswith("/static/") and finders.find(asset.removeprefix("/static/")), asset
