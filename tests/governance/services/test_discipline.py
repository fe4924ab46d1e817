"""The disciplinary service's guards: who may intervene, what counts as the record, what is recorded."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from aura_project.errors import DomainError
from governance.domain.detection import Violation
from governance.models import DisciplinaryAction, GovernanceSettings, Incident
from governance.selectors import settings_current
from governance.services.discipline import director_intervene, hr_decide
from workforce.models import Task, Worker

pytestmark = pytest.mark.django_db


@pytest.fixture
def steady_worker() -> Worker:
    return Worker.objects.create(model_id="openai/gpt-4o", capabilities=["code"], budget=1000)


def test_a_viewer_cannot_intervene_and_nothing_is_recorded(steady_worker, viewer):
    with pytest.raises(DomainError) as refused:
        director_intervene(worker=steady_worker, action="SUSPEND", reason="looks bad", actor=viewer, now=timezone.now())
    assert refused.value.field == "actor"
    steady_worker.refresh_from_db()
    assert steady_worker.status == Worker.Status.ACTIVE
    assert not DisciplinaryAction.objects.exists()


def test_a_plain_staff_user_cannot_intervene(steady_worker):
    staff = User.objects.create_user("staff", password="x-Δ9-long-enough", is_staff=True)
    with pytest.raises(DomainError):
        director_intervene(worker=steady_worker, action="BLACKLIST", reason="r", actor=staff, now=timezone.now())
    assert not DisciplinaryAction.objects.exists()


def test_the_director_intervenes_with_a_reason_and_is_named(steady_worker, director):
    records = director_intervene(
        worker=steady_worker, action="SUSPEND", reason="investigating", actor=director, now=timezone.now()
    )
    assert [(r.action, r.actor, r.actor_kind) for r in records] == [("SUSPEND", director, "DIRECTOR")]
    steady_worker.refresh_from_db()
    assert steady_worker.status == Worker.Status.SUSPENDED


def test_a_suspension_of_a_terminated_worker_is_refused_and_records_nothing(steady_worker, director):
    # Regression: the service accepted it silently, so the admin said "Suspended 1 worker." for nothing.
    now = timezone.now()
    director_intervene(worker=steady_worker, action="TERMINATE", reason="done", actor=director, now=now)

    with pytest.raises(DomainError) as refused:
        director_intervene(worker=steady_worker, action="SUSPEND", reason="again", actor=director, now=now)

    assert (refused.value.code, refused.value.field) == ("not_applicable", "action")
    assert "terminated" in refused.value.message
    assert list(DisciplinaryAction.objects.values_list("action", flat=True)) == ["TERMINATE"]
    steady_worker.refresh_from_db()
    assert steady_worker.status == Worker.Status.TERMINATED


def test_with_retention_switched_off_the_whole_record_still_counts_toward_termination(steady_worker):
    current = settings_current()
    # Warnings that stay active for 500 days, so the oldest offence (400 days, past the default 365-day
    # retention) still counts: only the retention setting decides whether it is on the record.
    GovernanceSettings.objects.create(
        retention_days=0, warning_active_days=500, weights=current.weights, note="keep forever"
    )
    settings = settings_current()
    assert settings.retention_days == 0
    now = timezone.now()
    task = Task.objects.create(task_id="t", capability="code")
    for days in (400, 300, 200):
        incident = Incident.objects.create(
            worker=steady_worker,
            task=task,
            severity=2,
            violations=[["scope_drift", 2]],
            evidence=[],
            settings_version=settings.version,
            reported_at=now - timedelta(days=days),
        )
        DisciplinaryAction.objects.create(  # the warning that made the offence a step on the ladder
            worker=steady_worker,
            incident=incident,
            action="WARNING",
            reason="scope_drift (severity 2): policy",
            actor_kind="HR",
            policy_version=settings.version,
            violation_type="scope_drift",
            created_at=incident.reported_at,
        )
    decision = hr_decide(worker=steady_worker, violations=[Violation("scope_drift", 2)], settings=settings, now=now)
    assert "TERMINATE" in decision.actions
