"""The admin cannot go around the services: history is for reading (no revert), only the Director's role
changes anything whatever model permissions a user holds, policy edits publish a settings version, and the
library's own API key admin, whose keys would never authenticate, is gone."""

import pytest
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from rest_framework_api_key.models import APIKey

from governance.models import DisciplinaryAction, GovernanceSettings, Policy
from governance.selectors import settings_current
from governance.services.discipline import director_intervene
from workforce.models import Event, Task, Worker

pytestmark = pytest.mark.django_db

TRACKED_ADMINS = [
    model for model, model_admin in admin.site._registry.items() if hasattr(model_admin, "history_form_view")
]


def admin_url(obj_or_model, view: str, *args) -> str:
    opts = obj_or_model._meta
    if not args and view in ("change", "delete", "history"):
        args = (obj_or_model.pk,)
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=[quote(arg) for arg in args])


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def worker_form(worker: Worker, **changes) -> dict:
    return {
        "model_id": worker.model_id,
        "name": worker.name,
        "provider": worker.provider,
        "capabilities": "code",
        "priority": worker.priority,
        "_save": "1",
        **changes,
    }


@pytest.fixture
def worker() -> Worker:
    return Worker.objects.create(model_id="openai/gpt-4o", name="GPT-4o", provider="openai", capabilities=["code"])


@pytest.fixture
def viewer_with_model_permissions(viewer) -> User:
    """A Viewer someone granted every Django permission on workers and tasks."""
    viewer.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="workforce", content_type__model__in=["worker", "task"])
    )
    return User.objects.get(pk=viewer.pk)  # a fresh object: Django caches permissions per user object


# --- History: read, never revert ---------------------------------------------------------------------------


def test_every_history_tracked_model_of_both_apps_is_covered():
    assert {Worker, Task, Policy, GovernanceSettings} <= set(TRACKED_ADMINS)


@pytest.mark.parametrize("model", TRACKED_ADMINS, ids=lambda model: model.__name__)
def test_no_history_tracked_admin_offers_a_revert(director, model):
    request = type("Request", (), {"user": director})()

    assert admin.site.get_model_admin(model).revert_disabled(request) is True


def test_the_director_cannot_revert_a_terminated_worker_to_its_hired_version(director, worker):
    hired = worker.history.order_by("history_id").first()
    director_intervene(worker=worker, action="TERMINATE", reason="hallucinates", actor=director, now=timezone.now())
    client = logged_in(director)
    url = admin_url(Worker, "simple_history", worker.pk, hired.history_id)

    page = client.get(url)
    posted = client.post(url, worker_form(worker))

    assert page.status_code == 200  # the old version is there to read
    assert "Revert" not in page.content.decode() and 'name="_save"' not in page.content.decode()
    assert posted.status_code == 403
    worker.refresh_from_db()
    assert worker.status == Worker.Status.TERMINATED
    assert list(DisciplinaryAction.objects.values_list("action", flat=True)) == ["TERMINATE"]
    assert not Event.objects.filter(kind=Event.Kind.WORKER_STATUS_CHANGED, payload__status="ACTIVE").exists()


def test_a_viewer_granted_change_permissions_cannot_unblacklist_a_worker_from_its_history(
    director, viewer_with_model_permissions, worker
):
    hired = worker.history.order_by("history_id").first()
    director_intervene(worker=worker, action="BLACKLIST", reason="leaked data", actor=director, now=timezone.now())

    posted = logged_in(viewer_with_model_permissions).post(
        admin_url(Worker, "simple_history", worker.pk, hired.history_id), worker_form(worker)
    )

    assert posted.status_code == 403
    worker.refresh_from_db()
    assert worker.status == Worker.Status.BLACKLISTED


# --- Change rights come from the Director's role only --------------------------------------------------------


