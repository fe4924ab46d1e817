"""A Manager written against the seeds' three services works after changing only its base URL: the seeds'
paths had no trailing slash."""

import pytest

pytestmark = pytest.mark.django_db

BASE = "/api"  # the only change a seed Manager makes, with its key


def test_the_seed_audit_path_without_a_slash_processes_the_report(api, manager_key):
    api.hire("openai/gpt-4o")
    api.register("t-1", model_id="openai/gpt-4o")
    response = manager_key.post(
        f"{BASE}/audit",
        {"task_id": "t-1", "logs": ["a", "b"], "hallucinated": True, "duration_ms": 10, "scope_drift": False},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["status"] == "violation"
    assert response.json()["report"]["violations"] == [["hallucination", 3]]


def test_the_seed_enforce_path_without_a_slash_executes(api, manager_key):
    api.hire("openai/gpt-4o")
    response = manager_key.post(
        f"{BASE}/enforce", {"model_id": "openai/gpt-4o", "violations": [["timeout", 2]]}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["actions"] == ["WARNING"] and response.json()["status"] == "executed"


def test_the_seed_score_path_without_a_slash_calculates(manager_key):
    metrics = dict.fromkeys(["confidence", "consistency", "accuracy", "productivity", "initiative", "discipline"], 40)
    response = manager_key.post(
        f"{BASE}/score", {"metrics": metrics, "penalties": [], "previous_score": 40}, format="json"
    )
    assert response.status_code == 200
    assert response.json() == {"score": 40, "reputation": 40, "action": "WARNING"}


def test_a_slashless_call_still_needs_a_key(anon_client):
    assert anon_client.post(f"{BASE}/score", {}, format="json").status_code == 401
