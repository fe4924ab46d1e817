"""Batch audit runs through a real Celery worker process over Redis, on the PostgreSQL test database; and what
happens when the broker is down. Only the broker's address is ever swapped; our code and database run for real."""

import time
from collections import Counter
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from governance.models import AuditRecord, AuditRun, AuditRunItem, DisciplinaryAction, Incident, ScoreRecord
from governance.services.audit_runs import audit_run_process, audit_runs_sweep
from governance.services.permits import purge_permit
from governance.tasks import process_audit_run
from workforce.models import Assignment, Event

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("governance_defaults"),
]

WORKERS = [f"batch/w{i}" for i in range(5)]
TASKS_PER_WORKER = 10
DEADLINE = 60  # seconds a run may take to come back DONE


def _batch() -> tuple[list[dict], list[str]]:
    """49 reports on known tasks (every fifth a violation) and one on a task nobody registered."""
    reports, expected = [], []
    for t in range(TASKS_PER_WORKER):
        for model_id in WORKERS:
            position = len(reports)
            body = {"task_id": f"{model_id}/t{t}", "model_id": model_id, "logs": [f"step {position}"]}
            kind = ("hallucinated", "scope_drift", "format_violation")[position % 3] if position % 5 == 0 else None
            if kind:
                body[kind] = True
            reports.append(body)
            expected.append("violation" if kind else "clean")
    reports[-1], expected[-1] = {"task_id": "batch/never-registered", "logs": []}, "rejected"
    return reports, expected


def _row_counts() -> dict[str, int]:
    models = (AuditRecord, Incident, DisciplinaryAction, ScoreRecord, Assignment, Event, AuditRunItem)
    return {model.__name__: model.objects.count() for model in models}


def test_a_celery_worker_processes_a_batch_run_once_and_a_redelivery_changes_nothing(
    celery_worker, manager_key, staff, wait_for
):
    staff({model_id: [f"{model_id}/t{t}" for t in range(TASKS_PER_WORKER)] for model_id in WORKERS})
    reports, expected = _batch()

    accepted = manager_key.post("/api/audit/batch/", {"reports": reports}, format="json")

    assert accepted.status_code == 202, accepted.content
    run_id = accepted.json()["id"]
    assert accepted["Location"] == f"/api/audit-runs/{run_id}/"
    assert AuditRun.objects.get(pk=run_id).queued_at is not None  # sent once the rows were committed

    def finished():
        body = manager_key.get(f"/api/audit-runs/{run_id}/").json()
        return body if body["status"] == "DONE" else None

    run = wait_for(finished, timeout=DEADLINE, what="the worker to finish the audit run", worker=celery_worker)

    assert (run["total"], run["processed"], run["error"]) == (50, 50, "")
    assert [item["position"] for item in run["results"]] == list(range(50))
    for item, kind in zip(run["results"], expected, strict=True):
        if kind == "rejected":
            assert item["status"] == "REJECTED"
            assert item["result"]["status"] == 404
        else:
            assert item["status"] == "DONE"
            assert item["result"]["status"] == kind, item
            assert item["result"]["report_id"] == f"run:{run_id}:{item['position']}"
    violations = Counter(expected)["violation"]
    assert AuditRecord.objects.count() == 49
    assert Incident.objects.count() == violations
    incident_ids = {item["result"].get("incident_id") for item in run["results"] if item["status"] == "DONE"}
    assert incident_ids - {None} == {str(pk) for pk in Incident.objects.values_list("pk", flat=True)}
    before = _row_counts()

    # 1. The broker delivers the finished run again: the real worker finds it DONE and writes nothing.
    again = process_audit_run.apply_async(args=[run_id])
    wait_for(
        lambda: celery_worker.succeeded(again.id),
        timeout=DEADLINE,
        what="the worker to process the second delivery",
        worker=celery_worker,
    )
    assert _row_counts() == before

    # 2. A worker that crashed after processing every report but before recording the items: the run comes
    # back RUNNING with every item PENDING. Processing it again replays each report by its stable id. (Items are
    # append-only once answered: only a permit lets the test put them back as they were before the crash.)
    with transaction.atomic(), purge_permit(reason="test: the state a crash before recording leaves"):
        AuditRunItem.objects.filter(run_id=run_id).update(status=AuditRunItem.Status.PENDING, result=None)
    AuditRun.objects.filter(pk=run_id).update(status=AuditRun.Status.RUNNING, processed=0, finished_at=None)
    replayed = audit_run_process(run_id=run_id)

    assert replayed.status == AuditRun.Status.DONE and replayed.processed == 50
    assert _row_counts() == before
    assert manager_key.get(f"/api/audit-runs/{run_id}/").json()["results"] == run["results"]


