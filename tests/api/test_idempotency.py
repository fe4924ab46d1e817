"""A report carries an id; a repeat replays the stored answer and changes nothing; a reused id is a 422."""

import pytest
from django.utils import timezone

from governance.models import AuditRecord, AuditRunItem, ScoreRecord
from governance.services.audit_runs import audit_run_process, audit_run_submit
from workforce.domain.actor import MANAGER, service_key

TEST_MANAGER = service_key("test-manager", MANAGER)  # the Manager's key, for service calls

pytestmark = pytest.mark.django_db

GPT = "openai/gpt-4o"
LLAMA = "meta-llama/Llama-3.1-8B"
TASK = "run-7/step/3"


@pytest.fixture
def pair(api):
    api.hire(GPT, tier="SENIOR")
    api.hire(LLAMA, tier="MID")
    api.register(TASK, model_id=GPT)
    api.register("t2", model_id=GPT)
    return api


def violation(**extra) -> dict:
    return {"task_id": TASK, "logs": ["a", "b"], "hallucinated": True, "duration_ms": 10, "scope_drift": False} | extra


def post(client, body, **headers):
    return client.post("/api/audit/", body, format="json", **headers)


def state(api) -> tuple:
    return api.worker(GPT), api.worker(LLAMA), api.task(TASK), api.task("t2")


@pytest.mark.parametrize(
    ("first_headers", "first_extra", "again_headers", "again_extra"),
    [
        ({}, {"report_id": "r-1"}, {}, {"report_id": "r-1"}),
        ({"HTTP_IDEMPOTENCY_KEY": "r-1"}, {}, {"HTTP_IDEMPOTENCY_KEY": "r-1"}, {}),
        ({}, {"report_id": "r-1"}, {"HTTP_IDEMPOTENCY_KEY": "r-1"}, {}),
        ({"HTTP_IDEMPOTENCY_KEY": "r-1"}, {}, {"HTTP_IDEMPOTENCY_KEY": "r-1"}, {"report_id": "r-1"}),
    ],
    ids=["body-then-body", "header-then-header", "body-then-header", "header-then-both"],
)
def test_a_repeated_report_replays_the_stored_answer_and_changes_nothing(
    pair, counts, first_headers, first_extra, again_headers, again_extra
):
    first = post(pair.client, violation(**first_extra), **first_headers)
    assert first.status_code == 200, first.content
    before, world = counts(), state(pair)

    again = post(pair.client, violation(**again_extra), **again_headers)

    assert again.status_code == 200, again.content
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert counts() == before
    assert state(pair) == world


def test_a_first_report_is_not_marked_as_replayed(pair):
    response = post(pair.client, violation(report_id="r-1"))

    assert not response.has_header("Idempotent-Replayed")


def test_a_replayed_clean_report_is_identical_too(pair, counts):
    clean = violation(hallucinated=False, report_id="clean-1")
    first = pair.post("/api/audit/", clean)
    before = counts()

    again = pair.post("/api/audit/", clean)

    assert again == first
    assert counts() == before


def test_a_replay_answers_as_the_first_time_even_after_the_world_moved_on(pair):
    first = pair.post("/api/audit/", violation(report_id="r-1"))
    pair.post("/api/audit/", violation(report_id="r-2"))  # the task has moved on again
    pair.post(f"/api/tasks/{TASK}/complete/")

    again = pair.post("/api/audit/", violation(report_id="r-1"))

    assert again == first
    assert again["reassigned_to"] == LLAMA


@pytest.mark.parametrize(
    "changed",
    [{"hallucinated": False}, {"logs": ["a", "b", "c"]}, {"duration_ms": 11}, {"model_id": GPT}],
    ids=["flag", "logs", "duration", "model_id-added"],
)
def test_the_same_report_id_with_a_different_body_is_a_422_and_writes_nothing(pair, counts, changed):
    pair.post("/api/audit/", violation(report_id="r-1"))
    before, world = counts(), state(pair)

    response = post(pair.client, violation(report_id="r-1", **changed))

    assert response.status_code == 422, response.content
    assert "report_id" in response.json()
    assert counts() == before
    assert state(pair) == world


def test_the_same_idempotency_key_with_a_different_body_is_a_422(pair, counts):
    pair.post("/api/audit/", violation(), HTTP_IDEMPOTENCY_KEY="k-1")
    before = counts()

    response = post(pair.client, violation(scope_drift=True), HTTP_IDEMPOTENCY_KEY="k-1")

    assert response.status_code == 422
    assert counts() == before


