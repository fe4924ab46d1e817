"""Settings come from the environment: bad values and unsafe production setups fail loudly, naming the variable."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from aura_project import settings as aura_settings

REPO_ROOT = Path(__file__).resolve().parent.parent


# --- helpers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"), [("1", True), ("TRUE", True), (" yes ", True), ("off", False), ("0", False)]
)
def test_env_bool_reads_common_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("AURA_TEST_FLAG", raw)
    assert aura_settings.env_bool("AURA_TEST_FLAG", not expected) is expected


def test_env_bool_rejects_other_values_naming_the_variable(monkeypatch):
    monkeypatch.setenv("AURA_TEST_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="AURA_TEST_FLAG"):
        aura_settings.env_bool("AURA_TEST_FLAG", False)


def test_env_int_rejects_a_non_integer_naming_the_variable(monkeypatch):
    monkeypatch.setenv("AURA_TEST_NUMBER", "ten")
    with pytest.raises(ImproperlyConfigured, match="AURA_TEST_NUMBER"):
        aura_settings.env_int("AURA_TEST_NUMBER", 1)


@pytest.mark.parametrize("raw", ["lots", "10", "10/fortnight", "/min", "ten/min"])
def test_env_rate_rejects_a_malformed_throttle_rate_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv("AURA_TEST_RATE", raw)
    with pytest.raises(ImproperlyConfigured, match="AURA_TEST_RATE"):
        aura_settings.env_rate("AURA_TEST_RATE", "1/s")


@pytest.mark.parametrize("raw", ["6000/min", "10/s", "100/hour", "5/day"])
def test_env_rate_accepts_drf_rates(monkeypatch, raw):
    monkeypatch.setenv("AURA_TEST_RATE", raw)
    assert aura_settings.env_rate("AURA_TEST_RATE", "1/s") == raw


def test_empty_values_fall_back_to_the_default(monkeypatch):
    for name in ("AURA_TEST_FLAG", "AURA_TEST_NUMBER", "AURA_TEST_LIST", "AURA_TEST_STR"):
        monkeypatch.setenv(name, "")
    assert aura_settings.env_bool("AURA_TEST_FLAG", True) is True
    assert aura_settings.env_int("AURA_TEST_NUMBER", 7) == 7
    assert aura_settings.env_list("AURA_TEST_LIST", ["a"]) == ["a"]
    assert aura_settings.env_str("AURA_TEST_STR", "d") == "d"


def test_env_list_splits_on_commas_and_drops_blanks(monkeypatch):
    monkeypatch.setenv("AURA_TEST_LIST", " a.example, ,b.example,")
    assert aura_settings.env_list("AURA_TEST_LIST", []) == ["a.example", "b.example"]


# --- whole settings module, loaded in a fresh interpreter ---------------------------------------


def _load_settings(tmp_path, command: str = "import django; django.setup()", **overrides: str | None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AURA_", "PYTEST_"))}
    env.update(DJANGO_SETTINGS_MODULE="aura_project.settings", AURA_DATA_DIR=str(tmp_path))
    env.pop("SECRET_KEY", None)
    env.pop("ALLOWED_HOSTS", None)
    env.pop("DEBUG", None)
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return subprocess.run(
        [sys.executable, "-c", command], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_production_without_secret_key_fails_naming_it(tmp_path):
    result = _load_settings(tmp_path, AURA_ENV="production", ALLOWED_HOSTS="example.com")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr
    assert not (tmp_path / "secret_key").exists(), "production must never fall back to a generated key"


def test_production_without_allowed_hosts_fails_naming_it(tmp_path):
    result = _load_settings(tmp_path, AURA_ENV="production", SECRET_KEY=secrets.token_urlsafe(50))

    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


def test_unknown_aura_env_fails_naming_it(tmp_path):
    result = _load_settings(tmp_path, AURA_ENV="staging")

    assert result.returncode != 0
    assert "AURA_ENV" in result.stderr


def test_a_bad_throttle_rate_fails_at_startup_naming_it(tmp_path):
    result = _load_settings(tmp_path, AURA_THROTTLE_RATE="lots")

    assert result.returncode != 0
    assert "AURA_THROTTLE_RATE" in result.stderr


def test_a_bad_boolean_fails_at_startup_naming_it(tmp_path):
    result = _load_settings(tmp_path, DEBUG="sometimes")

    assert result.returncode != 0
    assert "DEBUG" in result.stderr


def test_development_generates_and_keeps_a_secret_key(tmp_path):
    show_key = "import django; django.setup(); from django.conf import settings; print(settings.SECRET_KEY)"
    first = _load_settings(tmp_path, show_key)
    second = _load_settings(tmp_path, show_key)

    assert first.returncode == 0, first.stderr
    key = first.stdout.strip()
    assert len(key) >= 50
    assert second.stdout.strip() == key
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_production_passes_the_deploy_check(tmp_path):
    command = (
        "import sys, django; django.setup(); from django.core.management import call_command; "
        "call_command('check', deploy=True, fail_level='WARNING')"
    )
    result = _load_settings(
        tmp_path, command, AURA_ENV="production", SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="example.com"
    )

    assert result.returncode == 0, result.stdout + result.stderr


# --- production refuses unsafe settings at import (issue 9) -------------------------------------

SAFE_PRODUCTION = {"AURA_ENV": "production", "SECRET_KEY": "k" * 50, "ALLOWED_HOSTS": "aura.example.com"}


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"DEBUG": "true"}, "DEBUG"),
        ({"SECRET_KEY": "k" * 49}, "SECRET_KEY"),
        ({"ALLOWED_HOSTS": "*"}, "ALLOWED_HOSTS"),
        ({"ALLOWED_HOSTS": "aura.example.com,*"}, "ALLOWED_HOSTS"),
    ],
    ids=["debug", "short-secret-key", "wildcard-host", "wildcard-among-hosts"],
)
def test_production_refuses_to_start_with_an_unsafe_setting_naming_it(tmp_path, override, named):
    result = _load_settings(tmp_path, **{**SAFE_PRODUCTION, **override})

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert named in result.stderr.strip().splitlines()[-1]


def test_production_starts_with_a_fifty_character_key_named_hosts_and_a_subdomain_pattern(tmp_path):
    show = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
    result = _load_settings(tmp_path, show, **{**SAFE_PRODUCTION, "ALLOWED_HOSTS": "aura.example.com,.example.org"})

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_development_still_starts_with_debug_and_a_short_key(tmp_path):
    result = _load_settings(tmp_path, DEBUG="true", SECRET_KEY="short", ALLOWED_HOSTS="*")

    assert result.returncode == 0, result.stderr


def test_a_run_lease_too_short_to_outlast_a_chunk_fails_at_startup_naming_it(tmp_path):
    result = _load_settings(tmp_path, AURA_RUN_LEASE_SECONDS="2")

    assert result.returncode != 0
    assert "AURA_RUN_LEASE_SECONDS" in result.stderr


def test_the_suite_hashes_passwords_with_the_fast_hasher_and_production_keeps_the_default(tmp_path):
    from django.contrib.auth.hashers import make_password

    show = "import django; django.setup(); from django.conf import settings; print(settings.PASSWORD_HASHERS[0])"
    production = _load_settings(tmp_path, show, **SAFE_PRODUCTION)

    assert make_password("persona-pass").startswith("md5$")
    assert production.stdout.strip() == "django.contrib.auth.hashers.PBKDF2PasswordHasher", production.stderr
