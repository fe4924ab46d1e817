"""The emergency halt: routing offers nobody, assignments are refused with who, when and why, reports are still
recorded; the resume routes again the tasks that waited. Also the Director's task interventions."""

import pytest
from django.utils import timezone

from aura_project.errors import Conflict, DomainError, Forbidden
from governance.models import Incident
from governance.services.discipline import director_intervene
from governance.services.reports import ReportInput, report_submit
from workforce.domain.actor import MANAGER, service_key
from workforce.domain.system import SystemHalted
from workforce.models import Assignment, Event, SystemMode, Task
from workforce.selectors import system_mode
from workforce.services.system import system_halt, system_resume
from workforce.services.tasks import task_assign_chosen, task_assign_now, task_reassign_force, task_register
from workforce.services.workers import worker_hire

pytestmark = pytest.mark.django_db

MANAGER_KEY = service_key("manager", MANAGER)


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def fleet(db):
    return [worker_hire(model_id=f"w/{n}", capabilities=["code"], actor=MANAGER_KEY) for n in range(3)]


def register(task_id: str, now, model_id=None, priority=5) -> Task:
    return task_register(
        task_id=task_id, capability="code", priority=priority, model_id=model_id, now=now, actor=MANAGER_KEY
    )


def test_the_system_runs_normally_until_someone_halts_it(db):
    assert system_mode().halted is False
    assert system_mode().as_dict()["mode"] == "normal"


def test_a_halt_records_who_when_and_why_with_history_and_tells_the_inbox(director, now):
    mode = system_halt(reason="provider outage", actor=director, now=now)

    assert (mode.halted, mode.by, mode.reason, mode.since) == (True, "user:director", "provider outage", now)
    row = SystemMode.objects.get()
    assert row.changed_by == director
    latest = row.history.latest()
    assert (latest.mode, latest.history_actor, latest.history_user) == ("halted", "user:director", director)
    event = Event.objects.get(kind="system.halted")
    assert event.payload["by"] == "user:director"
    assert event.payload["reason"] == "provider outage"


def test_only_the_director_halts_and_a_reason_is_required(director, now):
    with pytest.raises(Forbidden):
        system_halt(reason="no", actor=MANAGER_KEY, now=now)
    with pytest.raises(DomainError) as blank:
        system_halt(reason="  ", actor=director, now=now)
    assert blank.value.field == "reason"
    assert system_mode().halted is False
    assert not Event.objects.filter(kind="system.halted").exists()


def test_halting_twice_or_resuming_a_running_system_is_refused(director, now):
    with pytest.raises(Conflict, match="not halted"):
        system_resume(reason="x", actor=director, now=now)
    system_halt(reason="first", actor=director, now=now)
    with pytest.raises(Conflict, match="already halted"):
        system_halt(reason="second", actor=director, now=now)
    assert SystemMode.objects.get().reason == "first"


def test_while_halted_an_assignment_is_refused_naming_who_since_when_and_why(director, fleet, now):
    task = register("t-1", now)
    system_halt(reason="bad deploy", actor=director, now=now)

    with pytest.raises(SystemHalted) as refused:
        task_assign_now(task=task, model_id=None, now=now, actor=MANAGER_KEY)
    body = refused.value.as_body()
    assert refused.value.status_code == 409
    assert (body["code"], body["halted_by"], body["halt_reason"]) == ("halted", "user:director", "bad deploy")
    assert body["halted_since"] == now.isoformat()
    with pytest.raises(SystemHalted):
        task_assign_now(task=task, model_id="w/0", now=now, actor=MANAGER_KEY)
    with pytest.raises(SystemHalted):  # a registration naming a worker is refused whole
        register("t-2", now, model_id="w/0")
    assert not Task.objects.filter(task_id="t-2").exists()
    assert not Assignment.objects.exists()


def test_while_halted_a_failed_report_is_recorded_and_its_task_waits(director, fleet, now):
    task = register("t-1", now, model_id="w/0")
    system_halt(reason="investigating", actor=director, now=now)

    body = report_submit(
        report=ReportInput(task_id="t-1", logs=["x"], hallucinated=True), report_id=None, now=now, actor=MANAGER_KEY
    ).body

    assert body["status"] == "violation"
    assert Incident.objects.filter(task__task_id="t-1").count() == 1
    task.refresh_from_db()
    assert (task.status, task.current_worker) == (Task.Status.WAITING, None)
    waiting = Event.objects.get(kind="task.waiting", task_id="t-1")
    assert "system halted by user:director" in waiting.payload["reason"]
    assert (
        not Event.objects.filter(kind__in=["task.assigned", "task.reassigned"], task_id="t-1")
        .exclude(payload__attempt=1)
        .exists()
    )


def test_a_worker_suspended_while_halted_leaves_its_tasks_waiting(director, fleet, now):
    register("t-1", now, model_id="w/0")
    register("t-2", now, model_id="w/0")
    system_halt(reason="investigating", actor=director, now=now)

    director_intervene(worker=fleet[0], action="SUSPEND", reason="audit", actor=director, now=now)

    assert set(Task.objects.values_list("status", flat=True)) == {Task.Status.WAITING}


