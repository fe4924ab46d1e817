"""One report, start to finish: every branch of the incident flow through POST /api/audit/."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from governance.models import AuditRecord, DisciplinaryAction, Incident, Penalty, ScoreRecord
from governance.services.discipline import director_intervene
from workforce.models import Assignment, Event, Worker

pytestmark = pytest.mark.django_db

GPT = "openai/gpt-4o"
LLAMA = "meta-llama/Llama-3.1-8B"
MISTRAL = "mistralai/Mistral-7B"
TASK = "run-7/step/3"
LOGS = [f"step {i}" for i in range(8)]


@pytest.fixture
def crew(api):
    """Three coders, best first (SENIOR, MID, JUNIOR), and a task held by the SENIOR."""
    api.hire(GPT, tier="SENIOR")
    api.hire(LLAMA, tier="MID")
    api.hire(MISTRAL, tier="JUNIOR")
    api.register(TASK, model_id=GPT)
    return api


def attempts(task_id: str) -> list[tuple[str, str]]:
    return [
        (a.worker.model_id, a.outcome)
        for a in Assignment.objects.filter(task__task_id=task_id).select_related("worker").order_by("started_at", "id")
    ]


def kinds(events: list[dict]) -> list[str]:
    return [e["kind"] for e in events]


def at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# --- clean reports ------------------------------------------------------------------------------


def test_a_clean_report_marks_the_attempt_passed_and_opens_no_incident(crew, counts):
    cursor = crew.cursor()

    body = crew.report(TASK, logs=LOGS, hallucinated=False, duration_ms=1200, scope_drift=False)

    assert body["status"] == "clean"
    assert "incident_id" not in body
    assert attempts(TASK) == [(GPT, "PASSED")]
    task = crew.task(TASK)
    assert task["current_worker"] == GPT and task["status"] == "ASSIGNED"
    assert task["assignments"][0]["ended_at"] is None, "a passed attempt stays open until the task completes"
    assert Incident.objects.count() == Penalty.objects.count() == DisciplinaryAction.objects.count() == 0
    assert AuditRecord.objects.get().outcome == AuditRecord.Outcome.CLEAN
    assert crew.worker(GPT)["reputation"] == 60
    assert crew.events(cursor) == []


def test_a_duration_of_exactly_60000_ms_is_not_a_timeout(crew):
    body = crew.report(TASK, duration_ms=60000)

    assert body["status"] == "clean"
    assert crew.worker(GPT)["status"] == "ACTIVE"


def test_a_report_without_model_id_is_taken_as_the_current_workers(crew):
    crew.report(TASK, hallucinated=True)

    assert Incident.objects.get().worker.model_id == GPT


# --- each violation type ------------------------------------------------------------------------


def test_a_hallucination_strikes_the_worker_and_reassigns_the_task(crew):
    body = crew.report(TASK, logs=LOGS, hallucinated=True, duration_ms=10)

    assert body["status"] == "violation"
    assert body["report"] == {"task_id": TASK, "violations": [["hallucination", 3]], "evidence": LOGS[-5:]}
    assert body["actions"] == ["STRIKE"]
    assert body["reassigned_to"] == LLAMA
    incident = Incident.objects.get(pk=body["incident_id"])
    assert (incident.worker.model_id, incident.severity, incident.status) == (GPT, 3, "ACTIONED")
    assert incident.evidence == LOGS[-5:]
    strike = DisciplinaryAction.objects.get()
    assert (strike.action, strike.actor_kind, strike.incident_id) == ("STRIKE", "HR", incident.pk)
    assert strike.policy_version == incident.settings_version
    worker = crew.worker(GPT)
    assert (worker["status"], worker["tier"], worker["active_strikes"]) == ("ACTIVE", "SENIOR", 1)
    assert attempts(TASK) == [(GPT, "FAILED"), (LLAMA, "OPEN")]
    assert crew.task(TASK)["attempts"] == 2


def test_a_timeout_of_60001_ms_warns_cools_down_and_demotes_a_worker_above_junior(crew):
    before = timezone.now()

    body = crew.report(TASK, duration_ms=60001)

    assert body["report"]["violations"] == [["timeout", 2]]
    assert body["actions"] == ["WARNING"]
    assert body["reassigned_to"] == LLAMA
    worker = crew.worker(GPT)
    assert (worker["status"], worker["tier"], worker["budget"]) == ("COOLDOWN", "MID", 2000)
    assert before + timedelta(minutes=59) < at(worker["cooldown_until"]) <= timezone.now() + timedelta(hours=1)
    assert worker["active_warnings"] == 1
    recorded = sorted(DisciplinaryAction.objects.values_list("action", flat=True))
    assert recorded == ["DEMOTE", "WARNING"]


def test_a_timeout_on_a_junior_cools_it_down_without_a_demotion(crew):
    crew.register("junior-task", model_id=MISTRAL, priority=2)

    body = crew.report("junior-task", duration_ms=90_000)

    assert body["actions"] == ["WARNING"]
    worker = crew.worker(MISTRAL)
    assert (worker["status"], worker["tier"]) == ("COOLDOWN", "JUNIOR")
    assert list(DisciplinaryAction.objects.values_list("action", flat=True)) == ["WARNING"]


@pytest.mark.parametrize(
    ("flag", "violation"),
    [("scope_drift", ["scope_drift", 2]), ("format_violation", ["format_violation", 1])],
)
def test_scope_drift_and_format_violations_earn_a_warning(crew, flag, violation):
    body = crew.report(TASK, **{flag: True})

    assert body["report"]["violations"] == [violation]
    assert body["actions"] == ["WARNING"]
    assert body["severity"] == violation[1]
    assert crew.worker(GPT)["status"] == "COOLDOWN"
    assert body["reassigned_to"] == LLAMA


def test_several_violations_in_one_report_open_one_incident_with_the_worst_severity(crew):
    # Regression: on PostgreSQL this was a 500, the four types overflowing DisciplinaryAction.violation_type.
    body = crew.report(TASK, hallucinated=True, duration_ms=70_000, scope_drift=True, format_violation=True)

    assert body["report"]["violations"] == [
        ["hallucination", 3],
        ["timeout", 2],
        ["scope_drift", 2],
        ["format_violation", 1],
    ]
    assert body["actions"] == ["WARNING", "STRIKE"]
    assert Incident.objects.get().severity == 3
    assert sorted(Penalty.objects.values_list("reason", "points")) == [
        ("format_violation", -10),
        ("hallucination", -30),
        ("scope_drift", -15),
        ("timeout", -20),
    ]


# --- the HR ladder over the worker's record -----------------------------------------------------


def test_a_repeat_within_90_days_suspends_the_worker_and_hands_on_its_other_open_tasks(clock, crew):
    crew.register("t1", model_id=GPT)
    crew.report("t1", hallucinated=True)
    clock.advance(seconds=1)
    for task_id in ("t2", "t3"):  # given after the strike: the worker was told
        crew.register(task_id, model_id=GPT)
    clock.advance(seconds=1)

    body = crew.report("t2", hallucinated=True)

    assert body["actions"] == ["STRIKE", "SUSPEND"]
    assert body["report"]["violations"] == [["hallucination", 3], ["repeat_offense", 4]]
    assert body["severity"] == 4
    worker = crew.worker(GPT)
    assert worker["status"] == "SUSPENDED"
    assert timezone.now() + timedelta(hours=23) < at(worker["suspended_until"]) <= timezone.now() + timedelta(hours=24)
    for task_id in ("t2", "t3", TASK):
        task = crew.task(task_id)
        assert task["current_worker"] == LLAMA, task_id
    assert attempts("t3") == [(GPT, "RELEASED"), (LLAMA, "OPEN")]
    assert Worker.objects.get(model_id=GPT).assignments.filter(ended_at__isnull=True).count() == 0


def test_the_same_violation_after_the_90_day_window_is_no_repeat_offense(clock, crew):
    crew.report(TASK, hallucinated=True)
    clock.advance(days=91)
    crew.register("t2", model_id=GPT)
    clock.advance(seconds=1)

    body = crew.report("t2", hallucinated=True)

    assert body["actions"] == ["STRIKE"]
    worker = crew.worker(GPT)
    assert (worker["status"], worker["active_strikes"]) == ("ACTIVE", 2)


def test_a_third_active_strike_terminates_the_worker_and_hands_on_its_tasks(clock, crew, director):
    crew.register("t2", model_id=GPT)
    gpt = Worker.objects.get(model_id=GPT)
    for _ in range(2):
        clock.advance(seconds=1)
        director_intervene(worker=gpt, action="STRIKE", reason="sloppy review", actor=director, now=timezone.now())
    clock.advance(seconds=1)
    crew.register("after-the-strikes", model_id=GPT)
    clock.advance(seconds=1)

    body = crew.report("after-the-strikes", hallucinated=True)

    assert body["actions"] == ["STRIKE", "TERMINATE"]
    assert crew.worker(GPT)["status"] == "TERMINATED"
    assert body["reassigned_to"] == LLAMA
    for task_id in (TASK, "t2"):  # held since before the strikes, handed on all the same
        assert crew.task(task_id)["current_worker"] == LLAMA, task_id
        assert attempts(task_id)[-2:] == [(GPT, "RELEASED"), (LLAMA, "OPEN")], task_id


def test_three_hallucinations_over_time_terminate_the_worker(clock, crew):
    for task_id in ("t1", "t4"):
        crew.register(task_id, model_id=GPT, priority=2)
    assert crew.report("t1", hallucinated=True)["actions"] == ["STRIKE"]
    clock.advance(days=91)
    crew.register("t2", model_id=GPT, priority=2)
    clock.advance(seconds=1)
    assert crew.report("t2", hallucinated=True)["actions"] == ["STRIKE"]
    clock.advance(days=1)
    crew.register("t3", model_id=GPT, priority=2)
    clock.advance(seconds=1)

    body = crew.report("t3", hallucinated=True)

    assert body["actions"] == ["STRIKE", "SUSPEND", "TERMINATE"]
    assert crew.worker(GPT)["status"] == "TERMINATED"
    assert crew.task("t4")["current_worker"] == LLAMA


def test_a_strike_on_probation_terminates_the_worker(crew, director):
    gpt = Worker.objects.get(model_id=GPT)
    now = timezone.now()
    director_intervene(worker=gpt, action="TERMINATE", reason="let go", actor=director, now=now)
    director_intervene(worker=gpt, action="REHIRE", reason="second chance", actor=director, now=now)
    assert crew.worker(GPT)["status"] == "PROBATION"
    crew.register("easy", model_id=GPT, priority=2)

    body = crew.report("easy", hallucinated=True)

    assert body["actions"] == ["STRIKE", "TERMINATE"]
    assert crew.worker(GPT)["status"] == "TERMINATED"


# --- the repair -----------------------------------------------------------------------------------


def test_the_repair_goes_to_the_best_eligible_worker_and_never_back_to_one_that_failed(crew):
    first = crew.report(TASK, hallucinated=True)
    assert first["reassigned_to"] == LLAMA
    assert crew.worker(GPT)["status"] == "ACTIVE", "a single strike leaves the SENIOR the best-ranked coder"

    second = crew.report(TASK, hallucinated=True)

    assert second["reassigned_to"] == MISTRAL
    assert attempts(TASK) == [(GPT, "FAILED"), (LLAMA, "FAILED"), (MISTRAL, "OPEN")]


def test_with_nobody_eligible_the_task_waits_for_the_director(crew):
    cursor = crew.cursor()
    crew.report(TASK, hallucinated=True)
    crew.report(TASK, hallucinated=True)

    body = crew.report(TASK, hallucinated=True)

    assert body["reassigned_to"] is None
    assert body["task_status"] == "WAITING"
    task = crew.task(TASK)
    assert (task["status"], task["current_worker"], task["needs_director"]) == ("WAITING", None, True)
    waiting = [e for e in crew.events(cursor) if e["kind"] == "task.waiting"]
    assert len(waiting) == 1
    assert waiting[0]["task_id"] == TASK
    assert sorted(waiting[0]["payload"]["excluded"]) == sorted([GPT, LLAMA, MISTRAL])


def test_the_repair_skips_workers_in_cooldown_for_a_task_above_low_priority(crew):
    crew.register("other", model_id=LLAMA)
    crew.report("other", duration_ms=70_000)  # LLAMA: COOLDOWN
    assert crew.worker(LLAMA)["status"] == "COOLDOWN"

    body = crew.report(TASK, hallucinated=True)

    assert body["reassigned_to"] == MISTRAL


def test_a_late_report_from_an_earlier_holder_is_accepted_as_the_same_step_and_does_not_reassign_again(crew):
    crew.report(TASK, hallucinated=True)
    task_before = crew.task(TASK)

    late = crew.report(TASK, model_id=GPT, scope_drift=True)

    assert late["status"] == "violation"
    assert late["reassigned_to"] is None
    # The task was in flight when the strike was issued: recorded, but no new step on the ladder.
    assert (late["actions"], late["same_step"]) == ([], True)
    assert Incident.objects.get(pk=late["incident_id"]).status == Incident.Status.OPEN
    assert Penalty.objects.filter(incident_id=late["incident_id"]).exists()
    assert crew.worker(GPT)["status"] == "ACTIVE"
    task_after = crew.task(TASK)
    assert task_after["current_worker"] == LLAMA
    assert task_after["attempts"] == task_before["attempts"]
    assert task_after["assignments"] == task_before["assignments"]
    assert Incident.objects.filter(worker__model_id=GPT).count() == 2


def test_a_late_report_on_a_task_waiting_for_the_director_leaves_it_waiting(api):
    # Regression: the late report ran the repair again, writing a second task.waiting, or handing the task
    # to whoever had become eligible since.
    api.hire(GPT)
    api.register(TASK, model_id=GPT)
    api.report(TASK, hallucinated=True)
    assert api.task(TASK)["status"] == "WAITING"
    api.hire(LLAMA)
    cursor = api.cursor()

    late = api.report(TASK, model_id=GPT, scope_drift=True)

    assert late["reassigned_to"] is None
    task = api.task(TASK)
    assert (task["status"], task["current_worker"], task["needs_director"]) == ("WAITING", None, True)
    assert not [e for e in api.events(cursor) if e["kind"].startswith("task.")]


def test_a_late_report_from_a_suspended_worker_is_still_accepted(clock, crew):
    crew.register("t1", model_id=GPT)
    crew.report("t1", scope_drift=True)
    clock.advance(seconds=1)
    crew.register("t2", model_id=GPT, priority=2)  # low priority: the worker is in cooldown
    clock.advance(seconds=1)
    crew.report("t2", scope_drift=True)  # repeat: suspended
    assert crew.worker(GPT)["status"] == "SUSPENDED"

    late = crew.report(TASK, model_id=GPT, logs=["done"])

    assert late["status"] == "clean"
    assert crew.task(TASK)["current_worker"] != GPT


def test_a_violation_reported_after_the_task_completed_is_recorded_and_the_task_stays_completed(crew):
    crew.post(f"/api/tasks/{TASK}/complete/")

    body = crew.report(TASK, hallucinated=True)

    assert (body["status"], body["reassigned_to"]) == ("violation", None)
    task = crew.task(TASK)
    assert (task["status"], task["current_worker"], task["attempts"]) == ("COMPLETED", GPT, 1)
    assert crew.worker(GPT)["active_strikes"] == 1


def test_a_report_naming_a_worker_that_never_held_the_task_is_refused_naming_model_id(crew, counts):
    before = counts()

    body = crew.report(TASK, model_id=MISTRAL, hallucinated=True, expect=400)

    assert "model_id" in body
    assert counts() == before


def test_a_report_on_a_waiting_task_without_model_id_is_refused_naming_model_id(api, counts):
    api.register("orphan")  # nobody to assign it to
    before = counts()

    body = api.report("orphan", hallucinated=True, expect=400)

    assert "model_id" in body
    assert counts() == before


# --- provider faults ------------------------------------------------------------------------------


def test_a_provider_fault_opens_no_incident_and_earns_no_sanction(crew):
    body = crew.report(TASK, error_kind="provider", hallucinated=True, duration_ms=90_000)

    assert body["status"] == "clean"
    assert body["provider_fault"] is True
    assert Incident.objects.count() == Penalty.objects.count() == DisciplinaryAction.objects.count() == 0
    assert ScoreRecord.objects.count() == 0
    assert AuditRecord.objects.get().outcome == AuditRecord.Outcome.PROVIDER_FAULT
    assert attempts(TASK) == [(GPT, "PROVIDER_FAULT")]
    worker = crew.worker(GPT)
    assert (worker["status"], worker["reputation"], worker["unhealthy_until"]) == ("ACTIVE", 60, None)


def test_three_provider_faults_within_five_minutes_take_the_worker_out_of_routing(crew, clock):
    cursor = crew.cursor()
    for _ in range(2):
        crew.report(TASK, error_kind="provider")
        clock.advance(minutes=2)
    assert crew.worker(GPT)["unhealthy_until"] is None
    assert crew.routing()[0] == GPT

    body = crew.report(TASK, error_kind="provider")

    assert body["provider_faults_in_window"] == 3
    worker = crew.worker(GPT)
    assert at(worker["unhealthy_until"]) > clock.now
    assert worker["status"] == "ACTIVE"
    assert GPT not in crew.routing()
    assert DisciplinaryAction.objects.count() == 0
    assert "worker.health_changed" in kinds(crew.events(cursor))
    clock.advance(minutes=3)
    assert crew.routing()[0] == GPT, "the cooldown is short, and ends on its own"


def test_provider_faults_spread_over_more_than_five_minutes_leave_the_worker_healthy(crew, clock):
    for _ in range(3):
        crew.report(TASK, error_kind="provider")
        clock.advance(minutes=3)

    assert crew.worker(GPT)["unhealthy_until"] is None
    assert crew.routing()[0] == GPT


# --- the Accountant's part: penalty points move the reputation ---------------------------------


@pytest.mark.parametrize(
    ("flags", "attempt_score", "reputation"),
    [
        ({"hallucinated": True}, 30, 51),  # 60 - 30 = 30; int(0.7*60 + 0.3*30) = 51
        ({"duration_ms": 60001}, 40, 54),
        ({"scope_drift": True}, 45, 55),
        ({"format_violation": True}, 50, 57),
        ({"hallucinated": True, "duration_ms": 60001}, 10, 45),
    ],
)
def test_penalty_points_lower_the_reputation_and_are_recorded_as_a_score(crew, flags, attempt_score, reputation):
    body = crew.report(TASK, **flags)

    assert body["reputation"] == reputation
    assert crew.worker(GPT)["reputation"] == reputation
    score = ScoreRecord.objects.get()
    assert (score.previous_reputation, score.score, score.reputation) == (60, attempt_score, reputation)
    assert sum(Penalty.objects.values_list("points", flat=True)) == attempt_score - 60
    assert set(Penalty.objects.values_list("incident_id", flat=True)) == {Incident.objects.get().pk}


# --- the Manager's inbox --------------------------------------------------------------------------


def test_each_consequence_is_written_to_the_inbox_in_order(clock, crew):
    crew.register("t1", model_id=GPT)
    crew.report("t1", hallucinated=True)
    clock.advance(seconds=1)
    for task_id in ("t2", "t3"):  # given after the strike, so a repeat on t2 is a new step
        crew.register(task_id, model_id=GPT)
    clock.advance(seconds=1)
    cursor = crew.cursor()

    body = crew.report("t2", hallucinated=True)

    events = crew.events(cursor)
    assert kinds(events) == [
        "incident.opened",
        "task.reassigned",  # the repair of t2
        "score.recorded",  # the penalty's move, with the report
        "worker.status_changed",
        "action.applied",
        "action.applied",
        "task.reassigned",  # GPT's other open tasks, handed on right after the report committed
        "task.reassigned",
    ]
    assert events[0]["payload"]["incident_id"] == body["incident_id"]
    assert (events[1]["task_id"], events[1]["model_id"], events[1]["payload"]["previous"]) == ("t2", LLAMA, GPT)
    assert events[2]["payload"]["reputation"] == body["reputation"]
    assert (events[3]["payload"]["old"], events[3]["payload"]["new"]) == ("ACTIVE", "SUSPENDED")
    assert [e["payload"]["action"] for e in events[4:6]] == ["STRIKE", "SUSPEND"]
    assert sorted(e["task_id"] for e in events[6:8]) == sorted([TASK, "t3"])
    cursors = [e["cursor"] for e in events]
    assert cursors == sorted(cursors)


def test_the_inbox_pages_by_cursor_without_losing_or_repeating_an_event(crew):
    crew.report(TASK, hallucinated=True)
    crew.report(TASK, scope_drift=True)
    everything = crew.events(0)
    assert len(everything) > 6

    seen, after, pages = [], 0, 0
    while True:
        page = crew.get("/api/events/", {"after": after, "limit": 3})
        pages += 1
        seen += page["events"]
        assert len(page["events"]) <= 3
        after = page["next_cursor"]
        if not page["has_more"]:
            break
        assert len(page["events"]) == 3

    assert seen == everything
    assert pages == -(-len(everything) // 3)
    assert after == everything[-1]["cursor"]
    tail = crew.get("/api/events/", {"after": after})
    assert tail == {"events": [], "next_cursor": after, "has_more": False}


def test_the_inbox_survives_the_manager_being_away(crew):
    cursor = crew.cursor()
    crew.report(TASK, hallucinated=True)
    crew.report(TASK, hallucinated=True)

    events = crew.events(cursor)

    assert kinds(events).count("incident.opened") == 2
    assert Event.objects.filter(id__gt=cursor).count() == len(events)


# --- all or nothing -------------------------------------------------------------------------------


def test_a_failure_in_the_middle_of_the_flow_rolls_everything_back_with_a_5xx(crew, counts, monkeypatch):
    def accountant_down(*args, **kwargs):
        raise RuntimeError("the Accountant fell over")

    monkeypatch.setattr("governance.services.reports._reputation_penalise", accountant_down)
    before = counts()
    crew.client.raise_request_exception = False

    response = crew.client.post("/api/audit/", {"task_id": TASK, "hallucinated": True}, format="json")

    assert response.status_code == 500
    assert counts() == before
    assert crew.task(TASK)["current_worker"] == GPT
    assert attempts(TASK) == [(GPT, "OPEN")]
    assert crew.worker(GPT)["reputation"] == 60
