"""Run leases: a running scoring or batch run renews its lease as it goes; the sweeper queues again a RUNNING run
whose lease has passed (its Celery worker died), leaves a live one alone, and a resumed run scores each worker
and records each report once. The broker is the only thing swapped: `sent` collects what would be queued."""

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from governance import tasks
from governance.models import AuditRecord, AuditRun, AuditRunItem, ScoreRecord, ScoringRun
from governance.services import audit_runs, scoring_runs
from governance.services.audit_runs import audit_run_process, audit_run_submit, audit_runs_sweep
from governance.services.scoring_runs import scoring_run_execute, scoring_run_start, scoring_runs_sweep
from workforce.domain.actor import BEAT, MANAGER, service_key
from workforce.models import Task, Worker
from workforce.services.tasks import task_register

pytestmark = pytest.mark.django_db

TEST_MANAGER = service_key("lease-manager", MANAGER)
_serial = itertools.count()


class WorkerKilled(BaseException):
    """Stands in for SIGKILL: not an Exception, so the run's own error handling never sees it (a killed
    process marks nothing FAILED)."""


@pytest.fixture
def sent(monkeypatch) -> list:
    """The run ids the services hand to the broker."""
    queued: list = []
    monkeypatch.setattr(scoring_runs, "_enqueue", queued.append)
    monkeypatch.setattr(tasks.process_audit_run, "apply_async", lambda args, **kw: queued.append(args[0]))
    return queued


def _fleet(size: int, at) -> list[Worker]:
    workers = []
    for i in range(size):
        worker = Worker.objects.create(model_id=f"lease/w{i}", capabilities=["code"])
        task = Task.objects.create(task_id=f"lease/t{i}", capability="code")
        n = next(_serial)
        AuditRecord.objects.create(
            report_id=f"lease-{n}", request_hash=f"{n:064d}", task=task, worker=worker, settings_version=1,
            received_at=at, outcome=AuditRecord.Outcome.CLEAN, duration_ms=24_000, retries=0,
            test_pass_rate=0.6, manager_satisfaction=0.6, confidence=0.6,
        )  # fmt: skip
        workers.append(worker)
    return workers


def _lease_of(model, pk):
    return model.objects.values_list("lease_until", flat=True).get(pk=pk)


# --- Scoring runs ---------------------------------------------------------------------------------------------


def test_a_running_scoring_run_renews_its_lease_with_every_chunk_and_drops_it_when_done(monkeypatch, settings):
    settings.AURA_RUN_LEASE_SECONDS = 0  # renew at every chance, so each chunk's renewal shows
    monkeypatch.setattr(scoring_runs, "CHUNK", 2)
    now = timezone.now()
    _fleet(6, now - timedelta(hours=1))
    run, _ = scoring_run_start(actor=BEAT, trigger="beat", now=now, key="lease:renew", enqueue=False)
    seen = []
    score_chunk = scoring_runs._score_chunk

    def observed(run, ids, settings):
        seen.append(_lease_of(ScoringRun, run.pk))
        return score_chunk(run, ids, settings)

    monkeypatch.setattr(scoring_runs, "_score_chunk", observed)

    done = scoring_run_execute(run_id=run.pk)

    assert len(seen) == 3 and None not in seen
    assert seen[0] < seen[1] < seen[2], "renewed after each chunk"
    assert (done.status, done.workers_scored, done.lease_until) == (ScoringRun.Status.DONE, 6, None)


def test_the_sweeper_queues_again_a_running_scoring_run_whose_lease_passed_and_leaves_a_live_one(sent):
    now = timezone.now()
    dead, _ = scoring_run_start(actor=BEAT, trigger="beat", now=now, key="lease:dead", enqueue=False)
    live, _ = scoring_run_start(actor=BEAT, trigger="beat", now=now, key="lease:live", enqueue=False)
    ScoringRun.objects.filter(pk=dead.pk).update(
        status="RUNNING", started_at=now, lease_until=now - timedelta(seconds=1)
    )
    ScoringRun.objects.filter(pk=live.pk).update(
        status="RUNNING", started_at=now, lease_until=now + timedelta(seconds=30)
    )

    assert scoring_runs_sweep(now=now) == 1
    assert sent == [dead.pk]
    # The sweep claimed the run by moving its lease on: the next sweep, a minute later, sends nothing more
    # while that delivery waits in the queue.
    assert _lease_of(ScoringRun, dead.pk) > now
    assert scoring_runs_sweep(now=now + timedelta(seconds=30)) == 0
    assert sent == [dead.pk]


