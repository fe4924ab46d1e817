"""The Director against the automation, on one worker, at once: the Director suspends and reinstates through the
service while reports (and the sanctions HR issues for them) arrive from other threads, on PostgreSQL's real
row locks. Whatever the interleaving, the worker's final status is the one its recorded actions give when
replayed (workforce.domain.lifecycle.status_from_record): no action applied but unrecorded, none recorded but
lost, and the record's order is the order they took effect."""

import time
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from aura_project.errors import DomainError
from governance.models import AuditRecord, DisciplinaryAction, GovernanceSettings
from governance.selectors import worker_recorded_actions
from governance.services.discipline import director_intervene
from workforce.domain.lifecycle import status_from_record
from workforce.models import Worker

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("governance_defaults"),
]

REPORTERS = 10
REPORTS_EACH = 2
DIRECTOR_THREADS = 4
INTERVENTIONS_EACH = 3
TARGET = "race/target"


def test_director_interventions_racing_reports_leave_the_status_its_recorded_actions_give(
    staff, director, manager_client_factory, concurrently
):
    GovernanceSettings.objects.create(spike_min_workers=50, note="one worker: no spike guard in this test")
    tasks = [f"race/t{i}" for i in range(REPORTERS * REPORTS_EACH)]
    staff({TARGET: tasks, "race/backup": ["race/backup-task"]})
    worker = Worker.objects.get(model_id=TARGET)

    def reporter(index: int) -> list[int]:
        """Gives the worker a task and reports an offence on it: a task given after the worker's latest sanction
        escalates (the "told first" rule), so HR sanctions the worker while the Director acts on it too."""
        client = manager_client_factory()
        statuses = []
        for n in range(REPORTS_EACH):
            task_id = f"race/new-{index}-{n}"
            given = {"task_id": task_id, "capability": "code", "priority": 1, "model_id": TARGET}
            if client.post("/api/tasks/", given, format="json").status_code != 201:
                # Out of service just now (suspended by the Director): the offence is on a task it held before.
                task_id = tasks[index * REPORTS_EACH + n]
            body = {"task_id": task_id, "model_id": TARGET, "logs": [f"step {n}"], "report_id": f"race/{task_id}"}
            body["format_violation"] = True  # a WARNING (cooldown) when it is a new step
            statuses.append(client.post("/api/audit/", body, format="json").status_code)
        return statuses

    def the_director(index: int) -> list[str]:
        outcomes = []
        for n in range(INTERVENTIONS_EACH):
            time.sleep(0.05 * (index + 1))  # spread among the reports rather than all before them
            action = ("SUSPEND", "REINSTATE")[(index + n) % 2]
            until = timezone.now() + timedelta(hours=2) if action == "SUSPEND" else None
            try:
                director_intervene(
                    worker=worker, action=action, reason=f"race {index}/{n}", actor=director,
                    now=timezone.now(), until=until,
                )  # fmt: skip
                outcomes.append(action)
            except DomainError:  # refused: it would change nothing given what landed first (a rule, not a race)
                outcomes.append("refused")
        return outcomes

    def either(index: int):
        return reporter(index) if index < REPORTERS else the_director(index - REPORTERS)

    results = concurrently(REPORTERS + DIRECTOR_THREADS, either)

    reports = [status for result in results[:REPORTERS] for status in result]
    interventions = Counter(outcome for result in results[REPORTERS:] for outcome in result)
    assert Counter(reports) == {200: REPORTERS * REPORTS_EACH}, reports
    assert AuditRecord.objects.filter(worker=worker).count() == REPORTERS * REPORTS_EACH
    by_director = DisciplinaryAction.objects.filter(worker=worker, actor_kind=DisciplinaryAction.Actor.DIRECTOR)
    assert Counter(by_director.values_list("action", flat=True)) == {
        action: count for action, count in interventions.items() if action != "refused"
    }
    assert interventions["SUSPEND"] >= 1, interventions
    worker.refresh_from_db()
    status, cooldown_until, suspended_until = status_from_record(
        worker_recorded_actions(worker=worker), now=timezone.now()
    )
    assert (worker.status, worker.suspended_until) == (status, suspended_until), list(
        DisciplinaryAction.objects.filter(worker=worker).order_by("id").values_list("action", "created_at")
    )
    assert worker.cooldown_until == cooldown_until
    print(
        "H3DEBUG",
        interventions,
        worker.status,
        list(DisciplinaryAction.objects.filter(worker=worker).order_by("id").values_list("action", "actor_kind")),
    )
