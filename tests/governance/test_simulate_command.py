"""`manage.py simulate` against a live server: the fleet is hired, routed, reported and scored through the HTTP API."""

import io
import re

import pytest
from django.core.management import CommandError, call_command

from governance.models import AuditRecord, ScoreRecord
from workforce.models import Assignment, Task, Worker


def simulate(live_server, *args: str) -> str:
    out = io.StringIO()
    call_command("simulate", "--url", live_server.url, *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_a_run_hires_routes_reports_scores_and_has_reassigned_tasks_done_by_their_new_worker(live_server):
    output = simulate(live_server, "--workers", "6", "--reports", "40", "--violation-rate", "0.35", "--seed", "3")

    fleet = Worker.objects.filter(model_id__contains="/sim-")
    assert fleet.count() == 6
    assert fleet.values("provider").distinct().count() >= 3  # steady on several providers, sloppy, flaky
    assert Task.objects.filter(task_id__startswith="sim-3-task-").count() == 40
    assert AuditRecord.objects.filter(task__task_id__startswith="sim-3-task-").count() >= 40
    # A violation's task went to another worker, and that worker reported on it too.
    redone = [
        task
        for task in Task.objects.filter(attempts__gt=1)
        if AuditRecord.objects.filter(task=task).values("worker").distinct().count() > 1
    ]
    assert redone, output
    assert Assignment.objects.filter(outcome=Assignment.Outcome.COMPLETED).exists()
    assert ScoreRecord.objects.filter(kind=ScoreRecord.Kind.API, worker__in=fleet).exists()
    assert "Simulation done." in output
    for figure in ("tasks 40", "incidents", "reassignments", "promotions", "terminations", "pending reviews"):
        assert figure in output, output


def _story(prefix: str) -> list[tuple[str, str, str]]:
    """Each report of a run, in order: the task's number, the worker's place in the fleet, the outcome."""
    rows = AuditRecord.objects.filter(task__task_id__startswith=f"{prefix}-").order_by("received_at", "pk")
    return [
        (r.task.task_id.rsplit("-", 1)[-1], re.sub(r".*-(\w+-\d+)$", r"\1", r.worker.model_id), r.outcome)
        for r in rows.select_related("task", "worker")
    ]


@pytest.mark.django_db(transaction=True)
def test_the_same_seed_repeats_the_run_and_another_seed_does_not(live_server):
    common = ("--workers", "6", "--reports", "15", "--violation-rate", "0", "--score-every", "0")
    simulate(live_server, *common, "--seed", "11", "--prefix", "first", "--capability", "first")
    simulate(live_server, *common, "--seed", "11", "--prefix", "again", "--capability", "again")
    simulate(live_server, *common, "--seed", "12", "--prefix", "other", "--capability", "other")

    assert _story("first") and _story("first") == _story("again")
    assert _story("other") != _story("first")


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("--workers", "0"), "--workers"),
        (("--reports", "-1"), "--reports"),
        (("--rate", "-2"), "--rate"),
        (("--violation-rate", "1.5"), "--violation-rate"),
        (("--score-every", "-1"), "--score-every"),
    ],
)
def test_a_bad_option_is_refused_naming_it(args, named):
    with pytest.raises(CommandError, match=named):
        call_command("simulate", "--url", "http://127.0.0.1:9", *args, stdout=io.StringIO())


def test_an_unreachable_server_is_a_clear_error_not_a_traceback(db):
    with pytest.raises(CommandError, match="does not answer"):
        call_command("simulate", "--url", "http://127.0.0.1:9", "--key", "nokey", stdout=io.StringIO())
