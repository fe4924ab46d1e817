"""Shared helpers for the API tests: the Manager's calls as verbs, row counts, and a clock the tests move.

Tests run with --import-mode=importlib and tests/ has no packages, so helpers are served as fixtures here
rather than imported from a module.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from governance.models import AuditRecord, AuditRun, DisciplinaryAction, Incident, Penalty, ScoreRecord
from workforce.models import Assignment, Event, Task, Worker

ALL_METRICS = ("confidence", "consistency", "accuracy", "productivity", "initiative", "discipline")

# Every table a request could write to; "nothing written" means none of these moved.
COUNTED = {
    "workers": Worker,
    "tasks": Task,
    "assignments": Assignment,
    "audit_records": AuditRecord,
    "audit_runs": AuditRun,
    "incidents": Incident,
    "actions": DisciplinaryAction,
    "penalties": Penalty,
    "scores": ScoreRecord,
    "events": Event,
}


def row_counts() -> dict[str, int]:
    return {name: model.objects.count() for name, model in COUNTED.items()}


def all_metrics(value=50, **overrides) -> dict:
    """All six of the Accountant's metrics at one value, with any overridden."""
    return {name: value for name in ALL_METRICS} | overrides


class ManagerApi:
    """The Manager's side of the API, each call asserting the status it expects."""

    def __init__(self, client) -> None:
        self.client = client

    def post(self, path: str, body: dict | None = None, *, expect: int = 200, **extra) -> dict:
        response = self.client.post(path, body or {}, format="json", **extra)
        assert response.status_code == expect, (path, response.status_code, response.content)
        return response.json()

    def get(self, path: str, params: dict | None = None, *, expect: int = 200) -> dict:
        response = self.client.get(path, params or {})
        assert response.status_code == expect, (path, response.status_code, response.content)
        return response.json()

    def hire(self, model_id: str, *, tier: str = "JUNIOR", capabilities=("code",), **extra) -> dict:
        body = {"model_id": model_id, "tier": tier, "capabilities": list(capabilities), **extra}
        return self.post("/api/workers/", body, expect=201)

    def register(self, task_id: str, *, capability: str = "code", priority: int = 5, model_id=None) -> dict:
        body = {"task_id": task_id, "capability": capability, "priority": priority}
        if model_id is not None:
            body["model_id"] = model_id
        return self.post("/api/tasks/", body, expect=201)

    def assign(self, task_id: str, model_id: str | None = None) -> dict:
        body = {"model_id": model_id} if model_id else {}
        return self.post(f"/api/tasks/{task_id}/assign/", body)

    def report(self, task_id: str, *, expect: int = 200, headers: dict | None = None, **fields) -> dict:
        body = {"task_id": task_id, "logs": fields.pop("logs", ["started", "finished"]), **fields}
        return self.post("/api/audit/", body, expect=expect, **(headers or {}))

    def enforce(self, model_id: str, violations: list, *, expect: int = 200, **extra) -> dict:
        return self.post("/api/enforce/", {"model_id": model_id, "violations": violations, **extra}, expect=expect)

    def score(self, body: dict, *, expect: int = 200, **extra) -> dict:
        return self.post("/api/score/", body, expect=expect, **extra)

    def worker(self, model_id: str) -> dict:
        return self.get(f"/api/workers/{model_id}/")

    def task(self, task_id: str) -> dict:
        return self.get(f"/api/tasks/{task_id}/")

    def routing(self, capability: str = "code", priority: int = 5) -> list[str]:
        return [row["model_id"] for row in self.get("/api/routing/", {"capability": capability, "priority": priority})]

    def events(self, after: int = 0) -> list[dict]:
        return self.get("/api/events/", {"after": after, "limit": 1000})["events"]

    def cursor(self) -> int:
        """The inbox's current end: events after it are the ones the next call writes."""
        return Event.objects.order_by("-id").values_list("id", flat=True).first() or 0


@pytest.fixture
def api(manager_key) -> ManagerApi:
    """The Manager, calling with its service key."""
    return ManagerApi(manager_key)


@pytest.fixture
def counts():
    """Row counts of every table a request could write."""
    return row_counts


@pytest.fixture
def make_metrics():
    """A scoring payload's metrics: all six at one value, with any overridden."""
    return all_metrics


@dataclass
class Clock:
    """A clock the test moves. Everything that reads `timezone.now()` (views, auto_now fields) sees it."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    frozen = Clock(timezone.now().replace(microsecond=0))
    monkeypatch.setattr(timezone, "now", frozen)
    return frozen
