"""Bad input: 400s that name the field, 404s for unknown ids, 413 for big bodies, and nothing written."""

import json

import pytest

pytestmark = pytest.mark.django_db

GPT = "openai/gpt-4o"
TASK = "run-7/step/3"
METRICS = {m: 50 for m in ("confidence", "consistency", "accuracy", "productivity", "initiative", "discipline")}
REPORT = {"task_id": TASK, "logs": ["ok"], "hallucinated": False, "duration_ms": 5, "scope_drift": False}


@pytest.fixture
def world(api):
    api.hire(GPT, tier="SENIOR")
    api.hire("acme/writer", capabilities=["prose"])
    api.register(TASK, model_id=GPT)
    api.register("spare")
    return api


def names(body: dict, field: str) -> bool:
    """The error body names the field: as a key, or as the start of a key (violations[0], metrics.accuracy)."""
    return any(key == field or key.startswith((f"{field}.", f"{field}[")) for key in body)


BAD_BODIES = [
    # hiring
    ("/api/workers/", {"capabilities": ["code"]}, "model_id"),
    ("/api/workers/", {"model_id": "x" * 201}, "model_id"),
    ("/api/workers/", {"model_id": "acme/a", "capabilities": "code"}, "capabilities"),
    ("/api/workers/", {"model_id": "acme/a", "capabilities": [["code"]]}, "capabilities"),
    ("/api/workers/", {"model_id": "acme/a", "tier": "CEO"}, "tier"),
    # registering tasks
    ("/api/tasks/", {"capability": "code"}, "task_id"),
    ("/api/tasks/", {"task_id": "t"}, "capability"),
    ("/api/tasks/", {"task_id": "t", "capability": "code", "priority": 0}, "priority"),
    ("/api/tasks/", {"task_id": "t", "capability": "code", "priority": 11}, "priority"),
    ("/api/tasks/", {"task_id": "t", "capability": "code", "priority": "high"}, "priority"),
    ("/api/tasks/", {"task_id": "t", "capability": "code", "priority": 2.5}, "priority"),
    ("/api/tasks/", {"task_id": "t", "capability": "code", "model_id": "acme/writer"}, "model_id"),
    # assigning
    ("/api/tasks/spare/assign/", {"model_id": "acme/writer"}, "model_id"),
    # reports
    ("/api/audit/", REPORT | {"task_id": None}, "task_id"),
    ("/api/audit/", {k: v for k, v in REPORT.items() if k != "task_id"}, "task_id"),
    ("/api/audit/", REPORT | {"duration_ms": -1}, "duration_ms"),
    ("/api/audit/", REPORT | {"duration_ms": "slow"}, "duration_ms"),
    ("/api/audit/", REPORT | {"duration_ms": 1.5}, "duration_ms"),
    ("/api/audit/", REPORT | {"duration_ms": True}, "duration_ms"),
    ("/api/audit/", REPORT | {"duration_ms": 2**31}, "duration_ms"),
    ("/api/audit/", REPORT | {"hallucinated": "maybe"}, "hallucinated"),
    ("/api/audit/", REPORT | {"scope_drift": [True]}, "scope_drift"),
    ("/api/audit/", REPORT | {"format_violation": "perhaps"}, "format_violation"),
    ("/api/audit/", REPORT | {"logs": "one long line"}, "logs"),
    ("/api/audit/", REPORT | {"logs": {"line": 1}}, "logs"),
    ("/api/audit/", REPORT | {"test_pass_rate": 1.5}, "test_pass_rate"),
    ("/api/audit/", REPORT | {"test_pass_rate": -0.1}, "test_pass_rate"),
    ("/api/audit/", REPORT | {"test_pass_rate": True}, "test_pass_rate"),  # float(True) is 1.0: a fixed bug
    ("/api/audit/", REPORT | {"manager_satisfaction": False}, "manager_satisfaction"),
    ("/api/audit/", REPORT | {"confidence": True}, "confidence"),
    ("/api/audit/", REPORT | {"manager_satisfaction": 2}, "manager_satisfaction"),
    ("/api/audit/", REPORT | {"confidence": -1}, "confidence"),
    ("/api/audit/", REPORT | {"confidence": "high"}, "confidence"),
    ("/api/audit/", REPORT | {"retries": -1}, "retries"),
    ("/api/audit/", REPORT | {"retries": "many"}, "retries"),
    ("/api/audit/", REPORT | {"error_kind": ["provider"]}, "error_kind"),
    ("/api/audit/", REPORT | {"report_id": "r" * 201}, "report_id"),
    ("/api/audit/", REPORT | {"model_id": "acme/writer"}, "model_id"),  # never held the task
    # batches
    ("/api/audit/batch/", {"reports": []}, "reports"),
    ("/api/audit/batch/", {"reports": REPORT}, "reports"),
    ("/api/audit/batch/", {"reports": [REPORT | {"duration_ms": -1}]}, "reports"),
    ("/api/audit/batch/", {"reports": [REPORT] * 1001}, "reports"),
    # enforcement
    ("/api/enforce/", {"violations": [["hallucination", 3]]}, "model_id"),
    ("/api/enforce/", {"model_id": GPT}, "violations"),
    ("/api/enforce/", {"model_id": GPT, "violations": "hallucination"}, "violations"),
    ("/api/enforce/", {"model_id": GPT, "violations": ["hallucination"]}, "violations"),
    ("/api/enforce/", {"model_id": GPT, "violations": [["hallucination"]]}, "violations"),
    ("/api/enforce/", {"model_id": GPT, "violations": [["hallucination", 3, 1]]}, "violations"),
    ("/api/enforce/", {"model_id": GPT, "violations": [["hallucination", "3"]]}, "violations"),
    ("/api/enforce/", {"model_id": GPT, "violations": [["hallucination", True]]}, "violations"),
    ("/api/enforce/", {"model_id": GPT, "violations": [[3, "hallucination"]]}, "violations"),
    ("/api/enforce/", {"model_id": GPT, "violations": [{"type": "hallucination", "severity": 3}]}, "violations"),
    ("/api/enforce/", {"model_id": GPT, "violations": [["lying", 3]]}, "violations"),
    ("/api/enforce/", {"model_id": GPT, "violations": [["timeout", 2], ["lying", 3]]}, "violations"),
    ("/api/enforce/", {"model_id": GPT, "violations": [], "history": "scope_drift"}, "history"),
    # scoring
    ("/api/score/", {"penalties": [], "previous_score": 60}, "metrics"),
    ("/api/score/", {"metrics": [50] * 6, "penalties": [], "previous_score": 60}, "metrics"),
    ("/api/score/", {"metrics": METRICS | {"accuracy": 101}, "previous_score": 60}, "metrics.accuracy"),
    ("/api/score/", {"metrics": METRICS | {"accuracy": -1}, "previous_score": 60}, "metrics.accuracy"),
    ("/api/score/", {"metrics": METRICS | {"accuracy": "good"}, "previous_score": 60}, "metrics.accuracy"),
    ("/api/score/", {"metrics": METRICS | {"accuracy": True}, "previous_score": 60}, "metrics.accuracy"),
    ("/api/score/", {"metrics": METRICS | {"accuracy": None}, "previous_score": 60}, "metrics"),
    ("/api/score/", {"metrics": METRICS | {"charm": 90}, "previous_score": 60}, "metrics.charm"),
    (
        "/api/score/",
        {"metrics": {k: v for k, v in METRICS.items() if k != "accuracy"}, "previous_score": 60},
        "metrics.accuracy",
    ),
    ("/api/score/", {"metrics": METRICS, "penalties": ["lying"], "previous_score": 60}, "penalties"),
    ("/api/score/", {"metrics": METRICS, "penalties": "timeout", "previous_score": 60}, "penalties"),
    ("/api/score/", {"metrics": METRICS, "previous_score": 101}, "previous_score"),
    ("/api/score/", {"metrics": METRICS, "previous_score": -1}, "previous_score"),
    ("/api/score/", {"metrics": METRICS}, "previous_score"),
    ("/api/score/", {"model_id": GPT, "metrics": METRICS | {"accuracy": 101}}, "metrics.accuracy"),
    ("/api/score/", {"model_id": GPT, "metrics": METRICS, "penalties": ["lying"]}, "penalties"),
]


