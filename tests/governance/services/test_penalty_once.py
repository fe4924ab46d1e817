"""The Accountant counts each incident once (docs/metrics.md, "a new hire's first ten reports")."""

from datetime import timedelta

import pytest
from django.utils import timezone

from governance.models import DisciplinaryAction, Incident, ScoreRecord
from governance.services.overturn import action_overturn
from governance.services.reports import ReportInput, report_submit
from governance.services.scoring_runs import scoring_run_execute, scoring_run_start
from workforce.domain.actor import BEAT, MANAGER, service_key
from workforce.models import Worker
from workforce.services.tasks import task_register
from workforce.services.workers import worker_hire

MANAGER_KEY = service_key("manager", MANAGER)
MEASURES = {"duration_ms": 12_000, "retries": 0, "test_pass_rate": 0.9, "manager_satisfaction": 0.8, "confidence": 0.8}


@pytest.fixture
def clock(monkeypatch):
    now = [timezone.now().replace(microsecond=0) - timedelta(days=1)]
    monkeypatch.setattr(timezone, "now", lambda: now[0])
    return now


def ten_reports(model_id: str, clock, *, flags: dict[int, dict]) -> list[int]:
    """Hire, then ten reports with a scoring run after the 5th and the 10th; the reputation after each step."""
    worker_hire(model_id=model_id, capabilities=["code"], actor=MANAGER_KEY)
    seen = []
    for n in range(1, 11):
        clock[0] += timedelta(minutes=10)
        task_id = f"{model_id}/t{n}"
        task_register(
            task_id=task_id, capability="code", priority=2, model_id=model_id, now=clock[0], actor=MANAGER_KEY
        )
        report = ReportInput(task_id=task_id, model_id=model_id, **MEASURES, **flags.get(n, {}))
        report_submit(
            report=report, report_id=f"{model_id}/r{n}", now=clock[0] + timedelta(seconds=1), actor=MANAGER_KEY
        )
        if n in (5, 10):
            clock[0] += timedelta(minutes=5)
            run, _ = scoring_run_start(
                trigger="command", now=clock[0], key=f"{model_id}:{n}", enqueue=False, actor=BEAT
            )
            scoring_run_execute(run_id=run.pk)
        seen.append(Worker.objects.get(model_id=model_id).reputation)
    return seen


def test_a_new_hires_first_ten_reports_move_the_reputation_as_documented(db, clock):
    seen = ten_reports("doc/hire", clock, flags={4: {"hallucinated": True}, 8: {"format_violation": True}})
    assert seen == [60, 60, 60, 51, 61, 61, 61, 58, 58, 66]
    runs = ScoreRecord.objects.filter(worker__model_id="doc/hire", kind="RUN").order_by("created_at")
    assert [r.score for r in runs] == [86, 86]
    assert all(r.penalties == [] for r in runs)  # the run subtracted no penalty: it acted at report time
    assert ScoreRecord.objects.filter(worker__model_id="doc/hire", kind="PENALTY").count() == 2


def test_an_overturned_incident_leaves_no_trace_in_the_reputation(db, clock, director):
    ten_reports("doc/hire", clock, flags={4: {"hallucinated": True}, 8: {"format_violation": True}})
    twin = ten_reports("doc/twin", clock, flags={8: {"format_violation": True}})  # report 4 was clean
    strike = DisciplinaryAction.objects.get(worker__model_id="doc/hire", action="STRIKE")

    action_overturn(action=strike, reason="the test suite was wrong", actor=director, now=clock[0])

    assert Incident.objects.get(pk=strike.incident_id).status == "OVERTURNED"
    assert Worker.objects.get(model_id="doc/hire").reputation == twin[-1] == 71
    recompute = ScoreRecord.objects.get(worker__model_id="doc/hire", kind="RECOMPUTE")
    assert (recompute.previous_reputation, recompute.reputation) == (66, 71)
    assert recompute.actor_label == "user:director"
