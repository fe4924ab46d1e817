"""The admin: every page a Director opens loads, and evidence cannot be edited or deleted from it."""

import re

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.auth.models import User
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from governance.models import (
    AuditRecord,
    AuditRun,
    AuditRunItem,
    BeatJobRun,
    CommandRecord,
    DisciplinaryAction,
    Finding,
    GovernanceSettings,
    Hold,
    Incident,
    IncidentDayCount,
    Penalty,
    PendingSanction,
    Policy,
    PurgeLog,
    PurgePermit,
    ScoreRecord,
    ScoringRun,
    Spike,
)
from governance.selectors import settings_current
from workforce.models import Assignment, Event, Handover, Role, ServiceKey, SystemMode, Task, Worker

APPEND_ONLY = [AuditRecord, DisciplinaryAction, ScoreRecord, Penalty, Event, Incident, GovernanceSettings, PurgeLog]


def admin_url(obj_or_model, view: str, *args) -> str:
    opts = obj_or_model._meta
    if not args and view in ("change", "delete", "history"):
        args = (obj_or_model.pk,)
    # The admin escapes primary keys in its URLs (a service key's id holds '$' and '.').
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=[quote(arg) for arg in args])


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def director_client(director) -> Client:
    return logged_in(director)


@pytest.fixture
def superuser(db) -> User:
    return User.objects.create_superuser("root", password="root-pass-Δ9")


@pytest.fixture
def superuser_client(superuser) -> Client:
    return logged_in(superuser)


@pytest.fixture
def rows(roles, director) -> dict[type, object]:
    """One row of every model of both apps, except PurgePermit (a visible permit licenses deletes)."""
    now = timezone.now()
    worker = Worker.objects.create(model_id="openai/gpt-4o", name="GPT-4o", provider="openai")
    task = Task.objects.create(task_id="task-1", capability="code", current_worker=worker)
    report = AuditRecord.objects.create(
        report_id="report-1",
        request_hash="0" * 64,
        task=task,
        worker=worker,
        outcome=AuditRecord.Outcome.VIOLATION,
        hallucinated=True,
        settings_version=1,
        received_at=now,
    )
    incident = Incident.objects.create(
        worker=worker,
        task=task,
        severity=3,
        violations=[["hallucination", 3]],
        evidence=[{"line": "made it up"}],
        settings_version=1,
        reported_at=now,
    )
    run = AuditRun.objects.create(created_at=now, submitted_by="manager")
    key, _ = ServiceKey.objects.create_key(name="manager", role=roles[Role.MANAGER.value])
    spike = Spike.objects.create(
        scope="fleet", figures={"flagged": 9}, settings_version=1, started_at=now, last_seen_at=now
    )
    return {
        Worker: worker,
        Task: task,
        Assignment: Assignment.objects.create(task=task, worker=worker, started_at=now),
        Event: Event.objects.create(kind=Event.Kind.INCIDENT_OPENED, model_id=worker.model_id, created_at=now),
        ServiceKey: key,
        AuditRecord: report,
        Incident: incident,
        DisciplinaryAction: DisciplinaryAction.objects.create(
            worker=worker,
            incident=incident,
            action="WARNING",
            reason="first hallucination",
            actor_kind=DisciplinaryAction.Actor.DIRECTOR,
            actor=director,
            policy_version=1,
            created_at=now,
        ),
        ScoreRecord: ScoreRecord.objects.create(
            worker=worker,
            score=70,
            previous_reputation=60,
            reputation=63,
            action="NONE",
            metrics={},
            settings_version=1,
            created_at=now,
        ),
        Penalty: Penalty.objects.create(
            worker=worker,
            incident=incident,
            reason="hallucination",
            severity=3,
            points=-30,
            settings_version=1,
            created_at=now,
        ),
        Policy: Policy.objects.create(violation_type="copied_output", severity=3, action="STRIKE"),
        GovernanceSettings: GovernanceSettings.objects.create(note="first version", created_by=director),
        AuditRun: run,
        AuditRunItem: AuditRunItem.objects.create(run=run, position=0, payload={}),
        ScoringRun: ScoringRun.objects.create(
            key="run-1", trigger=ScoringRun.Trigger.COMMAND, window_end=now, created_at=now
        ),
        Hold: Hold.objects.create(
            kind=Hold.Kind.APPEAL, incident=incident, reason="the worker appeals", created_by=director, created_at=now
        ),
        PurgeLog: PurgeLog.objects.create(actor_kind=PurgeLog.Actor.COMMAND, reason="retention", started_at=now),
        CommandRecord: CommandRecord.objects.create(
            key="enforce:retry-1", request_hash="0" * 64, response={"status": "executed"}, created_at=now
        ),
        Spike: spike,
        Handover: Handover.objects.create(worker=worker, reason="left service (suspended)", created_at=now),
        PendingSanction: PendingSanction.objects.create(
            worker=worker,
            incident=incident,
            spike=spike,
            action="SUSPEND",
            reason="repeat hallucination",
            actor_kind="HR",
            settings_version=1,
            created_at=now,
        ),
    }


