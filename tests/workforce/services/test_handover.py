"""A worker that leaves service hands on its open tasks after the report commits: set-based, durable, once."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from governance.services.discipline import director_intervene
from governance.services.reports import ReportInput, report_submit
from workforce.domain.actor import MANAGER, service_key
from workforce.models import Assignment, Event, Handover, Task, Worker
from workforce.services import handover as handover_module
from workforce.services.handover import handover_run, handovers_sweep
from workforce.services.tasks import task_register
from workforce.services.workers import worker_hire

MANAGER_KEY = service_key("manager", MANAGER)


@pytest.fixture
def now():
    return timezone.now()


def busy_worker(model_id: str, tasks: int, now) -> Worker:
    worker = worker_hire(model_id=model_id, capabilities=["code"], actor=MANAGER_KEY)
    for n in range(tasks):
        task_register(
            task_id=f"{model_id}/t{n}", capability="code", priority=2, model_id=model_id, now=now, actor=MANAGER_KEY
        )
    return worker


@pytest.fixture
def spares(db):
    return [worker_hire(model_id=f"spare/{n}", capabilities=["code"], actor=MANAGER_KEY) for n in range(3)]


def test_a_suspended_workers_tasks_are_handed_on_after_the_suspension_commits(director, spares, now):
    worker = busy_worker("busy/one", 12, now)

    director_intervene(worker=worker, action="SUSPEND", reason="audit", actor=director, now=now)

    handover = Handover.objects.get(worker=worker)
    assert (handover.status, handover.moved, handover.waiting) == ("DONE", 12, 0)
    assert not Task.objects.filter(current_worker=worker).exists()
    # Spread over the spares by load, each move told to the Manager.
    loads = sorted(Task.objects.filter(current_worker__in=spares).values_list("current_worker", flat=True))
    assert [loads.count(s.pk) for s in spares] == [4, 4, 4]
    assert Event.objects.filter(kind="task.reassigned", payload__previous="busy/one").count() == 12
    assert Assignment.objects.filter(worker=worker, outcome="RELEASED").count() == 12


def test_the_handover_takes_a_few_statements_for_ten_tasks_or_two_hundred(director, spares, now):
    counts = []
    for model_id, tasks in (("busy/ten", 10), ("busy/many", 200)):
        worker = busy_worker(model_id, tasks, now)
        with CaptureQueriesContext(connection) as queries:
            director_intervene(worker=worker, action="SUSPEND", reason="audit", actor=director, now=now)
        counts.append(len(queries))
    # Set-based: twenty times the tasks add only the extra batches of the bulk writes (SQLite's variable limit),
    # not a statement per task as handing on one task at a time did.
    assert counts[1] <= counts[0] + 10, counts


def test_a_report_that_suspends_commits_before_the_handover_runs(spares, now, monkeypatch):
    worker = busy_worker("busy/bad", 5, now)
    task_register(task_id="first", capability="code", priority=2, model_id="busy/bad", now=now, actor=MANAGER_KEY)
    report_submit(
        report=ReportInput(task_id="first", model_id="busy/bad", hallucinated=True),
        report_id="r0",
        now=now + timedelta(seconds=1),
        actor=MANAGER_KEY,
    )
    task_register(
        task_id="second",
        capability="code",
        priority=2,
        model_id="busy/bad",
        now=now + timedelta(seconds=2),
        actor=MANAGER_KEY,
    )
    seen = []

    def run(**kwargs):  # what the follow-up finds when it starts: the report already stored
        seen.append(
            (
                Handover.objects.get().status,
                Worker.objects.get(pk=worker.pk).status,
                Task.objects.filter(current_worker=worker).count(),
            )
        )
        return real(**kwargs)

    real = handover_module.handover_run
    monkeypatch.setattr(handover_module, "handover_run", run)
    body = report_submit(
        report=ReportInput(task_id="second", model_id="busy/bad", hallucinated=True),
        report_id="r1",
        now=now + timedelta(seconds=3),
        actor=MANAGER_KEY,
    ).body

    assert "SUSPEND" in body["actions"]
    assert seen == [("PENDING", "SUSPENDED", 5)]  # "first" was repaired with its report; five wait to move
    assert not Task.objects.filter(current_worker=worker).exists()


def test_a_handover_left_pending_by_a_crash_is_run_by_the_sweeper_once(director, spares, now, monkeypatch):
    worker = busy_worker("busy/crash", 6, now)
    monkeypatch.setattr(handover_module, "follow_up", lambda work: True)  # queued, never run: a crash
    director_intervene(worker=worker, action="TERMINATE", reason="fired", actor=director, now=now)
    handover = Handover.objects.get(worker=worker)
    assert handover.status == "PENDING"
    assert Task.objects.filter(current_worker=worker).count() == 6  # still with it, and offered to nobody

    assert handovers_sweep(now=now + timedelta(seconds=10)) == 0  # too fresh: its own call may still run it
    assert handovers_sweep(now=now + timedelta(minutes=1)) == 1
    assert handovers_sweep(now=now + timedelta(minutes=2)) == 0
    assert handover_run(handover_id=handover.pk, now=now) is None  # done once, never again
    assert not Task.objects.filter(current_worker=worker).exists()
    assert Event.objects.filter(kind="task.reassigned", payload__previous="busy/crash").count() == 6
