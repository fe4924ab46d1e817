"""The seeds' three services, spoken to with exactly their payloads: a Manager written against them works
after changing only its base URL and adding its key."""

import uuid

import pytest

from governance.models import DisciplinaryAction, ScoreRecord
from workforce.models import Event, Worker

pytestmark = pytest.mark.django_db

GPT = "openai/gpt-4o"
LLAMA = "meta-llama/Llama-3.1-8B"
TASK = "run-7/step/3"


@pytest.fixture
def pair(api):
    """A SENIOR holding the task and a MID to take it over."""
    api.hire(GPT, tier="SENIOR")
    api.hire(LLAMA, tier="MID")
    api.register(TASK, model_id=GPT)
    return api


def seed_report(**flags) -> dict:
    """The seed Auditor's payload, and nothing else."""
    return {
        "task_id": TASK,
        "logs": [{"t": i, "msg": f"line {i}"} for i in range(7)],
        "hallucinated": False,
        "duration_ms": 1500,
        "scope_drift": False,
    } | flags


# --- /api/audit/ ----------------------------------------------------------------------------------


def test_the_seed_audit_payload_answers_clean(pair):
    body = pair.post("/api/audit/", seed_report())

    assert body["status"] == "clean"


def test_the_seed_audit_payload_answers_a_violation_with_its_report(pair):
    payload = seed_report(hallucinated=True, duration_ms=61_000, scope_drift=True)

    body = pair.post("/api/audit/", payload)

    assert body["status"] == "violation"
    assert body["report"] == {
        "task_id": TASK,
        "violations": [["hallucination", 3], ["timeout", 2], ["scope_drift", 2]],
        "evidence": payload["logs"][-5:],
    }
    assert uuid.UUID(body["incident_id"])
    assert body["actions"] == ["WARNING", "STRIKE"]
    assert body["reassigned_to"] == LLAMA
    incident = pair.get(f"/api/incidents/{body['incident_id']}/")
    assert (incident["model_id"], incident["task_id"], incident["evidence"]) == (GPT, TASK, payload["logs"][-5:])


def test_evidence_is_every_log_entry_when_there_are_fewer_than_five(pair):
    body = pair.post("/api/audit/", seed_report(hallucinated=True, logs=["only", "two"]))

    assert body["report"]["evidence"] == ["only", "two"]


# --- /api/enforce/ --------------------------------------------------------------------------------


def test_enforce_answers_the_seed_shape_and_applies_the_actions(pair):
    body = pair.post("/api/enforce/", {"model_id": GPT, "violations": [["hallucination", 3]]})

    assert body["actions"] == ["STRIKE"]
    assert body["status"] == "executed"
    strike = DisciplinaryAction.objects.get()
    assert (strike.worker.model_id, strike.action, strike.actor_kind) == (GPT, "STRIKE", "HR")
    assert pair.worker(GPT)["active_strikes"] == 1


def test_enforce_applies_a_warnings_cooldown_and_demotion(pair):
    body = pair.post("/api/enforce/", {"model_id": GPT, "violations": [["timeout", 2]]})

    assert body["actions"] == ["WARNING"]
    worker = pair.worker(GPT)
    assert (worker["status"], worker["tier"]) == ("COOLDOWN", "MID")


def test_enforce_with_a_history_of_three_scope_drifts_terminates_and_suspends(pair):
    body = pair.post(
        "/api/enforce/",
        {"model_id": GPT, "violations": [["scope_drift", 2]], "history": ["scope_drift"] * 3},
    )

    assert {"TERMINATE", "SUSPEND"} <= set(body["actions"])
    assert body["status"] == "executed"
    assert pair.worker(GPT)["status"] == "TERMINATED"
    assert pair.task(TASK)["current_worker"] == LLAMA, "a terminated worker's tasks are handed on"


def test_enforce_with_a_history_of_two_scope_drifts_suspends_without_terminating(pair):
    body = pair.enforce(GPT, [["scope_drift", 2]], history=["scope_drift", "scope_drift"])

    assert body["actions"] == ["WARNING", "SUSPEND"]
    assert pair.worker(GPT)["status"] == "SUSPENDED"


def test_enforce_without_history_reads_the_stored_record(pair):
    pair.post("/api/audit/", seed_report(scope_drift=True))  # one scope_drift on record

    body = pair.enforce(GPT, [["scope_drift", 2]])

    assert body["actions"] == ["WARNING", "SUSPEND"]


def test_an_empty_history_stands_for_a_clean_record_whatever_is_stored(pair):
    pair.post("/api/audit/", seed_report(scope_drift=True))

    body = pair.enforce(GPT, [["scope_drift", 2]], history=[])

    assert body["actions"] == ["WARNING"]