def test_a_viewer_granted_change_permissions_may_look_but_not_change_workers_or_tasks(
    viewer_with_model_permissions, worker
):
    client = logged_in(viewer_with_model_permissions)
    task = Task.objects.create(task_id="task-1", capability="code", priority=1)

    worker_page = client.get(admin_url(worker, "change"))
    renamed = client.post(admin_url(worker, "change"), worker_form(worker, name="renamed"))
    reprioritised = client.post(
        admin_url(task, "change"), {"capability": "code", "priority": 9, "needs_director": "", "_save": "1"}
    )

    assert worker_page.status_code == 200 and 'name="_save"' not in worker_page.content.decode()
    assert (renamed.status_code, reprioritised.status_code) == (403, 403)
    assert client.get(admin_url(Task, "add")).status_code == 403
    assert client.post(admin_url(task, "delete"), {"post": "yes"}).status_code == 403
    worker.refresh_from_db()
    task.refresh_from_db()
    assert (worker.name, task.priority) == ("GPT-4o", 1)


def test_the_director_still_edits_a_workers_name(director, worker):
    response = logged_in(director).post(admin_url(worker, "change"), worker_form(worker, name="GPT-4o (2024-08)"))

    assert response.status_code == 302
    worker.refresh_from_db()
    assert worker.name == "GPT-4o (2024-08)"


def test_the_director_cannot_rename_a_workers_model_id(director, worker):
    # Renamed, the Manager's id would answer 404 and its later reports would name nobody.
    client = logged_in(director)
    page = client.get(admin_url(worker, "change"))

    response = client.post(admin_url(worker, "change"), worker_form(worker, model_id="renamed/model", name="renamed"))

    assert 'name="model_id"' not in page.content.decode()
    assert "openai/gpt-4o" in page.content.decode()  # shown, to read
    assert response.status_code == 302
    worker.refresh_from_db()
    assert (worker.model_id, worker.name) == ("openai/gpt-4o", "renamed")
    assert not Worker.objects.filter(model_id="renamed/model").exists()


# --- Policies go through their service -----------------------------------------------------------------------


def policy_form(policy: Policy, **changes) -> dict:
    return {
        "severity": policy.severity,
        "action": policy.action,
        "description": policy.description,
        "active": "on" if policy.active else "",
        "reason": "a test's edit",
        **changes,
    }


def test_the_directors_policy_edit_in_the_admin_publishes_a_settings_version(director):
    policy = Policy.objects.get(violation_type="format_violation")
    old = settings_current().version

    response = logged_in(director).post(admin_url(policy, "change"), policy_form(policy, action="STRIKE"))

    assert response.status_code == 302
    policy.refresh_from_db()
    assert policy.action == "STRIKE"
    new = settings_current()
    assert new.version > old and new.note == "policy format_violation changed by director: a test's edit"


def test_a_policy_that_would_reward_a_violation_is_refused_in_the_admin(director):
    policy = Policy.objects.get(violation_type="format_violation")
    old = settings_current().version

    response = logged_in(director).post(admin_url(policy, "change"), policy_form(policy, action="PROMOTE"))

    assert response.status_code == 200
    assert "A policy&#x27;s action is one of" in response.content.decode()
    policy.refresh_from_db()
    assert policy.action == "WARNING" and settings_current().version == old


def test_policies_are_neither_added_nor_deleted_in_the_admin(director):
    client = logged_in(director)
    policy = Policy.objects.get(violation_type="format_violation")

    assert client.get(admin_url(Policy, "add")).status_code == 403
    assert client.post(admin_url(policy, "delete"), {"post": "yes"}).status_code == 403
    assert "delete_selected" not in client.get(admin_url(Policy, "changelist")).content.decode()
    assert Policy.objects.filter(pk=policy.pk).exists()


# --- The library's API keys ----------------------------------------------------------------------------------


def test_the_librarys_unused_api_key_admin_is_not_offered(director):
    assert not admin.site.is_registered(APIKey)
    with pytest.raises(NoReverseMatch):
        reverse("admin:rest_framework_api_key_apikey_changelist")
    assert "rest_framework_api_key" not in logged_in(director).get(reverse("admin:index")).content.decode()
