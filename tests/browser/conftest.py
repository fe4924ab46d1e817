"""A real headless Chromium, driven by selenium against pytest-django's live_server.

Browser tests skip, with the reason, when selenium, Chromium or its driver is missing, except where
AURA_REQUIRE_BROWSER=1 (CI sets it): there a missing browser fails them, so CI never passes on skipped browser
tests. The binaries default to Debian's (`apt-get install chromium chromium-driver`); AURA_CHROMIUM and
AURA_CHROMEDRIVER point elsewhere.
"""

import importlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.db import transaction

from governance.models import AuditRecord, DisciplinaryAction, Finding, Incident, Penalty, ScoreRecord
from governance.services.permits import purge_permit
from workforce.models import Event

# Flags that keep a headless Chromium quiet and self-contained on a build machine: no GPU, no sandbox (root
# in a container), no QUIC, and no calls home for updates, sync or components.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1800",
]


def _binary(env: str, default: str, name: str) -> str | None:
    configured = os.environ.get(env)
    if configured:
        return configured if Path(configured).exists() else None
    return default if Path(default).exists() else shutil.which(name)


CHROMIUM = _binary("AURA_CHROMIUM", "/usr/bin/chromium", "chromium")
CHROMEDRIVER = _binary("AURA_CHROMEDRIVER", "/usr/bin/chromedriver", "chromedriver")


def _missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -r requirements-dev.txt)"
    if CHROMIUM is None:
        return "no Chromium (apt-get install chromium, or set AURA_CHROMIUM)"
    if CHROMEDRIVER is None:
        return "no chromedriver (apt-get install chromium-driver, or set AURA_CHROMEDRIVER)"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _missing()
    if reason is None:
        return
    if os.environ.get("AURA_REQUIRE_BROWSER") == "1":
        raise pytest.UsageError(f"AURA_REQUIRE_BROWSER=1 but the browser tests cannot run: {reason}")
    skip = pytest.mark.skip(reason=f"browser test: {reason}")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def chromium(tmp_path_factory) -> Iterator[object]:
    """A fresh headless Chromium with a profile of its own, quit after the test."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(5)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(autouse=True)
def governance_defaults(transactional_db) -> None:
    """The seed policies and first settings version, written again: an earlier live-server test's flush
    removed what the data migration wrote, and without policies a hallucination earns no strike."""
    importlib.import_module("governance.migrations.0006_seed_defaults").seed(django_apps, None)


@pytest.fixture
def evidence_cleared(live_server) -> Iterator[None]:
    """Delete the evidence a live-server test leaves behind, under a purge permit, before the test database is
    flushed: SQLite's flush deletes row by row, and the append-only triggers refuse that without a permit."""
    yield
    with transaction.atomic(), purge_permit(reason="browser test teardown"):
        for model in (Finding, Penalty, DisciplinaryAction, ScoreRecord, AuditRecord, Incident, Event):
            rows = model.objects.all()
            rows._raw_delete(rows.db)
