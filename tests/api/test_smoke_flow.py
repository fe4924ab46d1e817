import pytest

pytestmark = pytest.mark.django_db


def hire(client, model_id, **extra):
    body = {"model_id": model_id, "capabilities": ["code"], **extra}
    response = client.post("/api/workers/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_a_hallucination_opens_an_incident_strikes_and_reassigns(manager_key):
    hire(manager_key, "openai/gpt-4o", tier="SENIOR")
    hire(manager_key, "meta-llama/Llama-3.1-8B")
    task = manager_key.post(
        "/api/tasks/", {"task_id": "run-7/step/3", "capability": "code", "priority": 5}, format="json"
    )
    assert task.status_code == 201, task.content
    assigned = manager_key.post("/api/tasks/run-7/step/3/assign/", {}, format="json")
    assert assigned.json()["current_worker"] == "openai/gpt-4o"
    logs = [f"line {i}" for i in range(8)]
    response = manager_key.post(
        "/api/audit/",
        {"task_id": "run-7/step/3", "logs": logs, "hallucinated": True, "duration_ms": 10},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "violation"
    assert body["report"] == {"task_id": "run-7/step/3", "violations": [["hallucination", 3]], "evidence": logs[-5:]}
    assert body["actions"] == ["STRIKE"]
    assert body["reassigned_to"] == "meta-llama/Llama-3.1-8B"
    worker = manager_key.get("/api/workers/openai%2Fgpt-4o/").json()
    assert worker["active_strikes"] == 1
    record = manager_key.get("/api/workers/openai/gpt-4o/record/").json()
    assert {entry["type"] for entry in record["results"]} == {"action", "penalty", "score", "incident"}
    events = manager_key.get("/api/events/?after=0").json()["events"]
    kinds = [e["kind"] for e in events]
    assert "incident.opened" in kinds and "task.reassigned" in kinds and "action.applied" in kinds