def test_a_header_and_a_body_id_that_disagree_are_refused_naming_report_id(pair, counts):
    before = counts()

    response = post(pair.client, violation(report_id="r-1"), HTTP_IDEMPOTENCY_KEY="r-2")

    assert response.status_code == 400
    assert "report_id" in response.json()
    assert counts() == before


def test_a_report_id_of_the_full_200_characters_is_processed_and_replayed(pair, counts):
    # Regression: on PostgreSQL this was a 500, "report:<id>" overflowing the penalty score's run_key.
    long_id = "r" * 200
    first = pair.post("/api/audit/", violation(report_id=long_id))
    before = counts()

    again = pair.post("/api/audit/", violation(), HTTP_IDEMPOTENCY_KEY=long_id)

    assert first["report_id"] == long_id
    assert again == first
    assert counts() == before


def test_reports_without_an_id_are_each_processed(pair):
    pair.post("/api/audit/", violation(task_id="t2", hallucinated=False))
    pair.post("/api/audit/", violation(task_id="t2", hallucinated=False))

    assert AuditRecord.objects.count() == 2
    assert all(r.startswith("auto-") for r in AuditRecord.objects.values_list("report_id", flat=True))


def test_a_batch_report_with_an_id_already_reported_replays_instead_of_counting_twice(pair, counts):
    direct = pair.post("/api/audit/", violation(report_id="r-1"))
    before = counts()
    run, _ = audit_run_submit(reports=[violation(report_id="r-1")], actor=TEST_MANAGER, now=timezone.now())

    audit_run_process(run_id=run.id)

    item = AuditRunItem.objects.get(run=run)
    assert (item.status, item.result) == ("DONE", direct)
    assert counts() == before | {"audit_runs": before["audit_runs"] + 1}


# --- /api/score/ ----------------------------------------------------------------------------------


def test_a_score_with_an_idempotency_key_replays_and_changes_nothing(pair, counts, make_metrics):
    payload = {"model_id": GPT, "metrics": make_metrics(90), "penalties": ["timeout"]}
    first = pair.score(payload, HTTP_IDEMPOTENCY_KEY="score-1")
    before, world = counts(), state(pair)

    again = pair.score(payload, HTTP_IDEMPOTENCY_KEY="score-1")

    assert {k: again[k] for k in first} == first
    assert again["replayed"] is True
    assert counts() == before
    assert state(pair) == world
    assert ScoreRecord.objects.count() == 1


def test_a_score_key_reused_with_different_metrics_is_a_422(pair, counts, make_metrics):
    pair.score({"model_id": GPT, "metrics": make_metrics(90), "penalties": []}, HTTP_IDEMPOTENCY_KEY="score-1")
    before = counts()

    response = pair.client.post(
        "/api/score/",
        {"model_id": GPT, "metrics": make_metrics(10), "penalties": []},
        format="json",
        HTTP_IDEMPOTENCY_KEY="score-1",
    )

    assert response.status_code == 422
    assert counts() == before


def test_a_score_key_reused_with_a_different_previous_score_is_a_422(pair, counts, make_metrics):
    # Regression: the replay compared only metrics and penalties, and answered with the first score.
    # (With a model_id only the stored reputation, 60, is accepted as previous_score on a new request.)
    pair.score({"model_id": GPT, "metrics": make_metrics(50), "previous_score": 60}, HTTP_IDEMPOTENCY_KEY="k")
    before = counts()

    response = pair.client.post(
        "/api/score/",
        {"model_id": GPT, "metrics": make_metrics(50), "previous_score": 10},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k",
    )

    assert response.status_code == 422
    assert "Idempotency-Key" in response.json()
    assert counts() == before


def test_a_score_key_reused_for_another_worker_is_a_422(pair, counts, make_metrics):
    # Regression: the key was unique per worker only, so it scored the second worker as a new request.
    pair.score({"model_id": GPT, "metrics": make_metrics(50)}, HTTP_IDEMPOTENCY_KEY="k")
    before = counts()

    response = pair.client.post(
        "/api/score/", {"model_id": LLAMA, "metrics": make_metrics(50)}, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )

    assert response.status_code == 422
    assert counts() == before


def test_scores_without_a_key_are_each_recorded(pair, make_metrics):
    payload = {"model_id": GPT, "metrics": make_metrics(90), "penalties": []}
    pair.score(payload)
    pair.score(payload)

    assert ScoreRecord.objects.count() == 2
