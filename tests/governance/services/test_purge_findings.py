"""A detector's findings are evidence: append-only, purged with their report, kept with it under a hold."""

from datetime import datetime, timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from governance.models import AuditRecord, Finding, Hold, Incident
from governance.services.purge import purge_expired, records_purge_early
from workforce.models import Task, Worker

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)
_serial = iter(range(1_000_000))


def report_with_findings(worker: Worker, at: datetime, *, incident: bool = False) -> AuditRecord:
    """A report and its findings as the pipeline writes them: an enforced one on the incident, an observed one."""
    n = next(_serial)
    task = Task.objects.create(task_id=f"{worker.model_id}/t{n}", capability="code")
    opened = None
    if incident:
        opened = Incident.objects.create(
            worker=worker,
            task=task,
            severity=1,
            status=Incident.Status.ACTIONED,
            violations=[["format_violation", 1]],
            evidence=[],
            settings_version=1,
            reported_at=at,
        )
    record = AuditRecord.objects.create(
        report_id=f"r-{n}",
        request_hash="0" * 64,
        task=task,
        worker=worker,
        settings_version=1,
        received_at=at,
        outcome=AuditRecord.Outcome.VIOLATION if incident else AuditRecord.Outcome.CLEAN,
        incident=opened,
        output="{broken",
    )
    common = {"audit_record": record, "worker": worker, "task": task, "settings_version": 1, "created_at": at}
    Finding.objects.bulk_create(
        [
            Finding(
                incident=opened,
                detector="format.json_schema",
                detector_version="1",
                mode="enforce" if incident else "observe",
                violation_type="format_violation",
                score=1.0,
                evidence={"errors": [{"path": "$", "message": "not JSON"}]},
                **common,
            ),
            Finding(
                detector="manager_flags",
                detector_version="1",
                mode="observe",
                violation_type="scope_drift",
                score=1.0,
                evidence={},
                **common,
            ),
        ]
    )
    return record


@pytest.fixture
def now() -> datetime:
    return timezone.now().replace(microsecond=0)


def test_a_finding_refuses_update_and_delete_outside_the_purge(now):
    record = report_with_findings(Worker.objects.create(model_id="w", capabilities=["code"]), now)
    finding = record.findings.first()

    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        Finding.objects.filter(pk=finding.pk).update(score=0.0)
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        Finding.objects.filter(pk=finding.pk).delete()


def test_old_findings_go_with_their_report_and_recent_ones_stay(now):
    worker = Worker.objects.create(model_id="w", capabilities=["code"])
    old = report_with_findings(worker, now - 400 * DAY, incident=True)
    recent = report_with_findings(worker, now - 10 * DAY)

    result = purge_expired(now=now)

    connection.check_constraints()
    assert not AuditRecord.objects.filter(pk=old.pk).exists()
    assert not Finding.objects.filter(audit_record_id=old.pk).exists()
    assert not Incident.objects.filter(pk=old.incident_id).exists()
    assert Finding.objects.filter(audit_record=recent).count() == 2
    assert result.counts[Finding._meta.db_table] == 2


def test_a_held_workers_old_findings_stay_with_its_report(now, director):
    held = Worker.objects.create(model_id="held", capabilities=["code"])
    old = report_with_findings(held, now - 400 * DAY, incident=True)
    Hold.objects.create(
        kind=Hold.Kind.DIRECTOR, worker=held, reason="appeal", created_by=director, created_at=now - 30 * DAY
    )

    purge_expired(now=now)

    connection.check_constraints()
    assert AuditRecord.objects.filter(pk=old.pk).exists()
    assert Finding.objects.filter(audit_record=old).count() == 2


def test_the_directors_early_purge_of_a_report_or_an_incident_takes_its_findings(now, director):
    worker = Worker.objects.create(model_id="w", capabilities=["code"])
    report = report_with_findings(worker, now - DAY)
    violation = report_with_findings(worker, now - DAY, incident=True)

    records_purge_early(
        model_label="governance.auditrecord", ids=[report.pk], reason="test data", actor=director, now=now
    )
    records_purge_early(
        model_label="governance.incident", ids=[violation.incident_id], reason="test data", actor=director, now=now
    )

    connection.check_constraints()
    assert Finding.objects.count() == 0
    assert not AuditRecord.objects.exists()
