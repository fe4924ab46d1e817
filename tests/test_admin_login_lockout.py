"""The admin login locks a username tried from one address after repeated wrong passwords (django-axes).

Every login here is a real POST to /admin/login/, as a browser sends it: the lockout lives in the request path.
"""

import io
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core.management import call_command
from django.test import Client

PASSWORD = "director-pass-Δ9"  # the director fixture's
LOGIN = "/admin/login/?next=/admin/"


def log_in(client: Client, username: str, password: str):
    return client.post(LOGIN, {"username": username, "password": password})


def logged_in(client: Client) -> bool:
    return client.get("/admin/").status_code == 200


def fail_to_the_limit(client: Client, username: str = "director"):
    responses = [log_in(client, username, "wrong-password") for _ in range(settings.AXES_FAILURE_LIMIT)]
    return responses[-1]


@pytest.mark.django_db
def test_the_right_password_is_refused_after_the_failure_limit(director):
    client = Client()

    locked = fail_to_the_limit(client)
    answer = log_in(client, "director", PASSWORD)

    assert locked.status_code == 429
    assert answer.status_code == 429
    assert not logged_in(client)


@pytest.mark.django_db
def test_one_failure_short_of_the_limit_still_logs_in(director):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert log_in(client, "director", "wrong-password").status_code == 200  # the form, with its error

    log_in(client, "director", PASSWORD)

    assert logged_in(client)
    assert not AccessAttempt.objects.filter(username="director").exists(), "a success forgets the failures"


@pytest.mark.django_db
def test_the_lockout_page_says_when_it_unlocks_and_how_the_director_unlocks_it(director):
    page = fail_to_the_limit(Client()).content.decode()

    assert "Login locked" in page
    assert "It unlocks at" in page
    assert f"{settings.AXES_COOLOFF_TIME.total_seconds() // 60:.0f} minutes after the last attempt" in page
    assert "manage.py axes_reset_username director" in page


@pytest.mark.django_db
def test_another_user_from_the_same_address_is_not_locked(director, viewer):
    client = Client()
    fail_to_the_limit(client, "director")

    log_in(client, "viewer", "viewer-pass-Δ9")

    assert logged_in(client)


@pytest.mark.django_db
def test_the_same_user_from_another_address_is_not_locked(director):
    fail_to_the_limit(Client(REMOTE_ADDR="203.0.113.7"))
    client = Client(REMOTE_ADDR="198.51.100.9")

    log_in(client, "director", PASSWORD)

    assert logged_in(client)


@pytest.mark.django_db
def test_axes_reset_username_unlocks_the_login(director):
    client = Client()
    fail_to_the_limit(client)

    call_command("axes_reset_username", "director", stdout=io.StringIO())
    log_in(client, "director", PASSWORD)

    assert logged_in(client)


@pytest.mark.django_db
def test_the_lock_ends_a_cool_off_after_the_last_attempt(director):
    client = Client()
    fail_to_the_limit(client)
    log_in(client, "director", PASSWORD)  # refused, and it starts the wait again
    attempt = AccessAttempt.objects.get(username="director")

    attempt.attempt_time -= settings.AXES_COOLOFF_TIME - timedelta(seconds=30)
    attempt.save()
    assert log_in(client, "director", PASSWORD).status_code == 429, "still inside the cool-off"

    AccessAttempt.objects.filter(pk=attempt.pk).update(attempt_time=attempt.attempt_time - timedelta(hours=1))
    log_in(client, "director", PASSWORD)
    assert logged_in(client)


@pytest.mark.django_db
def test_a_locked_address_still_reaches_the_api_with_its_key(director, manager_key):
    fail_to_the_limit(Client())

    assert manager_key.get("/api/workers/").status_code == 200


def _settings_in_a_fresh_interpreter(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    show = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.AXES_FAILURE_LIMIT, s.AXES_COOLOFF_TIME)"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AURA_", "PYTEST_"))}
    base.update(DJANGO_SETTINGS_MODULE="aura_project.settings", AURA_DATA_DIR=str(tmp_path), **env)
    return subprocess.run(
        [sys.executable, "-c", show],
        cwd=Path(__file__).resolve().parent.parent,
        env=base,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_limit_and_the_cool_off_come_from_the_environment(tmp_path):
    default = _settings_in_a_fresh_interpreter(tmp_path)
    tuned = _settings_in_a_fresh_interpreter(tmp_path, AURA_LOGIN_FAILURE_LIMIT="3", AURA_LOGIN_COOLOFF_MINUTES="60")

    assert default.stdout.split() == ["5", "0:15:00"], default.stderr
    assert tuned.stdout.split() == ["3", "1:00:00"], tuned.stderr


@pytest.mark.parametrize("name", ["AURA_LOGIN_FAILURE_LIMIT", "AURA_LOGIN_COOLOFF_MINUTES"])
def test_a_limit_or_cool_off_below_one_fails_at_startup_naming_it(tmp_path, name):
    result = _settings_in_a_fresh_interpreter(tmp_path, **{name: "0"})

    assert result.returncode != 0
    assert name in result.stderr
