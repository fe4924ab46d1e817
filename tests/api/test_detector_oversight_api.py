"""GET /api/detectors/oversight/: every role reads each detector's findings, sanctions, overturns and overturn rate;
the Director's overturn through the API shows in it; a bad window is a 400 naming the parameter."""

import pytest
from django.utils import timezone

from governance.models import AuditRecord, DisciplinaryAction, Finding, Incident
from governance.selectors import settings_current
from workforce.models import Task, Worker

pytestmark = pytest.mark.django_db

SCHEMA = "format.json_schema"


def _sanction(i: int, at) -> DisciplinaryAction:
    """An incident format.json_schema found in enforce mode, and HR's STRIKE on it."""
    version = settings_current().version
    worker = Worker.objects.create(model_id=f"api-oversight/w{i}", capabilities=["code"])
    task = Task.objects.create(task_id=f"api-oversight-{i}", capability="code")
    incident = Incident.objects.create(
        worker=worker,
        task=task,
        severity=1,
        status=Incident.Status.ACTIONED,
        violations=[["format_violation", 1]],
        evidence=[],
        settings_version=version,
        reported_at=at,
    )
    record = AuditRecord.objects.create(
        report_id=f"api-oversight-{i}",
        request_hash="0" * 64,
        task=task,
        worker=worker,
        outcome=AuditRecord.Outcome.VIOLATION,
        incident=incident,
        settings_version=version,
        received_at=at,
    )
    Finding.objects.create(
        audit_record=record,
        incident=incident,
        worker=worker,
        task=task,
        detector=SCHEMA,
        detector_version="1",
        mode=Finding.Mode.ENFORCE,
        violation_type="format_violation",
        score=1.0,
        evidence=[{"path": "$", "message": "'answer' is a required property"}],
        settings_version=version,
        created_at=at,
    )
    return DisciplinaryAction.objects.create(
        worker=worker,
        incident=incident,
        action="STRIKE",
        reason="format_violation",
        actor_kind=DisciplinaryAction.Actor.HR,
        actor_label="system:hr",
        policy_version=version,
        violation_type="format_violation",
        created_at=at,
    )


def test_every_role_reads_the_figures_and_the_directors_overturn_counts(
    director_key, manager_key, auditor_key, viewer_key
):
    now = timezone.now()
    actions = [_sanction(i, now) for i in range(4)]
    answer = director_key.post(
        f"/api/director/actions/{actions[0].pk}/overturn/", {"reason": "valid after all"}, format="json"
    )
    assert answer.status_code == 200, answer.content

    for client in (director_key, manager_key, auditor_key, viewer_key):
        response = client.get("/api/detectors/oversight/")
        assert response.status_code == 200, response.content
    body = viewer_key.get("/api/detectors/oversight/").json()
    (schema,) = [d for d in body["detectors"] if d["detector"] == SCHEMA]
    assert schema["mode"] == "enforce"
    assert (schema["findings"], schema["enforced"], schema["sanctions"], schema["overturns"]) == (4, 4, 4, 1)
    assert schema["overturn_rate"] == 0.25 and schema["overturn_pct"] == 25.0
    assert schema["by_type"] == [
        {
            "violation_type": "format_violation",
            "findings": 4,
            "enforced": 4,
            "observed": 0,
            "sanctions": 4,
            "overturns": 1,
            "overturn_rate": 0.25,
            "overturn_pct": 25.0,
        }
    ]
    assert (body["window_days"], body["observe_pct"], body["min_sanctions"]) == (30, 30, 20)
    assert body["auto_observed"] == []
    # A detector without a sanction has no rate, not 0%.
    (flags,) = [d for d in body["detectors"] if d["detector"] == "manager_flags"]
    assert flags["sanctions"] == 0 and flags["overturn_rate"] is None


def test_the_window_is_a_parameter_checked_by_name(viewer_key):
    assert viewer_key.get("/api/detectors/oversight/?window_days=7").json()["window_days"] == 7
    refused = viewer_key.get("/api/detectors/oversight/?window_days=0")
    assert refused.status_code == 400 and "window_days" in refused.json()
    assert viewer_key.get("/api/detectors/oversight/?window_days=366").status_code == 400


def test_anonymous_callers_are_refused(anon_client):
    assert anon_client.get("/api/detectors/oversight/").status_code == 401
