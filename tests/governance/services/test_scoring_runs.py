"""Accountant scoring runs over a fleet, against the real database: one score per worker with new evidence,
bulk writes with history, a constant number of queries, and nothing applied twice."""

import io
import itertools
from datetime import datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from governance.models import (
    AuditRecord,
    DisciplinaryAction,
    GovernanceSettings,
    Penalty,
    ScoreRecord,
    ScoringRun,
)
from governance.selectors import settings_current
from governance.services.reports import ReportInput, report_submit
from governance.services.scoring_runs import scoring_run_execute, scoring_run_start
from workforce.domain.actor import BEAT, MANAGER, service_key
from workforce.models import Event, Task, Worker
from workforce.services.tasks import task_register

TEST_MANAGER = service_key("test-manager", MANAGER)  # the Manager's key, for service calls

pytestmark = pytest.mark.django_db

HistoricalScoreRecord = ScoreRecord.history.model
HistoricalWorker = Worker.history.model
_serial = itertools.count()

# Reports by what they make of a worker's score (docs/metrics.md): from a fresh reputation of 60,
# EXCELLENT scores 99, STEADY 72 (the reputation stays between 50 and 79: no action), POOR 5.
EXCELLENT = {"duration_ms": 1_000, "retries": 0, "test_pass_rate": 1.0, "manager_satisfaction": 1.0, "confidence": 1.0}
STEADY = {"duration_ms": 24_000, "retries": 0, "test_pass_rate": 0.6, "manager_satisfaction": 0.6, "confidence": 0.6}
POOR = {
    "duration_ms": 70_000,
    "retries": 5,
    "test_pass_rate": 0.0,
    "manager_satisfaction": 0.0,
    "confidence": 0.0,
    "outcome": AuditRecord.Outcome.VIOLATION,
}


# --- Builders -----------------------------------------------------------------------------------------------


@pytest.fixture
def t0() -> datetime:
    """A day ago: the runs below happen between then and now."""
    return timezone.now().replace(microsecond=0) - timedelta(days=1)


def hire(model_id: str, **fields) -> Worker:
    return Worker.objects.create(model_id=model_id, capabilities=["code"], **fields)


def report(worker: Worker, at: datetime, measures: dict | None = None, **extra) -> AuditRecord:
    """A report on the worker, received at `at`, as the Auditor stored it."""
    fields = {"outcome": AuditRecord.Outcome.CLEAN, **(measures or {}), **extra}
    task, _ = Task.objects.get_or_create(task_id=f"{worker.model_id}/task", defaults={"capability": "code"})
    n = next(_serial)
    return AuditRecord.objects.create(
        report_id=f"report-{n}",
        request_hash=f"{n:064d}",
        task=task,
        worker=worker,
        settings_version=1,
        received_at=at,
        **fields,
    )


def fleet(prefix: str, size: int, at: datetime, measures: dict = STEADY) -> list[Worker]:
    workers = [hire(f"{prefix}/{i}") for i in range(size)]
    for worker in workers:
        report(worker, at, measures)
    return workers


def run_at(now: datetime, key: str | None = None) -> ScoringRun:
    run, _ = scoring_run_start(
        actor=BEAT, trigger=ScoringRun.Trigger.COMMAND, now=now, key=key or f"test:{now.isoformat()}"
    )
    return scoring_run_execute(run_id=run.pk)


def snapshot() -> dict:
    """Everything a scoring run may write."""
    return {
        "scores": ScoreRecord.objects.count(),
        "score_history": HistoricalScoreRecord.objects.count(),
        "worker_history": HistoricalWorker.objects.count(),
        "actions": DisciplinaryAction.objects.count(),
        "events": Event.objects.count(),
        "workers": list(
            Worker.objects.order_by("pk").values_list(
                "model_id", "reputation", "scored_runs", "runs_since_tier_change", "tier", "status"
            )
        ),
    }


# --- A run over a fleet -------------------------------------------------------------------------------------