def test_the_resume_routes_again_the_tasks_that_waited_during_the_halt(director, fleet, now):
    before = register("old", now)  # never routed: left to the Manager
    register("t-1", now, model_id="w/0")
    system_halt(reason="investigating", actor=director, now=now)
    report_submit(
        report=ReportInput(task_id="t-1", logs=["x"], hallucinated=True), report_id=None, now=now, actor=MANAGER_KEY
    )

    mode = system_resume(reason="all clear", actor=director, now=now)

    assert mode.halted is False and mode.by == "user:director"
    task = Task.objects.get(task_id="t-1")
    assert task.status == Task.Status.ASSIGNED
    assert task.current_worker.model_id != "w/0"  # the worker that failed it is passed over
    before.refresh_from_db()
    assert before.status == Task.Status.PENDING
    resumed = Event.objects.get(kind="system.resumed")
    assert resumed.payload["rerouting"] == 1
    assert resumed.payload["halt_reason"] == "investigating"
    assert Event.objects.filter(kind="task.reassigned", task_id="t-1", id__gt=resumed.id).exists()
    assert list(SystemMode.history.order_by("history_id").values_list("mode", flat=True)) == ["halted", "normal"]


def test_the_director_force_reassigns_a_task_to_the_best_other_worker(director, fleet, now):
    task = register("t-1", now, model_id="w/0")

    worker = task_reassign_force(task=task, reason="w/0 is slow", actor=director, now=now)

    assert worker.model_id != "w/0"
    task.refresh_from_db()
    assert task.current_worker == worker
    released = Assignment.objects.get(task=task, worker=fleet[0])
    assert released.outcome == Assignment.Outcome.RELEASED
    assert "w/0 is slow" in released.reason
    event = Event.objects.get(kind="task.reassigned", task_id="t-1")
    assert (event.payload["previous"], event.payload["actor"]) == ("w/0", "user:director")
    assert task.history.latest().history_actor == "user:director"


def test_the_director_force_reassigns_a_task_to_a_chosen_worker(director, fleet, now):
    task = register("t-1", now, model_id="w/0")

    worker = task_reassign_force(task=task, model_id="w/2", reason="w/2 knows it", actor=director, now=now)

    assert worker.model_id == "w/2"


def test_a_force_reassign_with_nobody_else_eligible_leaves_the_task_where_it_was(director, fleet, now):
    task = register("t-1", now, model_id="w/0")
    for worker in fleet[1:]:
        director_intervene(worker=worker, action="SUSPEND", reason="audit", actor=director, now=now)

    with pytest.raises(Conflict, match="stays with w/0"):
        task_reassign_force(task=task, reason="try", actor=director, now=now)

    task.refresh_from_db()
    assert (task.status, task.current_worker.model_id) == (Task.Status.ASSIGNED, "w/0")
    assert Assignment.objects.get(task=task).ended_at is None


def test_the_director_assigns_a_waiting_task_to_a_chosen_worker(director, fleet, now):
    task = register("t-1", now)

    worker = task_assign_chosen(task=task, model_id="w/1", reason="give it to w/1", actor=director, now=now)

    assert worker.model_id == "w/1"
    event = Event.objects.get(kind="task.assigned", task_id="t-1")
    assert event.payload["actor"] == "user:director"


@pytest.mark.parametrize(
    ("setup", "why"),
    [
        ("suspended", "it is suspended"),
        ("no_capability", "lacks the capability 'code'"),
        ("probation_high_priority", "takes only low-priority work"),
    ],
)
def test_assigning_to_a_worker_that_cannot_take_the_task_says_why(director, fleet, now, setup, why):
    task = register("t-1", now, priority=8)
    if setup == "suspended":
        director_intervene(worker=fleet[1], action="SUSPEND", reason="audit", actor=director, now=now)
    elif setup == "no_capability":
        fleet[1].capabilities = ["prose"]
        fleet[1].save()
    else:
        director_intervene(worker=fleet[1], action="TERMINATE", reason="x", actor=director, now=now)
        director_intervene(worker=fleet[1], action="REHIRE", reason="y", actor=director, now=now)

    with pytest.raises(DomainError, match=why) as refused:
        task_assign_chosen(task=task, model_id="w/1", reason="try", actor=director, now=now)

    assert refused.value.field == "model_id"
    task.refresh_from_db()
    assert task.current_worker is None


def test_task_interventions_are_the_directors_alone_and_need_a_reason(director, fleet, now):
    task = register("t-1", now, model_id="w/0")
    with pytest.raises(Forbidden):
        task_reassign_force(task=task, reason="x", actor=MANAGER_KEY, now=now)
    with pytest.raises(DomainError) as blank:
        task_reassign_force(task=task, reason="", actor=director, now=now)
    assert blank.value.field == "reason"


def test_assigning_a_task_a_worker_holds_is_refused_and_reassign_is_named(director, fleet, now):
    task = register("t-1", now, model_id="w/0")
    with pytest.raises(Conflict, match="reassign it instead"):
        task_assign_chosen(task=task, model_id="w/1", reason="x", actor=director, now=now)


def test_task_interventions_are_refused_while_halted(director, fleet, now):
    task = register("t-1", now, model_id="w/0")
    waiting = register("t-2", now)
    system_halt(reason="stop", actor=director, now=now)

    with pytest.raises(SystemHalted):
        task_reassign_force(task=task, reason="x", actor=director, now=now)
    with pytest.raises(SystemHalted):
        task_assign_chosen(task=waiting, model_id="w/1", reason="x", actor=director, now=now)
