"""16 threads reporting at once through the real API, on PostgreSQL's real row locks.

Every report here is valid (it names a worker that holds or held the task), so each one must be recorded:
no lost incident or penalty, no step counted twice, no double termination, no duplicate from a concurrent
replay, and never a 5xx. An offence on a task the worker already held at its last sanction is recorded but
is the same step (the "told first" rule), so the row lock decides which one report escalates.
"""

from collections import Counter

import pytest
from django.utils import timezone

from governance.models import AuditRecord, DisciplinaryAction, GovernanceSettings, Incident, ScoreRecord
from governance.services.discipline import director_intervene
from workforce.models import Assignment, Event, Task, Worker

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("governance_defaults"),
]

THREADS = 16
WORKERS = ["it/w0", "it/w1", "it/w2"]
HALLUCINATIONS_PER_WORKER = 5  # one escalates (the third strike: terminate); the others are the same step
SCOPE_DRIFTS_PER_WORKER = 1  # on a task held since before the Director's strikes: always the same step
CLEANS_PER_WORKER = 2


def _action_counts(model_id: str) -> Counter:
    return Counter(DisciplinaryAction.objects.filter(worker__model_id=model_id).values_list("action", flat=True))


def _assert_reputation_chain_unbroken(worker: Worker) -> None:
    """Each move of the reputation starts where the last one ended: no update was lost to a race."""
    chain = list(ScoreRecord.objects.filter(worker=worker).order_by("id").values("previous_reputation", "reputation"))
    for earlier, later in zip(chain, chain[1:], strict=False):
        assert later["previous_reputation"] == earlier["reputation"], chain
    assert worker.reputation == chain[-1]["reputation"]


def _assert_tasks_consistent() -> None:
    """At most one open attempt per task, it matches the task's current worker, and no task is left with a
    worker out of service."""
    for task in Task.objects.select_related("current_worker"):
        open_attempts = list(Assignment.objects.filter(task=task, ended_at__isnull=True))
        if task.current_worker is None:
            assert open_attempts == [], task.task_id
            assert task.status == Task.Status.WAITING and task.needs_director, task.task_id
        else:
            assert [a.worker_id for a in open_attempts] == [task.current_worker_id], task.task_id
            assert task.current_worker.status not in (Worker.Status.TERMINATED, Worker.Status.SUSPENDED), (
                f"{task.task_id} left with {task.current_worker.model_id} ({task.current_worker.status})"
            )


def test_sixteen_threads_on_three_workers_record_every_incident_and_terminate_each_worker_once(
    staff, manager_key, director, manager_client_factory, concurrently
):
    # Three workers sanctioned at once is no spike here: the guard has tests of its own.
    GovernanceSettings.objects.create(spike_min_workers=len(WORKERS) + 1, note="no spike guard in this test")
    kinds = ["hallucinated"] * HALLUCINATIONS_PER_WORKER + ["scope_drift"] * SCOPE_DRIFTS_PER_WORKER
    kinds += ["clean"] * CLEANS_PER_WORKER
    held_before = [j for j, kind in enumerate(kinds) if kind == "scope_drift"]
    staff({model_id: [f"{model_id}/t{j}" for j in held_before] for model_id in WORKERS})
    for model_id in WORKERS:  # two strikes each: the next offence that counts is the third, and terminates
        worker = Worker.objects.get(model_id=model_id)
        for _ in range(2):
            director_intervene(
                worker=worker, action="STRIKE", reason="earlier work", actor=director, now=timezone.now()
            )
    for model_id in WORKERS:  # the other tasks are given after the strikes: each offence on them could escalate
        for j in range(len(kinds)):
            if j not in held_before:
                body = {"task_id": f"{model_id}/t{j}", "capability": "code", "priority": 1, "model_id": model_id}
                assert manager_key.post("/api/tasks/", body, format="json").status_code == 201
    reports = []
    for model_id in WORKERS:
        for j, kind in enumerate(kinds):
            body = {
                "task_id": f"{model_id}/t{j}",
                "model_id": model_id,  # the worker that held the task, though it may have moved on since
                "logs": [f"{model_id} step {n}" for n in range(7)],
                "duration_ms": 120,
                "report_id": f"{model_id}/t{j}/attempt-1",
            }
            if kind != "clean":
                body[kind] = True
            reports.append((kind, body))
    # Interleave the workers so the threads contend on all three rows at once.
    reports.sort(key=lambda item: (item[1]["task_id"].rsplit("/t", 1)[1], item[1]["model_id"]))
    shares = [reports[i::THREADS] for i in range(THREADS)]

    def report(index: int) -> list[tuple[str, int, dict]]:
        client = manager_client_factory()
        answers = []
        for kind, body in shares[index]:
            response = client.post("/api/audit/", body, format="json")
            answers.append((kind, response.status_code, response.json() if response.status_code < 500 else {}))
        return answers

    answers = [answer for share in concurrently(THREADS, report) for answer in share]

    assert len(answers) == len(reports) == 24
    assert Counter(status for _, status, _ in answers) == {200: 24}, answers
    assert all(body["status"] == ("clean" if kind == "clean" else "violation") for kind, _, body in answers)
    violations = len(WORKERS) * (HALLUCINATIONS_PER_WORKER + SCOPE_DRIFTS_PER_WORKER)
    assert AuditRecord.objects.count() == 24
    assert Incident.objects.count() == violations
    assert Event.objects.filter(kind="incident.opened").count() == violations
    # Exactly one report per worker escalated; every other violation was the same step.
    escalated = [body for kind, _, body in answers if kind != "clean" and body["actions"]]
    assert sorted(body["actions"] for body in escalated) == [["STRIKE", "TERMINATE"]] * len(WORKERS), answers
    assert sum(1 for kind, _, body in answers if kind != "clean" and body["same_step"]) == violations - len(WORKERS)
    for model_id in WORKERS:
        worker = Worker.objects.get(model_id=model_id)
        actions = _action_counts(model_id)
        assert Incident.objects.filter(worker=worker).count() == HALLUCINATIONS_PER_WORKER + SCOPE_DRIFTS_PER_WORKER
        assert actions == {"STRIKE": 3, "TERMINATE": 1}, (model_id, actions)
        hr = DisciplinaryAction.objects.filter(worker=worker, actor_kind=DisciplinaryAction.Actor.HR)
        assert sorted(hr.values_list("action", flat=True)) == ["STRIKE", "TERMINATE"]
        assert hr.values("incident_id").distinct().count() == 1, "both on the one report that escalated"
        assert worker.status == Worker.Status.TERMINATED
        terminated = Event.objects.filter(kind="worker.status_changed", model_id=model_id, payload__new="TERMINATED")
        assert terminated.count() == 1
        # Every violation's penalty moved the reputation, each from where the last move left it.
        assert ScoreRecord.objects.filter(worker=worker, kind=ScoreRecord.Kind.PENALTY).count() == (
            HALLUCINATIONS_PER_WORKER + SCOPE_DRIFTS_PER_WORKER
        )
        _assert_reputation_chain_unbroken(worker)
    _assert_tasks_consistent()