def test_a_run_scores_each_worker_with_new_evidence_once_and_records_the_run(t0):
    workers = fleet("fleet", 6, t0 - timedelta(hours=2))
    report(workers[0], t0 - timedelta(hours=1), STEADY)  # two reports, still one score

    run = run_at(t0, key="hourly-1")

    assert run.status == ScoringRun.Status.DONE
    assert run.workers_scored == 6
    assert run.started_at is not None and run.finished_at is not None and run.finished_at >= run.started_at
    assert run.error == ""
    assert ScoringRun.objects.count() == 1
    assert ScoreRecord.objects.filter(run_key="run:hourly-1").count() == 6
    for worker in Worker.objects.all():
        assert worker.scores.count() == 1, worker.model_id
        assert worker.scored_runs == 1
        assert worker.evidence_scored_until == t0


def test_a_score_record_carries_the_metrics_score_reputation_and_settings_version(t0):
    (worker,) = fleet("one", 1, t0 - timedelta(hours=1), STEADY)

    run_at(t0)

    record = ScoreRecord.objects.get(worker=worker)
    assert record.metrics == {
        "confidence": "60.00",
        "consistency": "100.00",
        "accuracy": "60.00",
        "productivity": "60.00",
        "initiative": "60.00",
        "discipline": "100.00",
    }
    assert (record.previous_reputation, record.score, record.reputation) == (60, 72, 63)
    assert record.action == record.applied_action == "NONE"
    assert record.settings_version == GovernanceSettings.objects.order_by("-version").first().version
    worker.refresh_from_db()
    assert worker.reputation == 63
    assert Event.objects.filter(kind="score.recorded", model_id=worker.model_id).count() == 1


def test_workers_without_new_evidence_are_not_scored(t0):
    scored, idle = hire("busy"), hire("idle")
    report(scored, t0 - timedelta(hours=1), STEADY)
    late = hire("late")
    report(late, t0 + timedelta(minutes=5), STEADY)  # after the run's window ends
    gone = hire("gone", status=Worker.Status.TERMINATED)
    report(gone, t0 - timedelta(hours=1), STEADY)

    run = run_at(t0)

    assert run.workers_scored == 1
    assert list(ScoreRecord.objects.values_list("worker__model_id", flat=True)) == ["busy"]
    for worker in (idle, late, gone):
        worker.refresh_from_db()
        assert worker.reputation == 60 and worker.scored_runs == 0, worker.model_id


def test_the_run_subtracts_no_penalty_as_penalties_act_once_at_report_time(t0):
    # Regression: the run subtracted the Penalty rows its window held, which had already moved the
    # reputation when their reports arrived (a penalty counted twice, and a third time by discipline).
    penalised, clean = fleet("p", 2, t0 - timedelta(hours=1), STEADY)
    Penalty.objects.create(
        worker=penalised,
        reason="timeout",
        severity=2,
        points=-20,
        settings_version=1,
        created_at=t0 - timedelta(days=3),
    )

    run_at(t0)

    penalised_score, clean_score = (ScoreRecord.objects.get(worker=w) for w in (penalised, clean))
    assert (penalised_score.score, penalised_score.penalties, penalised_score.reputation) == (72, [], 63)
    assert (clean_score.score, clean_score.penalties, clean_score.reputation) == (72, [], 63)


def test_the_run_reads_only_the_window_and_at_most_the_cap_of_newest_reports(t0):
    GovernanceSettings.objects.create(scoring_window_cap=2, note="a short memory")
    worker = hire("capped")
    report(worker, t0 - timedelta(days=40), POOR)  # outside the 30-day window
    report(worker, t0 - timedelta(hours=3), POOR)  # inside, but beyond the cap of two
    report(worker, t0 - timedelta(hours=2), STEADY)
    report(worker, t0 - timedelta(hours=1), STEADY)

    run_at(t0)

    assert ScoreRecord.objects.get(worker=worker).score == 72  # only the two STEADY reports