@pytest.mark.parametrize(("path", "body", "field"), BAD_BODIES, ids=[f"{p} {f}" for p, _, f in BAD_BODIES])
def test_a_bad_field_is_a_400_naming_it_and_writes_nothing(world, counts, path, body, field):
    before = counts()

    response = world.client.post(path, body, format="json")

    assert response.status_code == 400, response.content
    assert names(response.json(), field), response.json()
    assert counts() == before


UNKNOWN = [
    ("post", "/api/tasks/nope/assign/", {}, None),
    ("post", "/api/tasks/spare/assign/", {"model_id": "acme/ghost"}, "model_id"),
    ("post", "/api/tasks/nope/complete/", None, None),
    ("get", "/api/tasks/nope/", None, None),
    ("get", "/api/workers/acme/ghost/", None, None),
    ("get", "/api/workers/acme/ghost/record/", None, None),
    ("post", "/api/tasks/", {"task_id": "t-new", "capability": "code", "model_id": "acme/ghost"}, "model_id"),
    ("post", "/api/audit/", REPORT | {"task_id": "nope"}, "task_id"),
    ("post", "/api/audit/", REPORT | {"model_id": "acme/ghost"}, "model_id"),
    ("post", "/api/enforce/", {"model_id": "acme/ghost", "violations": [["hallucination", 3]]}, "model_id"),
    ("post", "/api/score/", {"model_id": "acme/ghost", "metrics": METRICS, "penalties": []}, "model_id"),
    ("get", "/api/incidents/00000000-0000-0000-0000-000000000000/", None, None),
    ("get", "/api/incidents/not-a-uuid/", None, None),
    ("get", "/api/audit-runs/00000000-0000-0000-0000-000000000000/", None, None),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), UNKNOWN, ids=[f"{m.upper()} {p}" for m, p, *_ in UNKNOWN])
