"""Shared fixtures: personas named for what they are, and markers that skip when a backend is absent."""

import importlib

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.test.utils import override_settings
from rest_framework.test import APIClient

from workforce.models import Role, ServiceKey

ON_POSTGRES = settings.DATABASE_VENDOR == "postgresql"
HAS_REDIS = bool(settings.REDIS_URL)


# Tests that take minutes. Split over processes (make test runs pytest-xdist), each starts first on its process,
# so the others share out the rest of the suite meanwhile instead of waiting for it at the end.
LONG_FIRST = ("tests/governance/test_fleet_simulation.py",)


@pytest.hookimpl(trylast=True)  # after pytest-django has put the transactional tests last
def pytest_collection_modifyitems(config, items):
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
    skip_redis = pytest.mark.skip(reason="needs Redis (set CELERY_BROKER_URL=redis://...)")
    for item in items:
        if "postgres" in item.keywords and not ON_POSTGRES:
            item.add_marker(skip_pg)
        if "redis" in item.keywords and not HAS_REDIS:
            item.add_marker(skip_redis)
    if getattr(config.option, "numprocesses", None):
        items.sort(key=lambda item: not item.nodeid.startswith(LONG_FIRST))


@pytest.fixture(autouse=True, scope="session")
def _test_settings():
    """Tests hash passwords with MD5: PBKDF2's deliberate slowness, paid for every persona, was most of the
    suite's time. Production keeps Django's default hashers (settings.py sets none).

    Every test calls from 127.0.0.1, so the failed-authentication limit would count one test's wrong keys
    against the next test's; the tests of that limit set their own (tests/api/test_auth_failure_throttle.py)."""
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "auth_failure": "1000000/min"}
    with override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates},
    ):
        yield


@pytest.fixture
def roles(db) -> dict[str, Group]:
    return {role.value: Group.objects.get_or_create(name=role.value)[0] for role in Role}


def _key_client(roles, role: str, name: str) -> APIClient:
    _, raw = ServiceKey.objects.create_key(name=name, role=roles[role])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    client.raw_key = raw
    return client


@pytest.fixture
def manager_key(roles) -> APIClient:
    """An API client holding a Manager's service key."""
    return _key_client(roles, Role.MANAGER.value, "manager")


@pytest.fixture
def auditor_key(roles) -> APIClient:
    return _key_client(roles, Role.AUDITOR.value, "auditor")


@pytest.fixture
def viewer_key(roles) -> APIClient:
    return _key_client(roles, Role.VIEWER.value, "viewer")


@pytest.fixture
def director_key(roles) -> APIClient:
    return _key_client(roles, Role.DIRECTOR.value, "director-key")


@pytest.fixture
def director(roles) -> User:
    """The human in charge: a staff user in the Director group."""
    user = User.objects.create_user("director", password="director-pass-Δ9", is_staff=True)
    user.groups.add(roles[Role.DIRECTOR.value])
    return user


@pytest.fixture
def viewer(roles) -> User:
    """A staff user who may look but not act."""
    user = User.objects.create_user("viewer", password="viewer-pass-Δ9", is_staff=True)
    user.groups.add(roles[Role.VIEWER.value])
    return user


@pytest.fixture
def anon_client() -> APIClient:
    return APIClient()


def _transactional(request) -> bool:
    marker = request.node.get_closest_marker("django_db")
    in_marker = marker is not None and (marker.kwargs.get("transaction") or (marker.args and marker.args[0]))
    return bool(in_marker) or {"transactional_db", "live_server"} & set(request.fixturenames) != set()


@pytest.fixture(autouse=True)
def _evidence_cleared_before_flush(request):
    """A transactional test ends with a flush. SQLite's flush deletes row by row, and the append-only triggers
    refuse that on evidence and its history without a purge permit: clear them under one first."""
    if not _transactional(request) or ON_POSTGRES:
        yield
        return
    request.getfixturevalue("transactional_db")
    yield
    from django.db import connection, transaction

    from governance.models import PendingSanction
    from governance.record_tables import GUARDED
    from governance.services.permits import purge_permit

    with transaction.atomic(), purge_permit(reason="test teardown", using="default"), connection.cursor() as cursor:
        # Children first: a held sanction points at an incident and an action.
        for table in (PendingSanction._meta.db_table, *GUARDED):
            cursor.execute(f"DELETE FROM {table}")


@pytest.fixture(autouse=True)
def _seed_defaults_present(request):
    """The seed policies and first settings version, as their data migration writes them, are there when a test
    begins. A transactional test's flush deletes them; run alone, pytest-django puts such tests last, but split
    over processes (pytest-xdist) one may run before another process's next test."""
    if request.node.get_closest_marker("django_db") is None and not {"db", "transactional_db"} & set(
        request.fixturenames
    ):
        yield
        return
    request.getfixturevalue("transactional_db" if _transactional(request) else "db")
    from django.apps import apps

    from governance.models import Policy

    if not Policy.objects.exists():
        importlib.import_module("governance.migrations.0006_seed_defaults").seed(apps, None)
    yield


@pytest.fixture(autouse=True)
def _governance_config_cache_cleared():
    """The settings and policies are cached per version in the process; a test's rollback leaves the version
    number where it was, so each test starts from a cold cache."""
    from governance.selectors import config_cache_clear

    config_cache_clear()
    yield
    config_cache_clear()