def test_a_violation_reported_through_the_auditor_is_penalised_at_report_time_and_the_run_scores_its_metrics(t0):
    worker, other = hire("reported"), hire("spare")
    task_register(
        actor=TEST_MANAGER,
        task_id="reported/t1",
        capability="code",
        priority=5,
        model_id="reported",
        now=t0 - timedelta(hours=2),
    )
    report_submit(
        actor=TEST_MANAGER,
        report=ReportInput(task_id="reported/t1", model_id="reported", duration_ms=90_000, confidence=0.6),
        report_id="r-1",
        now=t0 - timedelta(hours=1),
    )

    penalty = ScoreRecord.objects.get(worker=worker)
    assert (penalty.kind, penalty.penalties, penalty.previous_reputation, penalty.reputation) == (
        ScoreRecord.Kind.PENALTY,
        ["timeout"],
        60,
        54,  # the attempt scores 60 - 20 = 40; int(0.7*60 + 0.3*40) = 54
    )

    run_at(t0)

    record = ScoreRecord.objects.get(worker=worker, run_key__startswith="run:")
    assert record.kind == ScoreRecord.Kind.RUN
    assert record.penalties == []
    assert record.metrics["discipline"] == "0.00"  # the violation counts here, once
    assert record.metrics["productivity"] == "0.00"
    assert record.basis == {"reports": 1, "incidents": [str(penalty.incident_id)]}
    # The six metrics alone, nothing subtracted: 0.25*60 + 0.2*50 + 0.2*50 + 0.15*0 + 0.1*50 + 0.1*0 = 40
    # (not 40 - 20); int(0.7*54 + 0.3*40) = 49.
    assert (record.previous_reputation, record.score, record.reputation) == (54, 40, 49)
    assert not ScoreRecord.objects.filter(worker=other).exists()


# --- Bulk writes with history -------------------------------------------------------------------------------


def test_every_score_written_by_a_run_has_its_history_row(t0):
    fleet("hist", 7, t0 - timedelta(hours=1))

    run = run_at(t0, key="with-history")

    assert ScoreRecord.objects.count() == 7
    assert HistoricalScoreRecord.objects.count() == ScoreRecord.objects.count()
    assert set(HistoricalScoreRecord.objects.values_list("id", flat=True)) == set(
        ScoreRecord.objects.values_list("id", flat=True)
    )
    assert set(HistoricalScoreRecord.objects.values_list("history_change_reason", flat=True)) == {
        f"scoring run {run.key}"
    }
    moved = HistoricalWorker.objects.filter(history_change_reason=f"scoring run {run.key}")
    assert moved.count() == 7
    assert set(moved.values_list("reputation", flat=True)) == {63}


def test_the_number_of_queries_does_not_grow_with_the_fleet(t0):
    fleet("small", 5, t0 - timedelta(hours=1))
    settings_current()  # the settings are cached per version: both runs below find them warm
    with CaptureQueriesContext(connection) as small:
        assert run_at(t0).workers_scored == 5

    fleet("large", 40, t0 + timedelta(minutes=30))
    with CaptureQueriesContext(connection) as large:
        assert run_at(t0 + timedelta(hours=1)).workers_scored == 40  # the five have nothing new

    assert len(large) == len(small), "\n".join(q["sql"][:120] for q in large.captured_queries)
    assert len(small) <= 30  # the run's own row, settings, candidates, three reads, six writes, savepoints


# --- Nothing twice ------------------------------------------------------------------------------------------


def test_executing_a_finished_run_again_changes_nothing(t0):
    fleet("again", 4, t0 - timedelta(hours=1))
    hire("warned", reputation=55)
    report(Worker.objects.get(model_id="warned"), t0 - timedelta(hours=1), POOR)
    run = run_at(t0)
    before = snapshot()

    again = scoring_run_execute(run_id=run.pk)

    assert again.status == ScoringRun.Status.DONE and again.workers_scored == 5
    assert snapshot() == before