def test_an_unknown_task_or_worker_is_a_404_and_writes_nothing(world, counts, method, path, body, field):
    before = counts()

    if method == "get":
        response = world.client.get(path)
    else:
        response = world.client.post(path, body, format="json")

    assert response.status_code == 404, response.content
    if field:
        assert names(response.json(), field), response.json()
    assert counts() == before


BAD_QUERIES = [
    ("/api/workers/", {"status": "active"}, "status"),  # was an empty list: a fixed bug
    ("/api/workers/", {"tier": "LEAD"}, "tier"),
    ("/api/routing/", {"priority": 5}, "capability"),
    ("/api/routing/", {"capability": "code", "priority": 0}, "priority"),
    ("/api/routing/", {"capability": "code", "priority": 11}, "priority"),
    ("/api/routing/", {"capability": "code", "priority": "urgent"}, "priority"),
    ("/api/events/", {"after": -1}, "after"),
    ("/api/events/", {"after": "start"}, "after"),
    ("/api/events/", {"limit": 0}, "limit"),
    ("/api/events/", {"limit": 1001}, "limit"),
    ("/api/incidents/", {"severity": "high"}, "severity"),
    ("/api/incidents/", {"status": "BOGUS"}, "status"),
    ("/api/incidents/", {"since": "yesterday"}, "since"),
    ("/api/incidents/", {"until": "2025-13-45"}, "until"),
    (f"/api/workers/{GPT}/record/", {"limit": 0}, "limit"),
    (f"/api/workers/{GPT}/record/", {"offset": -1}, "offset"),
    (f"/api/workers/{GPT}/record/", {"limit": "all"}, "limit"),
]


@pytest.mark.parametrize(("path", "params", "field"), BAD_QUERIES, ids=[f"{p} {f}" for p, _, f in BAD_QUERIES])
def test_a_bad_query_parameter_is_a_400_naming_it(world, path, params, field):
    response = world.client.get(path, params)

    assert response.status_code == 400, response.content
    assert names(response.json(), field), response.json()


@pytest.mark.parametrize(
    ("path", "body", "longest"),
    [
        ("/api/audit/", REPORT | {"hallucinated": True}, 200),
        ("/api/score/", {"model_id": GPT, "metrics": METRICS, "penalties": []}, 196),  # stored as "api:<key>"
    ],
)
def test_an_idempotency_key_longer_than_its_column_is_a_400_naming_the_header(world, counts, path, body, longest):
    # Regression: on PostgreSQL an overlong key was a 500 (value too long for the column).
    before = counts()

    response = world.client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY="k" * (longest + 1))

    assert response.status_code == 400, response.content
    assert names(response.json(), "Idempotency-Key")
    assert counts() == before
    assert world.client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY="k" * longest).status_code == 200


def test_a_duplicate_task_or_worker_is_a_409_naming_its_id(world, counts):
    before = counts()

    worker = world.client.post("/api/workers/", {"model_id": GPT}, format="json")
    task = world.client.post("/api/tasks/", {"task_id": TASK, "capability": "code"}, format="json")

    assert (worker.status_code, task.status_code) == (409, 409)
    assert names(worker.json(), "model_id") and names(task.json(), "task_id")
    assert counts() == before


def test_assigning_a_completed_task_is_a_409(world, counts):
    world.post(f"/api/tasks/{TASK}/complete/")
    before = counts()

    response = world.client.post(f"/api/tasks/{TASK}/assign/", {}, format="json")

    assert response.status_code == 409
    assert counts() == before


def test_a_body_over_one_megabyte_is_a_413_and_writes_nothing(world, counts):
    before = counts()
    body = json.dumps(REPORT | {"hallucinated": True, "logs": ["x" * 1000] * 1100})
    assert len(body) > 1_000_000

    response = world.client.post("/api/audit/", body, content_type="application/json")

    assert response.status_code == 413
    assert counts() == before


@pytest.mark.parametrize("path", ["/api/workers/", "/api/tasks/", "/api/audit/batch/", "/api/enforce/", "/api/score/"])
def test_every_write_refuses_a_body_over_one_megabyte(world, counts, path):
    before = counts()

    response = world.client.post(path, "[" + "0," * 600_000 + "0]", content_type="application/json")

    assert response.status_code == 413
    assert counts() == before


def test_a_body_just_under_one_megabyte_is_read(world):
    logs = ["x" * 1000] * 990
    body = json.dumps(REPORT | {"logs": logs})
    assert len(body) < 1_000_000

    response = world.client.post("/api/audit/", body, content_type="application/json")

    assert response.status_code == 200, response.content


def test_malformed_json_is_a_400_and_writes_nothing(world, counts):
    before = counts()

    response = world.client.post("/api/audit/", '{"task_id": ', content_type="application/json")

    assert response.status_code == 400
    assert counts() == before


def test_a_body_that_is_not_an_object_is_a_400(world, counts):
    before = counts()

    response = world.client.post("/api/audit/", "[1, 2, 3]", content_type="application/json")

    assert response.status_code == 400
    assert counts() == before