def test_enforcing_the_same_violation_twice_is_a_repeat_offense(pair):
    # Regression: /enforce opens no incident, so without history its own earlier violations went unseen.
    assert pair.enforce(GPT, [["scope_drift", 2]])["actions"] == ["WARNING"]

    body = pair.enforce(GPT, [["scope_drift", 2]])

    assert body["actions"] == ["WARNING", "SUSPEND"]
    assert pair.worker(GPT)["status"] == "SUSPENDED"


def test_a_different_violation_after_an_enforced_one_is_no_repeat(pair):
    pair.enforce(GPT, [["scope_drift", 2]])

    assert pair.enforce(GPT, [["format_violation", 1]])["actions"] == ["WARNING"]


def test_enforce_records_each_violation_type_once_however_often_it_is_named(pair):
    # Regression: on PostgreSQL this was a 500, the repeated types overflowing the action's violation_type.
    body = pair.enforce(GPT, [["timeout", 2]] * 10 + [["scope_drift", 2]] * 10)

    assert body["actions"] == ["WARNING"]
    assert set(DisciplinaryAction.objects.values_list("violation_type", flat=True)) == {"timeout,scope_drift"}


def test_enforce_with_no_violations_does_nothing(pair, counts):
    before = counts()

    body = pair.enforce(GPT, [])

    assert body["actions"] == [] and body["status"] == "executed"
    assert counts() == before


# --- /api/score/ ----------------------------------------------------------------------------------


def test_score_without_a_worker_only_calculates(api, counts, make_metrics):
    before = counts()

    body = api.post("/api/score/", {"metrics": make_metrics(40), "penalties": [], "previous_score": 40})

    assert (body["score"], body["reputation"], body["action"]) == (40, 40, "WARNING")
    assert counts() == before


def test_score_weighs_the_metrics_and_subtracts_the_penalties(api):
    payload = {
        "metrics": {
            "confidence": 90,
            "consistency": 80,
            "accuracy": 85,
            "productivity": 70,
            "initiative": 60,
            "discipline": 95,
        },
        "penalties": ["timeout"],
        "previous_score": 70,
    }

    body = api.post("/api/score/", payload)

    # 22.5 + 16 + 17 + 10.5 + 6 + 9.5 = 81.5, - 20 = 61.5 -> 61; int(0.7*70 + 0.3*61) = 67
    assert (body["score"], body["reputation"], body["action"]) == (61, 67, "NONE")


@pytest.mark.parametrize(
    ("value", "previous", "action"),
    [(100, 80, "PROMOTE"), (50, 50, "NONE"), (40, 50, "WARNING"), (0, 30, "TERMINATE")],
)
def test_score_names_the_action_from_the_reputation(api, make_metrics, value, previous, action):
    body = api.post("/api/score/", {"metrics": make_metrics(value), "penalties": [], "previous_score": previous})

    assert body["action"] == action


def test_score_with_a_worker_records_it_from_the_stored_reputation(pair, make_metrics):
    cursor = pair.cursor()

    body = pair.score({"model_id": GPT, "metrics": make_metrics(100), "penalties": []})

    assert (body["score"], body["reputation"], body["action"]) == (100, 72, "NONE")  # 0.7*60 + 0.3*100
    record = ScoreRecord.objects.get()
    assert (record.worker.model_id, record.previous_reputation, record.reputation) == (GPT, 60, 72)
    worker = pair.worker(GPT)
    assert worker["reputation"] == 72
    assert worker["confidence"] == {"scored_runs": 1, "provisional": True}
    assert [e["kind"] for e in pair.events(cursor)] == ["score.recorded"]


def test_score_with_a_worker_refuses_a_previous_score_other_than_the_stored_reputation(pair, make_metrics, counts):
    # Regression: the Manager's previous_score overrode the stored reputation (60 -> 78 in one call).
    before = counts()

    body = pair.score({"model_id": GPT, "metrics": make_metrics(50), "penalties": [], "previous_score": 90}, expect=400)

    assert "previous_score" in body
    assert counts() == before
    assert pair.worker(GPT)["reputation"] == 60


def test_score_with_a_worker_accepts_a_previous_score_equal_to_the_stored_reputation(pair, make_metrics):
    body = pair.score({"model_id": GPT, "metrics": make_metrics(50), "penalties": [], "previous_score": 60})

    assert body["reputation"] == 57  # 0.7*60 + 0.3*50
    assert pair.worker(GPT)["reputation"] == 57