def test_starting_the_same_key_again_is_the_same_run_and_changes_nothing(t0):
    fleet("same", 3, t0 - timedelta(hours=1))
    first = run_at(t0, key="beat:2025-01-01T10")
    before = snapshot()

    run, created = scoring_run_start(
        actor=BEAT, trigger=ScoringRun.Trigger.BEAT, now=t0 + timedelta(minutes=3), key=first.key
    )
    repeat = scoring_run_execute(run_id=run.pk)

    assert not created and run.pk == first.pk
    assert repeat.workers_scored == 3
    assert ScoringRun.objects.count() == 1
    assert snapshot() == before


def test_a_new_run_without_new_evidence_scores_nobody(t0):
    fleet("quiet", 3, t0 - timedelta(hours=1))
    run_at(t0, key="first")
    before = snapshot()

    second = run_at(t0 + timedelta(hours=1), key="second")

    assert second.status == ScoringRun.Status.DONE and second.workers_scored == 0
    assert snapshot() == before


def test_two_runs_over_the_same_window_score_each_worker_once(t0):
    fleet("overlap", 3, t0 - timedelta(hours=1))
    a, _ = scoring_run_start(actor=BEAT, trigger=ScoringRun.Trigger.BEAT, now=t0, key="a", enqueue=False)
    b, _ = scoring_run_start(actor=BEAT, trigger=ScoringRun.Trigger.DIRECTOR, now=t0, key="b", enqueue=False)

    assert scoring_run_execute(run_id=a.pk).workers_scored == 3
    assert scoring_run_execute(run_id=b.pk).workers_scored == 0
    assert ScoreRecord.objects.count() == 3


def test_a_run_redelivered_after_it_scored_but_before_it_was_marked_done_applies_nothing_twice(t0):
    fleet("crash", 3, t0 - timedelta(hours=1))
    run = run_at(t0, key="crashed")
    # acks_late: the worker died after the scores committed, before the run's row said DONE.
    ScoringRun.objects.filter(pk=run.pk).update(status=ScoringRun.Status.RUNNING, workers_scored=0)
    before = snapshot()

    redelivered = scoring_run_execute(run_id=run.pk)

    assert snapshot() == before
    assert redelivered.status == ScoringRun.Status.DONE
    assert redelivered.workers_scored == ScoreRecord.objects.filter(run_key="run:crashed").count() == 3


# --- Actions ------------------------------------------------------------------------------------------------


def test_promotion_waits_for_five_scored_runs_since_hiring_then_is_applied(t0):
    worker = hire("rising")
    applied = []
    for hour in range(1, 7):
        report(worker, t0 + timedelta(hours=hour, minutes=-10), EXCELLENT)
        run_at(t0 + timedelta(hours=hour))
        applied.append(ScoreRecord.objects.filter(worker=worker).order_by("-id").first())

    assert [(r.reputation, r.action, r.applied_action) for r in applied] == [
        (71, "NONE", "NONE"),
        (79, "NONE", "NONE"),
        (85, "PROMOTE", "NONE"),  # three scored runs: provisional (hiring is not a run)
        (89, "PROMOTE", "NONE"),  # four: still provisional
        (92, "PROMOTE", "PROMOTE"),  # the fifth scored run
        (94, "PROMOTE", "NONE"),  # the tier change reset the count
    ]
    worker.refresh_from_db()
    assert worker.tier == Worker.Tier.MID
    assert worker.runs_since_tier_change == 1
    promotion = DisciplinaryAction.objects.get(worker=worker)
    assert promotion.action == "PROMOTE"
    assert promotion.actor_kind == DisciplinaryAction.Actor.ACCOUNTANT
    assert promotion.actor is None