def test_sixteen_concurrent_duplicates_of_one_report_count_once_and_answer_alike(
    staff, manager_client_factory, concurrently
):
    staff({"it/dup-worker": ["it/dup-task"], "it/backup": ["it/backup-task"]})
    body = {
        "task_id": "it/dup-task",
        "logs": ["plan", "call tool", "invent a citation"],
        "hallucinated": True,
        "duration_ms": 900,
        "report_id": "it/dup-report",
    }

    def report(index: int):
        response = manager_client_factory().post("/api/audit/", body, format="json")
        return response.status_code, response.json() if response.status_code < 500 else response.content

    answers = concurrently(THREADS, report)

    assert [status for status, _ in answers] == [200] * THREADS, answers
    first = answers[0][1]
    assert all(answer == first for _, answer in answers)
    assert first["status"] == "violation" and first["actions"] == ["STRIKE"]
    assert first["reassigned_to"] == "it/backup"
    assert AuditRecord.objects.filter(report_id="it/dup-report").count() == 1
    assert AuditRecord.objects.count() == 1
    assert Incident.objects.count() == 1
    assert str(Incident.objects.get().pk) == first["incident_id"]
    assert _action_counts("it/dup-worker") == {"STRIKE": 1}
    assert ScoreRecord.objects.count() == 1
    assert Event.objects.filter(kind="task.reassigned", task_id="it/dup-task").count() == 1


def test_sixteen_distinct_reports_with_the_same_body_on_one_worker_are_all_recorded_as_one_step(
    staff, manager_client_factory, concurrently
):
    staff({"it/busy": ["it/busy-task"], "it/backup": ["it/backup-task"]})
    body = {"task_id": "it/busy-task", "model_id": "it/busy", "logs": ["same", "words"], "hallucinated": True}

    def report(index: int):
        client = manager_client_factory()
        # Half name the report in the body, half in the Idempotency-Key header: both are report ids.
        if index % 2:
            response = client.post("/api/audit/", {**body, "report_id": f"busy-{index}"}, format="json")
        else:
            response = client.post("/api/audit/", body, format="json", HTTP_IDEMPOTENCY_KEY=f"busy-{index}")
        return response.status_code, response.json() if response.status_code < 500 else response.content

    answers = concurrently(THREADS, report)

    assert [status for status, _ in answers] == [200] * THREADS, answers
    assert all(answer["status"] == "violation" for _, answer in answers)
    assert len({answer["incident_id"] for _, answer in answers}) == THREADS
    assert AuditRecord.objects.count() == THREADS
    assert Incident.objects.filter(worker__model_id="it/busy").count() == THREADS
    # One task, held before any sanction: the first report processed strikes, the other 15 are the same step.
    assert sorted(answer["actions"] for _, answer in answers) == [[]] * (THREADS - 1) + [["STRIKE"]]
    assert sum(1 for _, answer in answers if answer["same_step"]) == THREADS - 1
    assert _action_counts("it/busy") == {"STRIKE": 1}
    worker = Worker.objects.get(model_id="it/busy")
    assert worker.status == Worker.Status.ACTIVE
    # Every report's penalty was counted, each from where the last move left the reputation.
    assert ScoreRecord.objects.filter(worker=worker, kind=ScoreRecord.Kind.PENALTY).count() == THREADS
    _assert_reputation_chain_unbroken(worker)
    # Exactly one report found the task still on the busy worker and repaired it onto the backup.
    assert Task.objects.get(task_id="it/busy-task").current_worker.model_id == "it/backup"
    assert sum(1 for _, answer in answers if answer["reassigned_to"] == "it/backup") == 1
    _assert_tasks_consistent()
