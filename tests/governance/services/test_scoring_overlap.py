"""Overlapping scoring runs (a beat run and the Director's button a minute apart) never score the same
evidence twice."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from governance.models import AuditRecord, ScoreRecord
from governance.selectors import settings_current
from governance.services import scoring_runs
from workforce.domain.actor import BEAT
from workforce.models import Task, Worker

pytestmark = pytest.mark.django_db


def test_a_later_run_that_read_its_candidates_before_an_earlier_run_finished_scores_nobody_twice():
    t0 = timezone.now() - timedelta(hours=2)
    worker = Worker.objects.create(model_id="w/1", capabilities=["code"])
    task = Task.objects.create(task_id="t1", capability="code")
    AuditRecord.objects.create(
        report_id="r1",
        request_hash="0" * 64,
        task=task,
        worker=worker,
        settings_version=1,
        received_at=t0,
        outcome=AuditRecord.Outcome.CLEAN,
        duration_ms=1000,
        test_pass_rate=1.0,
        manager_satisfaction=1.0,
        confidence=1.0,
        retries=0,
    )
    beat, _ = scoring_runs.scoring_run_start(
        actor=BEAT, trigger="beat", now=t0 + timedelta(minutes=5), key="a", enqueue=False
    )
    button, _ = scoring_runs.scoring_run_start(
        actor=BEAT, trigger="director", now=t0 + timedelta(minutes=6), key="b", enqueue=False
    )
    # The button's run reads its candidates while the beat's run is still going, as on PostgreSQL.
    candidates = scoring_runs._candidates(button.window_end)
    assert candidates == [worker.pk]
    scoring_runs.scoring_run_execute(run_id=beat.pk)
    with transaction.atomic():
        scored = scoring_runs._score_chunk(button, candidates, settings_current())
    worker.refresh_from_db()
    assert scored == 0
    assert worker.scored_runs == 1
    assert ScoreRecord.objects.filter(worker=worker).count() == 1


def test_a_later_run_scores_a_worker_again_once_new_evidence_arrives():
    t0 = timezone.now() - timedelta(hours=2)
    worker = Worker.objects.create(model_id="w/2", capabilities=["code"])
    task = Task.objects.create(task_id="t2", capability="code")
    for i, at in enumerate((t0, t0 + timedelta(minutes=30))):
        AuditRecord.objects.create(
            report_id=f"r{i}",
            request_hash="0" * 64,
            task=task,
            worker=worker,
            settings_version=1,
            received_at=at,
            outcome=AuditRecord.Outcome.CLEAN,
            duration_ms=1000,
        )
    first, _ = scoring_runs.scoring_run_start(
        actor=BEAT, trigger="beat", now=t0 + timedelta(minutes=5), key="c", enqueue=False
    )
    scoring_runs.scoring_run_execute(run_id=first.pk)
    second, _ = scoring_runs.scoring_run_start(
        actor=BEAT, trigger="beat", now=t0 + timedelta(hours=1), key="d", enqueue=False
    )
    assert scoring_runs.scoring_run_execute(run_id=second.pk).workers_scored == 1


def test_a_run_left_pending_by_a_broker_outage_is_queued_again(monkeypatch):
    sent = []
    monkeypatch.setattr(scoring_runs, "_enqueue", sent.append)
    now = timezone.now()
    old, _ = scoring_runs.scoring_run_start(
        actor=BEAT, trigger="beat", now=now - timedelta(minutes=10), key="old", enqueue=False
    )
    scoring_runs.scoring_run_start(actor=BEAT, trigger="beat", now=now, key="fresh", enqueue=False)
    assert scoring_runs.scoring_runs_sweep(now=now) == 1
    assert sent == [old.pk]