def test_promotion_waits_for_five_scored_runs_since_hiring(pair, make_metrics):
    # Hiring is not a scored run: 60 -> 72 -> 80 -> 86 -> 90 -> 93, and the fifth score is the fifth run.
    # The sixth is the first run in the new tier, so it does not promote again.
    payload = {"model_id": LLAMA, "metrics": make_metrics(100), "penalties": []}
    outcomes = [pair.score(payload) for _ in range(6)]

    assert [o["reputation"] for o in outcomes] == [72, 80, 86, 90, 93, 95]
    assert [o["action"] for o in outcomes] == ["NONE", "PROMOTE", "PROMOTE", "PROMOTE", "PROMOTE", "PROMOTE"]
    assert [o["applied_action"] for o in outcomes] == ["NONE", "NONE", "NONE", "NONE", "PROMOTE", "NONE"]
    worker = pair.worker(LLAMA)
    assert (worker["tier"], worker["priority"], worker["budget"]) == ("SENIOR", 1, 4000)
    assert DisciplinaryAction.objects.filter(action="PROMOTE").count() == 1


def test_a_worker_in_cooldown_is_not_promoted(pair, make_metrics):
    pair.enforce(LLAMA, [["format_violation", 1]])  # MID -> JUNIOR, in cooldown
    Worker.objects.filter(model_id=LLAMA).update(reputation=95)
    payload = {"model_id": LLAMA, "metrics": make_metrics(100), "penalties": []}

    outcomes = [pair.score(payload) for _ in range(5)]

    assert {o["action"] for o in outcomes} == {"PROMOTE"}
    assert {o["applied_action"] for o in outcomes} == {"NONE"}
    assert pair.worker(LLAMA)["tier"] == "JUNIOR"


def past_its_provisional_runs(model_id: str, reputation: int) -> None:
    """A worker with four scored runs behind it (its next score is its fifth) and a stored reputation."""
    Worker.objects.filter(model_id=model_id).update(reputation=reputation, scored_runs=4, runs_since_tier_change=4)


def test_a_score_that_sinks_the_reputation_terminates_the_worker_and_hands_on_its_tasks(pair, make_metrics):
    past_its_provisional_runs(GPT, reputation=20)
    cursor = pair.cursor()

    body = pair.score({"model_id": GPT, "metrics": make_metrics(0), "penalties": []})

    assert (body["reputation"], body["action"], body["applied_action"]) == (14, "TERMINATE", "TERMINATE")
    assert pair.worker(GPT)["status"] == "TERMINATED"
    assert pair.task(TASK)["current_worker"] == LLAMA
    kinds = [e["kind"] for e in pair.events(cursor)]
    # The score and its action commit together; the worker's tasks are handed on right after.
    assert kinds[-2:] == ["score.recorded", "task.reassigned"]
    assert {"action.applied", "worker.status_changed"} <= set(kinds)


def test_scoring_a_terminated_worker_records_the_score_but_terminates_nobody_again(pair, make_metrics):
    # Regression: each low score of a terminated worker wrote another TERMINATE on its record.
    past_its_provisional_runs(GPT, reputation=20)
    payload = {"model_id": GPT, "metrics": make_metrics(0), "penalties": []}
    pair.score(payload)
    cursor = pair.cursor()

    body = pair.score(payload)

    assert (body["action"], body["applied_action"]) == ("TERMINATE", "NONE")
    assert DisciplinaryAction.objects.filter(action="TERMINATE").count() == 1
    assert ScoreRecord.objects.count() == 2
    assert [e["kind"] for e in pair.events(cursor)] == ["score.recorded"]


def test_a_provisional_worker_whose_score_sinks_its_reputation_is_warned_not_terminated(pair, make_metrics):
    Worker.objects.filter(model_id=GPT).update(reputation=20)  # no scored run yet: a provisional reputation

    body = pair.score({"model_id": GPT, "metrics": make_metrics(0), "penalties": []})

    assert (body["reputation"], body["action"], body["applied_action"]) == (14, "TERMINATE", "WARNING")
    worker = pair.worker(GPT)
    assert (worker["status"], worker["tier"]) == ("COOLDOWN", "MID")
    assert not DisciplinaryAction.objects.filter(action="TERMINATE").exists()
    assert pair.task(TASK)["current_worker"] == GPT


def test_a_score_below_fifty_warns_and_cools_the_worker_down(pair, make_metrics):
    body = pair.score({"model_id": GPT, "metrics": make_metrics(10), "penalties": []})

    assert (body["reputation"], body["action"]) == (45, "WARNING")  # 0.7*60 + 0.3*10
    worker = pair.worker(GPT)
    assert (worker["status"], worker["tier"]) == ("COOLDOWN", "MID")
    assert sorted(DisciplinaryAction.objects.values_list("action", "actor_kind")) == [
        ("DEMOTE", "ACCOUNTANT"),
        ("WARNING", "ACCOUNTANT"),
    ]


def test_score_without_a_worker_writes_no_event(api, make_metrics):
    api.post("/api/score/", {"metrics": make_metrics(90), "penalties": ["hallucination"], "previous_score": 60})

    assert Event.objects.count() == 0