ROW_MODELS = [
    Worker,
    Task,
    Assignment,
    Event,
    ServiceKey,
    AuditRecord,
    Incident,
    DisciplinaryAction,
    ScoreRecord,
    Penalty,
    Policy,
    GovernanceSettings,
    AuditRun,
    AuditRunItem,
    ScoringRun,
    Hold,
    PurgeLog,
    CommandRecord,
    Spike,
    PendingSanction,
    Handover,
]
TRACKED = [model for model in ROW_MODELS if hasattr(model._meta, "simple_history_manager_attribute")]


def test_every_model_of_both_apps_is_registered():
    models = [
        model
        for label in ("workforce", "governance")
        for model in apps.get_app_config(label).get_models()
        if not model.__name__.startswith("Historical")
    ]

    assert set(models) == set(ROW_MODELS) | {PurgePermit, SystemMode, BeatJobRun, IncidentDayCount, Finding}
    assert all(admin.site.is_registered(model) for model in models)


@pytest.mark.django_db
@pytest.mark.parametrize("model", ROW_MODELS, ids=lambda model: model.__name__)
def test_the_director_opens_the_changelist_and_the_change_page(director_client, rows, model):
    obj = rows[model]

    changelist = director_client.get(admin_url(model, "changelist"))
    change = director_client.get(admin_url(obj, "change"))

    assert changelist.status_code == 200
    assert admin_url(obj, "change") in changelist.content.decode()
    assert change.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("model", TRACKED, ids=lambda model: model.__name__)
def test_the_director_opens_the_history(director_client, rows, model):
    obj = rows[model]
    version = obj.history.get()

    response = director_client.get(admin_url(obj, "history"))

    assert response.status_code == 200
    assert admin_url(obj, "simple_history", obj.pk, version.history_id) in response.content.decode()


@pytest.mark.django_db
def test_the_changelist_search_finds_a_worker_by_model_id(director_client, rows):
    response = director_client.get(admin_url(AuditRecord, "changelist"), {"q": "openai/gpt-4o"})

    assert response.status_code == 200
    assert admin_url(rows[AuditRecord], "change") in response.content.decode()


# --- Append-only evidence ------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("model", APPEND_ONLY, ids=lambda model: model.__name__)
def test_evidence_offers_no_delete_edit_or_add(director, superuser, rows, model):
    obj = rows[model]
    model_admin = admin.site.get_model_admin(model)
    for user in (director, superuser):
        client = logged_in(user)
        request = RequestFactory().get("/admin/")
        request.user = user

        change_page = client.get(admin_url(obj, "change")).content.decode()
        changelist = client.get(admin_url(model, "changelist")).content.decode()

        assert admin_url(obj, "delete") not in change_page
        assert 'name="_save"' not in change_page
        assert "delete_selected" not in changelist
        assert client.get(admin_url(obj, "delete")).status_code == 403
        if model is not GovernanceSettings:  # a new settings version is an add (tests/test_admin_actions.py)
            assert client.get(admin_url(model, "add")).status_code == 403
        assert not model_admin.has_delete_permission(request, obj)
        assert not model_admin.has_change_permission(request, obj)


@pytest.mark.django_db
def test_posting_a_delete_of_an_audit_record_is_refused_even_for_a_superuser(superuser_client, rows):
    record = rows[AuditRecord]

    response = superuser_client.post(admin_url(record, "delete"), {"post": "yes"})

    assert response.status_code == 403
    assert AuditRecord.objects.filter(pk=record.pk).exists()


@pytest.mark.django_db
def test_a_bulk_delete_of_audit_records_is_refused_even_for_a_superuser(superuser_client, rows):
    record = rows[AuditRecord]

    superuser_client.post(
        admin_url(AuditRecord, "changelist"),
        {"action": "delete_selected", "_selected_action": [record.pk], "post": "yes"},
    )

    assert AuditRecord.objects.filter(pk=record.pk).exists()


