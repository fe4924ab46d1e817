"""manage.py bootstrap and issue_api_key."""

import io
import re

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command
from rest_framework.test import APIRequestFactory

from workforce.api.auth import ServiceKeyAuthentication
from workforce.models import Role, ServiceKey

PASSWORD_LINE = re.compile(r"^\s*password:\s*(\S+)\s*$", re.MULTILINE)


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


# --- bootstrap ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_bootstrap_creates_the_four_role_groups():
    run("bootstrap")

    assert set(Group.objects.values_list("name", flat=True)) >= {"Director", "Manager", "Auditor", "Viewer"}


@pytest.mark.django_db
def test_bootstrap_creates_the_director_once_with_a_password_printed_once():
    first = run("bootstrap")
    passwords = PASSWORD_LINE.findall(first)
    assert len(passwords) == 1, first
    password = passwords[0]

    director = User.objects.get(username="director")
    assert director.is_staff and director.is_superuser and director.is_active
    assert director.groups.filter(name=Role.DIRECTOR.value).exists()
    assert director.check_password(password)
    assert len(password) >= 12

    second = run("bootstrap")
    assert not PASSWORD_LINE.search(second), second
    assert password not in second
    assert "already exists" in second
    assert User.objects.filter(username="director").count() == 1
    director.refresh_from_db()
    assert director.check_password(password), "a re-run must not reset the password"


@pytest.mark.django_db
def test_bootstrap_never_uses_a_fixed_password():
    first = PASSWORD_LINE.findall(run("bootstrap"))
    User.objects.filter(username="director").delete()
    second = PASSWORD_LINE.findall(run("bootstrap"))

    assert first and second and first != second


@pytest.mark.django_db
def test_bootstrap_logs_the_director_into_the_admin(client):
    password = PASSWORD_LINE.findall(run("bootstrap"))[0]

    # Through the login form, as the Director would: django-axes refuses client.login()'s request-less authenticate().
    client.post("/admin/login/?next=/admin/", {"username": "director", "password": password})
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_bootstrap_leaves_existing_groups_and_users_alone(roles):
    before = {g.name: g.pk for g in Group.objects.all()}
    run("bootstrap")
    run("bootstrap")

    after = {g.name: g.pk for g in Group.objects.filter(name__in=before)}
    assert after == before
    assert Group.objects.count() == 4


# --- issue_api_key ------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("given", "role"), [("manager", "Manager"), ("AUDITOR", "Auditor"), ("Viewer", "Viewer")])
def test_issue_api_key_prints_a_valid_key_last(given, role):
    output = run("issue_api_key", "svc", "--role", given)
    raw_key = output.strip().splitlines()[-1]

    assert ServiceKey.objects.is_valid(raw_key)
    key = ServiceKey.objects.get_from_key(raw_key)
    assert key.name == "svc"
    assert key.role.name == role
    assert Group.objects.filter(name__in=[r.value for r in Role]).count() == 4, "the groups are created on demand"


@pytest.mark.django_db
def test_issued_key_authenticates_an_api_request_in_its_role():
    raw_key = run("issue_api_key", "manager-prod", "--role", "manager").strip().splitlines()[-1]
    request = APIRequestFactory().get("/api/", HTTP_AUTHORIZATION=f"Api-Key {raw_key}")

    principal, key = ServiceKeyAuthentication().authenticate(request)

    assert principal.role == Role.MANAGER.value
    assert principal.name == "manager-prod"
    assert key.role.name == Role.MANAGER.value


@pytest.mark.django_db
def test_issue_api_key_keys_differ_and_are_stored_hashed():
    first = run("issue_api_key", "a", "--role", "viewer").strip().splitlines()[-1]
    second = run("issue_api_key", "a", "--role", "viewer").strip().splitlines()[-1]

    assert first != second
    stored = list(ServiceKey.objects.values_list("hashed_key", flat=True))
    assert first not in stored and second not in stored


@pytest.mark.django_db
def test_issue_api_key_rejects_an_unknown_role():
    with pytest.raises(CommandError, match="unknown role"):
        run("issue_api_key", "svc", "--role", "janitor")
    assert not ServiceKey.objects.exists()


@pytest.mark.django_db
def test_issue_api_key_requires_a_role():
    with pytest.raises(CommandError):
        run("issue_api_key", "svc")
