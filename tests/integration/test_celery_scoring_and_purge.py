"""A scoring run and a retention purge, each executed by a real Celery worker process over Redis, on the
test database in PostgreSQL. The worker and its queue come from tests/integration/conftest.py."""

import itertools
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from governance.models import AuditRecord, DisciplinaryAction, Incident, Penalty, PurgeLog, ScoreRecord, ScoringRun
from governance.services.scoring_runs import scoring_run_start
from governance.tasks import process_scoring_run, purge_expired
from workforce.domain.actor import BEAT
from workforce.models import Event, Task, Worker

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

FLEET = 12
_serial = itertools.count()


def hire(model_id: str, **fields) -> Worker:
    return Worker.objects.create(model_id=model_id, capabilities=["code"], **fields)


def report(worker: Worker, at: datetime, **fields) -> AuditRecord:
    n = next(_serial)
    task, _ = Task.objects.get_or_create(task_id=f"{worker.model_id}/task", defaults={"capability": "code"})
    return AuditRecord.objects.create(
        report_id=f"it-{n}", request_hash=f"{n:064d}", task=task, worker=worker, settings_version=1,
        received_at=at, **{"outcome": AuditRecord.Outcome.CLEAN, **fields},
    )  # fmt: skip


def test_a_celery_worker_scores_a_seeded_fleet_once_even_when_the_run_is_delivered_twice(celery_worker, wait_for):
    now = timezone.now()
    steady = dict(duration_ms=24_000, retries=0, test_pass_rate=0.6, manager_satisfaction=0.6, confidence=0.6)
    workers = [hire(f"it-fleet/{i}") for i in range(FLEET)]
    for worker in workers:
        report(worker, now - timedelta(hours=1), **steady)
    slipping = hire("it-fleet/slipping", reputation=55)
    report(slipping, now - timedelta(hours=1), duration_ms=70_000, retries=5, test_pass_rate=0.0,
           manager_satisfaction=0.0, confidence=0.0, outcome=AuditRecord.Outcome.VIOLATION)  # fmt: skip
    idle = hire("it-fleet/idle")

    # Queued by the service itself, after its transaction commits.
    run, created = scoring_run_start(actor=BEAT, trigger=ScoringRun.Trigger.BEAT, now=now, key="it:beat:1")
    assert created

    done = wait_for(
        lambda: ScoringRun.objects.filter(pk=run.pk, status=ScoringRun.Status.DONE).first(),
        timeout=90,
        what="the worker to finish the scoring run",
        worker=celery_worker,
    )
    assert done.workers_scored == FLEET + 1
    assert done.error == ""
    assert ScoreRecord.objects.filter(run_key="run:it:beat:1").count() == FLEET + 1
    assert ScoreRecord.history.model.objects.count() == ScoreRecord.objects.count()
    assert set(Worker.objects.filter(pk__in=[w.pk for w in workers]).values_list("reputation", flat=True)) == {63}
    assert not ScoreRecord.objects.filter(worker=idle).exists()
    slipping.refresh_from_db()
    assert slipping.status == Worker.Status.COOLDOWN
    warning = DisciplinaryAction.objects.get(worker=slipping)
    assert (warning.action, warning.actor_kind) == ("WARNING", DisciplinaryAction.Actor.ACCOUNTANT)

    # The broker delivers the run again: the worker finds it DONE and changes nothing.
    before = (
        ScoreRecord.objects.count(),
        DisciplinaryAction.objects.count(),
        Event.objects.count(),
        list(Worker.objects.order_by("pk").values_list("reputation", "scored_runs", "status")),
    )
    result = process_scoring_run.apply_async(args=[run.pk])
    wait_for(
        lambda: f"process_scoring_run[{result.id}] succeeded" in celery_worker.log(),
        timeout=60,
        what="the worker to process the duplicate delivery",
        worker=celery_worker,
    )
    after = (
        ScoreRecord.objects.count(),
        DisciplinaryAction.objects.count(),
        Event.objects.count(),
        list(Worker.objects.order_by("pk").values_list("reputation", "scored_runs", "status")),
    )
    assert after == before
    assert ScoringRun.objects.get(pk=run.pk).workers_scored == FLEET + 1


def test_a_celery_worker_runs_the_daily_purge_with_the_history_rows(celery_worker, wait_for):
    now = timezone.now()
    worker = hire("it-purge")
    task = Task.objects.create(task_id="it-purge/task", capability="code")

    def trail(at: datetime, label: str) -> dict:
        incident = Incident.objects.create(
            worker=worker, task=task, severity=2, status=Incident.Status.ACTIONED, violations=[["timeout", 2]],
            evidence=[], settings_version=1, reported_at=at,
        )  # fmt: skip
        return {
            "incident": incident,
            "report": report(worker, at, outcome=AuditRecord.Outcome.VIOLATION, incident=incident, duration_ms=90_000),
            "action": DisciplinaryAction.objects.create(
                worker=worker,
                incident=incident,
                action="WARNING",
                reason=label,
                actor_kind=DisciplinaryAction.Actor.HR,
                policy_version=1,
                created_at=at,
            ),  # fmt: skip
            "penalty": Penalty.objects.create(
                worker=worker,
                incident=incident,
                reason="timeout",
                severity=2,
                points=-20,
                settings_version=1,
                created_at=at,
            ),  # fmt: skip
            "score": ScoreRecord.objects.create(
                worker=worker,
                score=40,
                previous_reputation=60,
                reputation=54,
                action="NONE",
                metrics={},
                settings_version=1,
                run_key=f"report:{label}",
                created_at=at,
            ),  # fmt: skip
            "event": Event.objects.create(kind=Event.Kind.INCIDENT_OPENED, model_id=worker.model_id, created_at=at),
        }

    old, young = trail(now - timedelta(days=366), "old"), trail(now - timedelta(days=364), "young")

    purge_expired.apply_async()

    log = wait_for(
        lambda: PurgeLog.objects.filter(dry_run=False, finished_at__isnull=False).first(),
        timeout=90,
        what="the worker to run the purge",
        worker=celery_worker,
    )
    assert log.actor_kind == PurgeLog.Actor.BEAT
    assert log.counts["governance_incident"] == log.counts["governance_historicalincident"] == 1
    assert log.counts["workforce_event"] == 1
    for name, row in old.items():
        assert not type(row).objects.filter(pk=row.pk).exists(), name
        if name != "event":
            assert not type(row).history.model.objects.filter(id=row.pk).exists(), name
    for name, row in young.items():
        assert type(row).objects.filter(pk=row.pk).exists(), name
        if name != "event":
            assert type(row).history.model.objects.filter(id=row.pk).exists(), name