@pytest.mark.django_db
def test_posting_an_edit_of_incident_evidence_is_refused(superuser_client, rows):
    incident = rows[Incident]

    response = superuser_client.post(admin_url(incident, "change"), {"severity": 1, "status": "CLOSED"})

    assert response.status_code == 403
    incident.refresh_from_db()
    assert (incident.severity, incident.status) == (3, Incident.Status.OPEN)


@pytest.mark.django_db
def test_reverting_evidence_from_its_history_is_refused(director_client, rows):
    record = rows[AuditRecord]
    version = record.history.get()

    response = director_client.post(admin_url(record, "simple_history", record.pk, version.history_id), {})

    assert response.status_code == 403


# --- Roles ---------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_viewer_may_look_but_not_act(viewer, rows):
    client = logged_in(viewer)
    policy = rows[Policy]
    version = policy.history.get()

    edit = {"violation_type": "copied_output", "severity": 9, "action": "BLACKLIST", "active": "on"}

    assert client.get(admin_url(Worker, "changelist")).status_code == 200
    assert client.get(admin_url(policy, "change")).status_code == 200
    assert client.get(admin_url(Policy, "add")).status_code == 403
    assert client.post(admin_url(policy, "change"), edit).status_code == 403
    # simple-history's "revert" form saves whatever it is sent; a view permission must not reach it.
    assert client.post(admin_url(policy, "simple_history", policy.pk, version.history_id), edit).status_code == 403
    assert client.get(admin_url(ServiceKey, "changelist")).status_code == 403
    policy.refresh_from_db()
    assert (policy.severity, policy.action) == (3, "STRIKE")


@pytest.mark.django_db
def test_a_staff_user_without_a_role_sees_nothing(db):
    client = logged_in(User.objects.create_user("nobody", password="nobody-pass-Δ9", is_staff=True))

    assert client.get(admin_url(Worker, "changelist")).status_code == 403


@pytest.mark.django_db
def test_the_director_edits_a_policy(director_client, rows):
    policy = rows[Policy]

    response = director_client.post(
        admin_url(policy, "change"),
        {
            "violation_type": "copied_output",
            "severity": 4,
            "action": "SUSPEND",
            "description": "",
            "active": "on",
            "reason": "copying is worse than we thought",
        },
    )

    assert response.status_code == 302
    policy.refresh_from_db()
    assert (policy.severity, policy.action) == (4, "SUSPEND")
    assert policy.history.count() == 2
    assert policy.history.first().history_change_reason.endswith(": copying is worse than we thought")
    assert settings_current().note.endswith(": copying is worse than we thought")


@pytest.mark.django_db
def test_a_policy_edit_without_a_reason_changes_nothing(director_client, rows):
    policy = rows[Policy]

    response = director_client.post(
        admin_url(policy, "change"),
        {"violation_type": "copied_output", "severity": 4, "action": "SUSPEND", "description": "", "active": "on"},
    )

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    policy.refresh_from_db()
    assert (policy.severity, policy.action) == (3, "STRIKE")


# --- Service keys --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_director_issues_a_key_and_sees_the_raw_key_once(director_client, roles):
    response = director_client.post(
        admin_url(ServiceKey, "add"), {"name": "auditor-2", "role": roles[Role.AUDITOR.value].pk}, follow=True
    )

    messages = [str(message) for message in response.context["messages"]]
    raw = re.search(r"The API key for auditor-2 is: (\S+)\.", messages[0]).group(1)
    key = ServiceKey.objects.get_from_key(raw)
    assert key.name == "auditor-2"
    assert key.role.name == Role.AUDITOR.value
    assert raw not in director_client.get(admin_url(key, "change")).content.decode()


@pytest.mark.django_db
def test_the_director_revokes_a_key(director_client, roles, rows):
    key = rows[ServiceKey]

    response = director_client.post(admin_url(key, "change"), {"name": key.name, "revoked": "on"})

    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked
    assert key.role.name == Role.MANAGER.value


# --- Purge permits -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_leftover_purge_permit_is_listed_and_cannot_be_created(director_client):
    permit = PurgePermit.objects.create(reason="leaked by a crashed purge")

    assert admin_url(permit, "change") in director_client.get(admin_url(PurgePermit, "changelist")).content.decode()
    assert director_client.get(admin_url(PurgePermit, "add")).status_code == 403
    assert director_client.post(admin_url(permit, "delete"), {"post": "yes"}).status_code == 302
    assert not PurgePermit.objects.exists()
