"""Every list page of the control room runs a fixed, small number of SQL queries, however many rows it shows: each
page is measured with a small fleet and again with three times the rows, and the counts must match (an N+1, a
foreign key read per row, would add queries) and stay under a bound."""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from governance.models import (
    AuditRun,
    AuditRunItem,
    BeatJobRun,
    CommandRecord,
    DisciplinaryAction,
    Hold,
    IncidentDayCount,
    PendingSanction,
    PurgeLog,
    ScoringRun,
    Spike,
)
from governance.selectors import settings_current
from governance.services.holds import hold_place
from governance.services.overturn import action_overturn
from governance.services.reports import ReportInput, report_submit
from governance.services.settings import settings_publish
from tests.test_admin_actions import TEST_MANAGER, logged_in
from workforce.models import Handover, Role, ServiceKey
from workforce.services.tasks import task_register
from workforce.services.workers import worker_hire

pytestmark = pytest.mark.django_db

# Session, user, roles, the list's count (bounded), its date range and probes, the page with its joins, the
# filters' fixed values, the sidebar's permission checks: none of them per row.
MAX_QUERIES = 16
SMALL, LARGE = 2, 6


def _unit(i: int, director: User, roles) -> None:
    """One of everything a list shows, linked as the services link them: a worker hired, a task, a violation
    with its incident, actions, penalty, score move and events; an overturn, a hold, a held sanction, runs,
    logs, a key, a settings version and the dashboard's bookkeeping."""
    now = timezone.now() - timedelta(minutes=i)
    worker = worker_hire(actor=TEST_MANAGER, model_id=f"provider-{i}/model", capabilities=["code"])
    task_register(
        actor=TEST_MANAGER, task_id=f"task-{i}", capability="code", priority=1, model_id=worker.model_id, now=now
    )
    report_submit(
        actor=TEST_MANAGER,
        report=ReportInput(task_id=f"task-{i}", hallucinated=True, logs=[f"entry {i}"]),
        report_id=f"report-{i}",
        now=now,
    )
    action = DisciplinaryAction.objects.filter(worker=worker).exclude(action="OVERTURN").first()
    action_overturn(action=action, reason=f"second look {i}", actor=director, now=now)
    incident = action.incident
    hold_place(kind=Hold.Kind.APPEAL, reason="appeal", actor=director, now=now, incident=incident)
    spike = Spike.objects.create(scope=f"fleet-{i}", figures={}, settings_version=1, started_at=now, last_seen_at=now)
    PendingSanction.objects.create(
        worker=worker,
        incident=incident,
        spike=spike,
        action="SUSPEND",
        reason="held",
        actor_kind="HR",
        settings_version=1,
        created_at=now,
    )
    Handover.objects.create(worker=worker, reason="left service", created_at=now)
    run = AuditRun.objects.create(created_at=now, submitted_by="manager")
    AuditRunItem.objects.create(run=run, position=0, payload={})
    ScoringRun.objects.create(key=f"run-{i}", trigger=ScoringRun.Trigger.COMMAND, window_end=now, created_at=now)
    PurgeLog.objects.create(actor_kind=PurgeLog.Actor.DIRECTOR, actor=director, reason="cleanup", started_at=now)
    CommandRecord.objects.create(key=f"cmd-{i}", request_hash="0" * 64, response={}, created_at=now)
    ServiceKey.objects.create_key(name=f"key-{i}", role=roles[Role.MANAGER.value])
    settings_publish(draft=settings_current(), note=f"version {i}", actor=director)
    BeatJobRun.objects.create(name=f"job-{i}", last_success_at=now, actor_label="system:beat")
    IncidentDayCount.objects.create(
        day=(now - timedelta(days=i + 1)).date(), violation_type="", incidents=i, computed_at=now
    )
    User.objects.create_user(f"user-{i}", is_staff=True).groups.add(roles[Role.VIEWER.value])
    Group.objects.get_or_create(name=f"group-{i}")


def _changelists() -> list[str]:
    return [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist") for model in admin.site._registry
    ]


def _count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


@pytest.mark.parametrize("persona", ["director", "superuser"])
def test_every_list_page_runs_the_same_few_queries_however_many_rows(request, roles, director, persona):
    user = director if persona == "director" else User.objects.create_superuser("root", password="root-pass-Δ9")
    client = logged_in(user)
    for i in range(SMALL):
        _unit(i, director, roles)
    if persona == "superuser":  # every list opens for a superuser: a broken page fails here, not skipped
        assert {url: client.get(url).status_code for url in _changelists()} == dict.fromkeys(_changelists(), 200)
    pages = [url for url in _changelists() if client.get(url).status_code == 200]  # what this persona may open
    small = {url: _count(client, url) for url in pages}

    for i in range(SMALL, LARGE):
        _unit(i, director, roles)
    large = {url: _count(client, url) for url in pages}

    assert len(pages) >= 20
    assert large == small  # no query per row
    assert max(large.values()) <= MAX_QUERIES, {url: n for url, n in large.items() if n > MAX_QUERIES}


def test_the_worker_page_runs_the_same_few_queries_however_long_its_record(roles, director):
    client = logged_in(director)
    from workforce.models import Worker

    _unit(0, director, roles)
    worker = Worker.objects.get(model_id="provider-0/model")
    url = reverse("admin:workforce_worker_change", args=[worker.pk])
    before = _count(client, url)
    now = timezone.now()
    for j in range(5):
        task_register(
            actor=TEST_MANAGER, task_id=f"more-{j}", capability="code", priority=1, model_id=worker.model_id, now=now
        )
        report_submit(
            actor=TEST_MANAGER,
            report=ReportInput(task_id=f"more-{j}", scope_drift=True, logs=["drift"]),
            report_id=f"more-{j}",
            now=now + timedelta(seconds=j),
        )
        worker.refresh_from_db()
        if worker.status != Worker.Status.ACTIVE:
            break
    after = _count(client, url)

    # A longer record adds no query (the worker's new status may offer fewer interventions, each a rule check).
    assert after <= before <= 25