def test_a_reputation_below_fifty_warns_cools_down_and_demotes(t0):
    worker = hire("slipping", reputation=55, tier=Worker.Tier.MID, budget=2000)
    report(worker, t0 - timedelta(hours=1), POOR)

    run_at(t0)

    worker.refresh_from_db()
    record = ScoreRecord.objects.get(worker=worker)
    assert (record.score, record.reputation, record.applied_action) == (5, 40, "WARNING")
    assert worker.status == Worker.Status.COOLDOWN
    assert worker.cooldown_until is not None
    assert worker.tier == Worker.Tier.JUNIOR
    actions = DisciplinaryAction.objects.filter(worker=worker)
    assert sorted(actions.values_list("action", flat=True)) == ["DEMOTE", "WARNING"]
    assert set(actions.values_list("actor_kind", flat=True)) == {DisciplinaryAction.Actor.ACCOUNTANT}
    warning = actions.get(action="WARNING")
    assert warning.effective_until == worker.cooldown_until
    assert "reputation 40" in warning.reason


def test_a_reputation_below_thirty_terminates_the_worker_and_hands_on_its_tasks(t0):
    worker, spare = hire("failing", reputation=30, scored_runs=4), hire("spare")  # past its provisional runs
    task_register(
        actor=TEST_MANAGER,
        task_id="held",
        capability="code",
        priority=5,
        model_id="failing",
        now=t0 - timedelta(hours=2),
    )
    report(worker, t0 - timedelta(hours=1), POOR)

    run_at(t0)

    worker.refresh_from_db()
    assert ScoreRecord.objects.get(worker=worker, run_key__startswith="run:").reputation == 22
    assert worker.status == Worker.Status.TERMINATED
    (termination,) = DisciplinaryAction.objects.filter(worker=worker)
    assert (termination.action, termination.actor_kind) == ("TERMINATE", DisciplinaryAction.Actor.ACCOUNTANT)
    assert Task.objects.get(task_id="held").current_worker == spare


def test_a_provisional_worker_below_thirty_is_warned_instead_of_terminated(t0):
    worker = hire("new", reputation=30)  # no scored run yet: its reputation is a guess
    report(worker, t0 - timedelta(hours=1), POOR)

    run_at(t0)

    worker.refresh_from_db()
    record = ScoreRecord.objects.get(worker=worker)
    assert (record.reputation, record.action, record.applied_action) == (22, "TERMINATE", "WARNING")
    assert worker.status == Worker.Status.COOLDOWN
    assert not DisciplinaryAction.objects.filter(worker=worker, action="TERMINATE").exists()


def test_a_terminated_worker_is_not_scored_again(t0):
    worker = hire("fired", reputation=30, scored_runs=4)
    report(worker, t0 - timedelta(hours=1), POOR)
    run_at(t0)
    report(worker, t0 + timedelta(minutes=30), POOR)  # a late report

    second = run_at(t0 + timedelta(hours=1))

    assert second.workers_scored == 0
    assert DisciplinaryAction.objects.filter(worker=worker, action="TERMINATE").count() == 1


# --- The command twin ---------------------------------------------------------------------------------------


def test_score_workers_prints_a_summary_and_a_repeat_of_its_key_scores_nobody_twice():
    now = timezone.now()
    fleet("cmd", 3, now - timedelta(hours=1))

    first, second = io.StringIO(), io.StringIO()
    call_command("score_workers", "--key", "manual-1", stdout=first)
    call_command("score_workers", "--key", "manual-1", stdout=second)

    assert "Scoring run manual-1 (new)" in first.getvalue()
    assert "Scoring run manual-1: DONE, 3 workers scored." in first.getvalue()
    assert "Scoring run manual-1 (existing)" in second.getvalue()
    assert ScoreRecord.objects.count() == 3
    run = ScoringRun.objects.get(key="manual-1")
    assert run.trigger == ScoringRun.Trigger.COMMAND


def test_score_workers_without_a_key_names_a_fresh_run():
    now = timezone.now()
    fleet("cmd2", 2, now - timedelta(hours=1))
    out = io.StringIO()

    call_command("score_workers", stdout=out)

    assert "DONE, 2 workers scored." in out.getvalue()
    assert ScoringRun.objects.get().key.startswith("command:")