def test_with_the_broker_down_reports_still_go_through_and_the_sweeper_queues_the_batch_later(
    celery_worker, manager_key, staff, broker_down, wait_for
):
    staff({"outage/w0": ["outage/t0", "outage/t1", "outage/t2"], "outage/w1": ["outage/t3"]})

    with broker_down():
        single = manager_key.post(
            "/api/audit/", {"task_id": "outage/t0", "logs": ["made it up"], "hallucinated": True}, format="json"
        )
        started = time.monotonic()
        batch = manager_key.post(
            "/api/audit/batch/",
            {"reports": [{"task_id": "outage/t1", "logs": ["ok"]}, {"task_id": "outage/t2", "scope_drift": True}]},
            format="json",
        )
        batch_seconds = time.monotonic() - started

    assert single.status_code == 200, single.content
    assert single.json()["status"] == "violation" and single.json()["reassigned_to"] == "outage/w1"
    assert AuditRecord.objects.count() == 1
    assert batch.status_code == 202, batch.content
    assert batch_seconds < 30  # the request gives up on the broker instead of hanging
    run_id = batch.json()["id"]
    run = AuditRun.objects.get(pk=run_id)
    assert (run.status, run.queued_at, run.processed) == (AuditRun.Status.PENDING, None, 0)
    assert set(run.items.values_list("status", flat=True)) == {AuditRunItem.Status.PENDING}

    # The broker is back. The sweeper, a few minutes on, sends the run again; the worker completes it.
    assert audit_runs_sweep(now=timezone.now() + timedelta(minutes=5)) == 1
    assert AuditRun.objects.get(pk=run_id).queued_at is not None
    done = wait_for(
        lambda: AuditRun.objects.filter(pk=run_id, status=AuditRun.Status.DONE).first(),
        timeout=DEADLINE,
        what="the worker to finish the swept run",
        worker=celery_worker,
    )
    assert done.processed == 2
    results = [item.result["status"] for item in done.items.order_by("position")]
    assert results == ["clean", "violation"]
    assert AuditRecord.objects.count() == 3


def test_a_large_batch_is_split_by_worker_into_parts_and_each_report_is_recorded_once_in_order(
    celery_worker, manager_key, staff, wait_for
):
    workers = [f"parts/w{i}" for i in range(12)]
    staff({model_id: [f"{model_id}/t{t}" for t in range(20)] for model_id in workers})
    reports = [
        {"task_id": f"{model_id}/t{t}", "logs": [f"t{t}"], **({"scope_drift": True} if t in (5, 6) and i < 3 else {})}
        for t in range(20)
        for i, model_id in enumerate(workers)
    ]
    assert len(reports) >= 200  # the size a run is split at (audit_runs.PART_MIN)

    accepted = manager_key.post("/api/audit/batch/", {"reports": reports}, format="json")
    run_id = accepted.json()["id"]

    def finished():
        body = manager_key.get(f"/api/audit-runs/{run_id}/").json()
        return body if body["status"] == "DONE" else None

    run = wait_for(finished, timeout=DEADLINE, what="the parts of the run to finish", worker=celery_worker)

    assert (run["total"], run["processed"]) == (240, 240)
    assert "process_audit_run_part" in celery_worker.log()  # the second part went through the broker
    assert AuditRecord.objects.filter(report_id__startswith=f"run:{run_id}:").count() == 240
    assert Incident.objects.count() == 6
    for model_id in workers:  # each worker's reports were recorded in the order they were sent
        positions = [
            int(report_id.rsplit(":", 1)[1])
            for report_id in AuditRecord.objects.filter(worker__model_id=model_id)
            .order_by("pk")
            .values_list("report_id", flat=True)
        ]
        assert positions == sorted(positions), model_id
