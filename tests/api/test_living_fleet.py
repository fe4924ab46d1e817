"""Regression tests for the defects the living fleet showed (issue 7), through the Manager's API."""

import pytest
from django.utils import timezone

from governance.models import AuditRecord, DisciplinaryAction, Incident, Penalty, ScoreRecord
from governance.services.discipline import director_intervene
from governance.services.overturn import action_overturn
from governance.services.timers import silent_workers_sweep
from workforce.domain.actor import SWEEPER
from workforce.models import Worker

GPT = "openai/gpt-4o"
SPARE = "meta/llama"


@pytest.fixture
def crew(api):
    api.hire(GPT)
    api.hire(SPARE)
    return api


def test_three_parallel_hallucinations_are_one_strike_not_a_termination(crew, clock):
    for task_id in ("p1", "p2", "p3"):
        crew.register(task_id, model_id=GPT)
    clock.advance(seconds=5)
    answers = [crew.report(task_id, model_id=GPT, hallucinated=True) for task_id in ("p1", "p2", "p3")]

    assert [a["actions"] for a in answers] == [["STRIKE"], [], []]
    assert [a["same_step"] for a in answers] == [False, True, True]
    assert Worker.objects.get(model_id=GPT).status == "ACTIVE"
    assert Incident.objects.count() == 3 and Penalty.objects.count() == 3  # recorded all the same


def test_an_offence_on_a_task_given_after_the_sanction_moves_up_the_ladder(crew, clock):
    crew.register("first", model_id=GPT)
    clock.advance(seconds=5)
    crew.report("first", model_id=GPT, hallucinated=True)
    clock.advance(seconds=5)
    crew.register("second", model_id=GPT)
    clock.advance(seconds=5)
    assert crew.report("second", model_id=GPT, hallucinated=True)["actions"] == ["STRIKE", "SUSPEND"]


def test_a_senior_silent_on_three_tasks_is_sanctioned_once_per_silence(crew, clock):
    crew.hire("acme/senior", tier="SENIOR")
    for task_id in ("s1", "s2", "s3"):
        crew.register(task_id, model_id="acme/senior")
    clock.advance(minutes=31)

    assert silent_workers_sweep(now=timezone.now(), actor=SWEEPER) == 3

    worker = Worker.objects.get(model_id="acme/senior")
    actions = list(DisciplinaryAction.objects.filter(worker=worker).values_list("action", flat=True))
    assert sorted(actions) == ["DEMOTE", "WARNING"]  # not demoted twice and suspended
    assert (worker.tier, worker.status) == ("MID", "COOLDOWN")
    assert Incident.objects.filter(worker=worker).count() == 3


def test_overturning_a_termination_leaves_the_suspension_issued_with_it_in_force(crew, clock, director):
    crew.register("first", model_id=GPT)
    clock.advance(seconds=5)
    crew.report("first", model_id=GPT, scope_drift=True)
    clock.advance(minutes=5)
    director_intervene(
        worker=Worker.objects.get(model_id=GPT),
        action="SUSPEND",
        reason="look into it",
        actor=director,
        now=timezone.now(),
    )
    clock.advance(minutes=5)
    terminate = director_intervene(
        worker=Worker.objects.get(model_id=GPT), action="TERMINATE", reason="enough", actor=director, now=timezone.now()
    )[0]
    clock.advance(minutes=5)

    action_overturn(action=terminate, reason="too harsh", actor=director, now=timezone.now())

    worker = Worker.objects.get(model_id=GPT)
    assert worker.status == "SUSPENDED" and worker.suspended_until > timezone.now()
    assert GPT not in crew.routing(priority=2)  # a batch routed nothing to it


def test_a_rehired_workers_probation_ends_after_five_clean_scores(crew, clock, director, make_metrics):
    worker = Worker.objects.get(model_id=GPT)
    director_intervene(worker=worker, action="TERMINATE", reason="test", actor=director, now=timezone.now())
    director_intervene(worker=worker, action="REHIRE", reason="second chance", actor=director, now=timezone.now())
    statuses = []
    for _ in range(6):
        clock.advance(hours=1)
        crew.score({"model_id": GPT, "metrics": make_metrics(70), "penalties": []})
        statuses.append(Worker.objects.get(model_id=GPT).status)

    assert statuses == ["PROBATION"] * 4 + ["ACTIVE"] * 2
    confirm = DisciplinaryAction.objects.get(worker__model_id=GPT, action="CONFIRM")
    assert confirm.actor_kind == "ACCOUNTANT" and "5 clean scored runs" in confirm.reason
    assert any(e["payload"]["action"] == "CONFIRM" for e in crew.events() if e["kind"] == "action.applied")


def test_a_violation_restarts_the_probations_count(crew, clock, director, make_metrics):
    worker = Worker.objects.get(model_id=GPT)
    director_intervene(worker=worker, action="TERMINATE", reason="test", actor=director, now=timezone.now())
    director_intervene(worker=worker, action="REHIRE", reason="second chance", actor=director, now=timezone.now())
    for _ in range(3):
        clock.advance(hours=1)
        crew.score({"model_id": GPT, "metrics": make_metrics(70), "penalties": []})
    clock.advance(minutes=1)
    crew.register("late", model_id=GPT, priority=2)
    clock.advance(seconds=5)
    crew.report("late", model_id=GPT, format_violation=True)
    for _ in range(3):
        clock.advance(hours=1)
        crew.score({"model_id": GPT, "metrics": make_metrics(70), "penalties": []})
    assert Worker.objects.get(model_id=GPT).status == "PROBATION"  # 3 clean, then 1 not, then 2 clean


def test_every_row_a_managers_report_writes_names_the_managers_key(crew, clock):
    crew.register("t1", model_id=GPT)
    clock.advance(seconds=5)
    crew.report("t1", model_id=GPT, hallucinated=True)
    label = "key:manager"

    record = AuditRecord.objects.get()
    incident = Incident.objects.get()
    assert record.actor_label == incident.actor_label == label
    assert set(Penalty.objects.values_list("actor_label", flat=True)) == {label}
    assert set(ScoreRecord.objects.values_list("actor_label", flat=True)) == {label}
    assert set(DisciplinaryAction.objects.values_list("actor_label", flat=True)) == {label}
    for model in (AuditRecord, Incident, Penalty, ScoreRecord, DisciplinaryAction, Worker):
        actors = set(model.history.values_list("history_actor", flat=True))
        assert actors and actors <= {label}, (model.__name__, actors)


def test_a_score_with_a_model_id_starts_from_the_stored_reputation(crew, make_metrics):
    answer = crew.score({"model_id": GPT, "metrics": make_metrics(60), "penalties": []})
    assert answer["reputation"] == 60  # 0.7 * 60 + 0.3 * 60, from the stored 60
    body = crew.score(
        {"model_id": GPT, "metrics": make_metrics(60), "penalties": [], "previous_score": 100}, expect=400
    )
    assert "previous_score" in body
    assert Worker.objects.get(model_id=GPT).reputation == 60