def test_a_scoring_run_whose_worker_died_mid_run_is_resumed_by_the_sweeper_and_scores_each_worker_once(
    monkeypatch, sent
):
    monkeypatch.setattr(scoring_runs, "CHUNK", 2)
    now = timezone.now()
    fleet = _fleet(5, now - timedelta(hours=1))
    run, _ = scoring_run_start(actor=BEAT, trigger="beat", now=now, key="lease:killed", enqueue=False)
    score_chunk, calls = scoring_runs._score_chunk, itertools.count()

    def killed_after_the_first_chunk(run, ids, settings):
        if next(calls) == 1:
            raise WorkerKilled
        return score_chunk(run, ids, settings)

    monkeypatch.setattr(scoring_runs, "_score_chunk", killed_after_the_first_chunk)
    with pytest.raises(WorkerKilled):
        scoring_run_execute(run_id=run.pk)
    monkeypatch.setattr(scoring_runs, "_score_chunk", score_chunk)
    stuck = ScoringRun.objects.get(pk=run.pk)
    assert stuck.status == ScoringRun.Status.RUNNING and stuck.lease_until is not None
    assert ScoreRecord.objects.filter(run_key="run:lease:killed").count() == 2

    assert scoring_runs_sweep(now=now) == 0, "the lease still runs: the worker may be alive"
    assert scoring_runs_sweep(now=stuck.lease_until + timedelta(seconds=1)) == 1
    assert sent == [run.pk]
    resumed = scoring_run_execute(run_id=run.pk)  # what the new worker does with the delivery

    assert (resumed.status, resumed.workers_scored) == (ScoringRun.Status.DONE, 5)
    per_worker = ScoreRecord.objects.filter(run_key="run:lease:killed").values_list("worker_id", flat=True)
    assert sorted(per_worker) == sorted(w.pk for w in fleet), "each worker scored once"
    assert set(Worker.objects.filter(pk__in=[w.pk for w in fleet]).values_list("scored_runs", flat=True)) == {1}
    assert resumed.started_at == stuck.started_at


# --- Batch (audit) runs ---------------------------------------------------------------------------------------


def _batch_run(size: int, *, now, model_id: str = "lease/batch") -> AuditRun:
    worker = Worker.objects.create(model_id=model_id, capabilities=["code"])
    for i in range(size):
        task_register(task_id=f"{model_id}/{i}", capability="code", priority=1, model_id=worker.model_id,
                      actor=TEST_MANAGER, now=now)  # fmt: skip
    reports = [{"task_id": f"{model_id}/{i}", "logs": [f"step {i}"]} for i in range(size)]
    run, _ = audit_run_submit(reports=reports, actor=TEST_MANAGER, now=now)
    return run


def test_a_running_batch_run_holds_a_lease_while_it_processes_and_drops_it_when_done(monkeypatch, sent):
    monkeypatch.setattr(audit_runs, "SLICE", 1)  # one report per slice: the lease is seen at each
    run = _batch_run(3, now=timezone.now())
    seen = []
    process = audit_runs.reports_process

    def observed(entries, **kwargs):
        seen.append(_lease_of(AuditRun, run.pk))
        return process(entries, **kwargs)

    monkeypatch.setattr(audit_runs, "reports_process", observed)

    done = audit_run_process(run_id=run.id)

    assert len(seen) == 3 and all(lease is not None and lease > timezone.now() for lease in seen)
    assert (done.status, done.processed, done.lease_until) == (AuditRun.Status.DONE, 3, None)


def test_the_sweeper_leaves_a_long_batch_run_with_a_live_lease_and_queues_one_whose_lease_passed(sent):
    created = timezone.now() - timedelta(minutes=30)
    live, dead = _batch_run(1, now=created, model_id="lease/live"), _batch_run(1, now=created, model_id="lease/dead")
    sent.clear()  # their first sends, after commit
    now = timezone.now()
    running = {"status": AuditRun.Status.RUNNING, "started_at": created, "queued_at": created}
    AuditRun.objects.filter(pk=live.pk).update(**running, lease_until=now + timedelta(seconds=30))
    AuditRun.objects.filter(pk=dead.pk).update(**running, lease_until=now - timedelta(seconds=1))

    assert audit_runs_sweep(now=now) == 1
    assert sent == [str(dead.pk)]
    assert AuditRun.objects.get(pk=dead.pk).queued_at >= now - timedelta(seconds=5)


def test_a_batch_run_resumed_after_its_worker_died_records_each_report_once(monkeypatch, sent):
    monkeypatch.setattr(audit_runs, "SLICE", 1)
    run = _batch_run(4, now=timezone.now())
    process, calls = audit_runs.reports_process, itertools.count()

    def killed_at_the_third_report(entries, **kwargs):
        if next(calls) == 2:
            raise WorkerKilled
        return process(entries, **kwargs)

    monkeypatch.setattr(audit_runs, "reports_process", killed_at_the_third_report)
    with pytest.raises(WorkerKilled):
        audit_run_process(run_id=run.id)
    monkeypatch.setattr(audit_runs, "reports_process", process)
    stuck = AuditRun.objects.get(pk=run.pk)
    assert (stuck.status, stuck.processed) == (AuditRun.Status.RUNNING, 2)
    sent.clear()

    assert audit_runs_sweep(now=stuck.lease_until + timedelta(minutes=3)) == 1
    resumed = audit_run_process(run_id=run.id)

    assert (resumed.status, resumed.processed) == (AuditRun.Status.DONE, 4)
    assert AuditRecord.objects.filter(worker__model_id="lease/batch").count() == 4
    assert set(AuditRunItem.objects.filter(run=run).values_list("status", flat=True)) == {AuditRunItem.Status.DONE}
