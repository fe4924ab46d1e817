"""Retried commands without a natural key (enforce, a batch) count once when they carry an Idempotency-Key."""

import pytest

from governance.models import AuditRun, AuditRunItem, DisciplinaryAction

pytestmark = pytest.mark.django_db

GPT = "openai/gpt-4o"


def test_a_retried_enforce_with_the_same_key_applies_nothing_again(api):
    api.hire(GPT)
    first = api.post(
        "/api/enforce/", {"model_id": GPT, "violations": [["hallucination", 3]]}, HTTP_IDEMPOTENCY_KEY="enf-1"
    )
    again = api.post(
        "/api/enforce/", {"model_id": GPT, "violations": [["hallucination", 3]]}, HTTP_IDEMPOTENCY_KEY="enf-1"
    )
    assert first == again
    assert first["actions"] == ["STRIKE"]
    assert list(DisciplinaryAction.objects.values_list("action", flat=True)) == ["STRIKE"]


def test_enforce_without_a_key_applies_each_call(api):
    api.hire(GPT)
    api.enforce(GPT, [["hallucination", 3]])
    second = api.enforce(GPT, [["hallucination", 3]])
    assert "SUSPEND" in second["actions"]  # the second strike within 90 days is a repeat offense


def test_the_same_enforce_key_with_another_body_is_a_422(api):
    api.hire(GPT)
    api.post("/api/enforce/", {"model_id": GPT, "violations": [["timeout", 2]]}, HTTP_IDEMPOTENCY_KEY="enf-2")
    body = api.post(
        "/api/enforce/",
        {"model_id": GPT, "violations": [["hallucination", 3]]},
        HTTP_IDEMPOTENCY_KEY="enf-2",
        expect=422,
    )
    assert "Idempotency-Key" in body
    assert DisciplinaryAction.objects.filter(action="STRIKE").count() == 0


def test_a_retried_batch_with_the_same_key_is_the_same_run(api, manager_key):
    api.hire(GPT)
    api.register("t-1", model_id=GPT)
    batch = {"reports": [{"task_id": "t-1", "logs": ["x"], "hallucinated": True}]}
    first = manager_key.post("/api/audit/batch/", batch, format="json", HTTP_IDEMPOTENCY_KEY="b-1")
    again = manager_key.post("/api/audit/batch/", batch, format="json", HTTP_IDEMPOTENCY_KEY="b-1")
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"]
    assert again["Idempotent-Replayed"] == "true"
    assert AuditRun.objects.count() == 1
    assert AuditRunItem.objects.count() == 1


def test_the_same_batch_key_with_other_reports_is_a_422(api, manager_key):
    api.hire(GPT)
    api.register("t-1", model_id=GPT)
    one = {"reports": [{"task_id": "t-1", "logs": ["x"]}]}
    other = {"reports": [{"task_id": "t-1", "logs": ["y"]}]}
    assert manager_key.post("/api/audit/batch/", one, format="json", HTTP_IDEMPOTENCY_KEY="b-2").status_code == 202
    assert manager_key.post("/api/audit/batch/", other, format="json", HTTP_IDEMPOTENCY_KEY="b-2").status_code == 422
    assert AuditRun.objects.count() == 1
