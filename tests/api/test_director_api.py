"""The Director's interventions through the API (/api/director/...), as a script would call them with a
Director's key or login: each needs a reason, records the Director, tells the Manager's inbox, and refuses with a
4xx naming the field. Manager and Viewer keys get 403."""

from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from governance.models import DisciplinaryAction, Hold, Incident, PendingSanction, Spike
from workforce.models import Event, SystemMode, Task, Worker

pytestmark = pytest.mark.django_db

GPT = "openai/gpt-4o"
CLAUDE = "anthropic/claude"
GEMINI = "google/gemini"


class DirectorApi:
    def __init__(self, client) -> None:
        self.client = client

    def post(self, path: str, body: dict | None = None, *, expect: int = 200, **extra) -> dict:
        response = self.client.post(f"/api/director/{path}", body or {}, format="json", **extra)
        assert response.status_code == expect, (path, response.status_code, response.content)
        assert response["Content-Type"].startswith("application/json")
        return response.json()


@pytest.fixture
def boss(director_key) -> DirectorApi:
    """The Director, scripting with a Director's key."""
    return DirectorApi(director_key)


@pytest.fixture
def crew(api):
    for model_id in (GPT, CLAUDE, GEMINI):
        api.hire(model_id)
    return api


def events_since(cursor: int, kind: str) -> list[Event]:
    return list(Event.objects.filter(id__gt=cursor, kind=kind))


# --- Halt and resume -----------------------------------------------------------------------------------------


def test_a_halt_empties_routing_refuses_assignment_and_still_records_reports(boss, crew, clock):
    crew.register("t-1", model_id=GPT)
    crew.register("t-2")
    cursor = crew.cursor()

    mode = boss.post("halt/", {"reason": "provider outage"})

    assert (mode["mode"], mode["by"], mode["reason"]) == ("halted", "key:director-key", "provider outage")
    assert events_since(cursor, "system.halted")[0].payload["by"] == "key:director-key"
    routing = crew.client.get("/api/routing/", {"capability": "code"})
    assert routing.status_code == 200 and routing.json() == []
    assert routing["Aura-System-Mode"] == "halted"
    refused = crew.post("/api/tasks/t-2/assign/", {}, expect=409)
    assert refused["code"] == "halted"
    assert (refused["halted_by"], refused["halt_reason"]) == ("key:director-key", "provider outage")
    assert refused["halted_since"] == clock.now.isoformat()
    assert "halted by key:director-key" in refused["detail"]
    # The report is recorded with its incident; its task waits for a worker.
    body = crew.report("t-1", hallucinated=True)
    assert body["status"] == "violation"
    assert Incident.objects.filter(pk=body["incident_id"]).exists()
    assert crew.task("t-1")["status"] == Task.Status.WAITING
    assert crew.get("/api/director/mode/")["halted"] is True  # the Manager may read the mode


def test_the_resume_restores_routing_and_routes_the_tasks_that_waited(boss, crew, clock):
    crew.register("t-1", model_id=GPT)
    boss.post("halt/", {"reason": "outage"})
    crew.report("t-1", hallucinated=True)
    clock.advance(minutes=5)
    cursor = crew.cursor()

    mode = boss.post("resume/", {"reason": "provider back"})

    assert (mode["mode"], mode["by"], mode["reason"]) == ("normal", "key:director-key", "provider back")
    assert events_since(cursor, "system.resumed")[0].payload["rerouting"] == 1
    assert crew.routing() != []
    task = crew.task("t-1")
    assert task["status"] == Task.Status.ASSIGNED and task["current_worker"] != GPT
    crew.register("t-2")
    assert crew.assign("t-2")["status"] == Task.Status.ASSIGNED


def test_halt_and_resume_need_a_reason_and_refuse_what_changes_nothing(boss, crew):
    assert "reason" in boss.post("halt/", {}, expect=400)
    assert "mode" in boss.post("resume/", {"reason": "x"}, expect=409)
    boss.post("halt/", {"reason": "once"})
    assert "already halted" in boss.post("halt/", {"reason": "twice"}, expect=409)["mode"][0]


def test_a_directors_login_halts_too_and_is_recorded_as_the_user(director, crew):
    client = APIClient()
    client.force_login(director)

    DirectorApi(client).post("halt/", {"reason": "from the control room"})

    row = SystemMode.objects.get()
    assert (row.actor_label, row.changed_by) == ("user:director", director)
    assert row.history.latest().history_user == director


@pytest.mark.parametrize("caller", ["manager_key", "viewer_key", "auditor_key"])
def test_other_roles_get_403_and_change_nothing(request, caller, crew, counts):
    client = request.getfixturevalue(caller)
    before = counts()
    for path, body in [
        ("halt/", {"reason": "x"}),
        (f"workers/{GPT}/suspend/", {"reason": "x", "minutes": 5}),
        ("tasks/t/assign/", {"reason": "x", "model_id": GPT}),
        ("holds/", {"reason": "x", "model_id": GPT}),
    ]:
        response = client.post(f"/api/director/{path}", body, format="json")
        assert response.status_code == 403, (caller, path, response.content)
    assert counts() == before
    assert not SystemMode.objects.exists()


def test_a_retried_halt_with_the_same_idempotency_key_is_replayed(boss, crew):
    first = boss.client.post("/api/director/halt/", {"reason": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="h-1")
    again = boss.client.post("/api/director/halt/", {"reason": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="h-1")

    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Event.objects.filter(kind="system.halted").count() == 1
    other = boss.client.post("/api/director/halt/", {"reason": "y"}, format="json", HTTP_IDEMPOTENCY_KEY="h-1")
    assert other.status_code == 422 and "Idempotency-Key" in other.json()


# --- Workers -------------------------------------------------------------------------------------------------


def test_a_suspension_for_a_chosen_number_of_minutes(boss, crew, clock):
    cursor = crew.cursor()

    answer = boss.post(f"workers/{GPT}/suspend/", {"reason": "audit", "minutes": 90})

    until = clock.now + timedelta(minutes=90)
    assert answer["worker"]["status"] == "SUSPENDED"
    assert answer["worker"]["suspended_until"] == until.isoformat()
    record = DisciplinaryAction.objects.get(pk=answer["records"][0]["id"])
    assert (record.action, record.effective_until, record.actor_label) == ("SUSPEND", until, "key:director-key")
    assert record.actor_kind == DisciplinaryAction.Actor.DIRECTOR
    applied = events_since(cursor, "action.applied")[0]
    assert (applied.payload["actor"], applied.payload["reason"]) == ("key:director-key", "audit")


def test_a_suspension_until_a_chosen_moment(boss, crew, clock):
    until = (clock.now + timedelta(days=3)).replace(microsecond=0)
    answer = boss.post(f"workers/{GPT}/suspend/", {"reason": "audit", "until": until.isoformat()})
    assert answer["worker"]["suspended_until"] == until.isoformat()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"minutes": 5}, "reason"),
        ({"reason": "  ", "minutes": 5}, "reason"),
        ({"reason": "x", "minutes": 0}, "minutes"),
        ({"reason": "x", "minutes": "soon"}, "minutes"),
        ({"reason": "x", "minutes": 5, "until": "2999-01-01T00:00:00Z"}, "until"),
        ({"reason": "x", "until": "2000-01-01T00:00:00Z"}, "until"),
        ({"reason": "x", "until": "yesterday"}, "until"),
    ],
)
def test_a_bad_suspension_is_a_400_naming_the_field(boss, crew, body, field):
    answer = boss.post(f"workers/{GPT}/suspend/", body, expect=400)
    assert field in answer, answer
    assert Worker.objects.get(model_id=GPT).status == "ACTIVE"
    assert not DisciplinaryAction.objects.exists()


def test_reinstate_terminate_rehire_and_blacklist(boss, crew):
    boss.post(f"workers/{GPT}/suspend/", {"reason": "audit"})
    assert boss.post(f"workers/{GPT}/reinstate/", {"reason": "cleared"})["worker"]["status"] == "ACTIVE"
    assert boss.post(f"workers/{GPT}/terminate/", {"reason": "done"})["worker"]["status"] == "TERMINATED"
    rehired = boss.post(f"workers/{GPT}/rehire/", {"reason": "second chance"})["worker"]
    assert (rehired["status"], rehired["tier"]) == ("PROBATION", "JUNIOR")
    assert boss.post(f"workers/{GPT}/blacklist/", {"reason": "fraud"})["worker"]["status"] == "BLACKLISTED"
    refused = boss.post(f"workers/{GPT}/rehire/", {"reason": "again"}, expect=400)
    assert refused["code"] == "not_applicable" and "never rehired" in refused["action"][0]
    actors = set(DisciplinaryAction.objects.values_list("actor_label", flat=True))
    assert actors == {"key:director-key"}


def test_an_unknown_worker_is_a_404_naming_it(boss, crew):
    assert "model_id" in boss.post("workers/nobody/x/terminate/", {"reason": "x"}, expect=404)


def test_a_length_is_refused_for_anything_but_a_suspension(director, crew, clock):
    from aura_project.errors import DomainError
    from governance.services.director import director_worker_action

    with pytest.raises(DomainError) as refused:
        director_worker_action(model_id=GPT, action="TERMINATE", reason="x", actor=director, now=clock.now, minutes=5)
    assert refused.value.field == "minutes"
    assert Worker.objects.get(model_id=GPT).status == "ACTIVE"


# --- Records ---------------------------------------------------------------------------------------------------


def test_overturning_an_action_through_the_api(boss, crew):
    suspended = boss.post(f"workers/{GPT}/suspend/", {"reason": "mistake"})
    action_id = suspended["records"][0]["id"]

    answer = boss.post(f"actions/{action_id}/overturn/", {"reason": "wrong worker"})

    assert answer["overturned"] == action_id
    assert answer["worker"]["status"] == "ACTIVE"
    assert answer["overturn"]["actor"] == "key:director-key"
    again = boss.post(f"actions/{action_id}/overturn/", {"reason": "twice"}, expect=400)
    assert again["code"] == "already_overturned"
    assert "action_id" in boss.post("actions/999999/overturn/", {"reason": "x"}, expect=404)


@pytest.fixture
def held(crew, clock):
    worker = Worker.objects.get(model_id=GPT)
    spike = Spike.objects.create(
        scope="fleet", figures={}, settings_version=1, started_at=clock.now, last_seen_at=clock.now
    )
    return PendingSanction.objects.create(
        worker=worker,
        spike=spike,
        action="SUSPEND",
        reason="repeat scope_drift",
        actor_kind="HR",
        settings_version=1,
        created_at=clock.now,
    )


def test_confirming_a_held_sanction_applies_it_as_the_director(boss, held):
    cursor = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0

    answer = boss.post(f"pending-sanctions/{held.pk}/confirm/", {"reason": "the logs show drift"})

    assert (answer["decision"], answer["worker"]["status"]) == ("CONFIRMED", "SUSPENDED")
    assert answer["applied"]["actor"] == "key:director-key"
    reviewed = events_since(cursor, "sanction.reviewed")[0]
    assert reviewed.payload["actor"] == "key:director-key"
    assert boss.post(f"pending-sanctions/{held.pk}/dismiss/", {"reason": "x"}, expect=400)["code"] == "decided"


def test_dismissing_a_held_sanction_leaves_the_worker_as_it_was(boss, held):
    answer = boss.post(f"pending-sanctions/{held.pk}/dismiss/", {"reason": "detector fault"})
    assert (answer["decision"], answer["applied"], answer["worker"]["status"]) == ("DISMISSED", None, "ACTIVE")
    assert "pending_id" in boss.post("pending-sanctions/999999/confirm/", {"reason": "x"}, expect=404)


def test_placing_and_releasing_a_hold(boss, crew):
    cursor = crew.cursor()

    placed = boss.post("holds/", {"reason": "appeal lodged", "model_id": GPT, "kind": "APPEAL"}, expect=201)

    hold = Hold.objects.get(pk=placed["id"])
    assert (hold.kind, hold.worker.model_id, hold.reason) == ("APPEAL", GPT, "appeal lodged")
    assert events_since(cursor, "hold.placed")[0].payload["actor"] == "key:director-key"
    released = boss.post(f"holds/{hold.pk}/release/", {"reason": "appeal decided"})
    assert released["lifted_at"] is not None and released["lift_reason"] == "appeal decided"
    lifted = events_since(cursor, "hold.lifted")[0]
    assert (lifted.payload["reason"], lifted.payload["actor"]) == ("appeal decided", "key:director-key")
    assert "hold" in boss.post(f"holds/{hold.pk}/release/", {"reason": "again"}, expect=400)


def test_a_hold_must_cover_something(boss, crew):
    assert "model_id" in boss.post("holds/", {"reason": "x"}, expect=400)
    assert "incident_id" in boss.post("holds/", {"reason": "x", "incident_id": "not-a-uuid"}, expect=400)


# --- Tasks -----------------------------------------------------------------------------------------------------


def test_force_reassigning_a_task_to_a_chosen_worker(boss, crew):
    crew.register("t-1", model_id=GPT)
    cursor = crew.cursor()

    answer = boss.post("tasks/t-1/reassign/", {"reason": "GPT is stuck", "model_id": CLAUDE})

    assert (answer["model_id"], answer["previous"], answer["status"]) == (CLAUDE, GPT, "ASSIGNED")
    event = events_since(cursor, "task.reassigned")[0]
    assert (event.payload["previous"], event.payload["actor"]) == (GPT, "key:director-key")
    assert "GPT is stuck" in event.payload["reason"]


def test_force_reassigning_to_the_best_other_worker(boss, crew):
    crew.register("t-1", model_id=GPT)
    answer = boss.post("tasks/t-1/reassign/", {"reason": "rotate"})
    assert answer["model_id"] in {CLAUDE, GEMINI}


def test_assigning_a_waiting_task_to_a_chosen_worker(boss, crew):
    crew.register("t-1")

    answer = boss.post("tasks/t-1/assign/", {"reason": "GEMINI knows it", "model_id": GEMINI})

    assert (answer["model_id"], answer["status"]) == (GEMINI, "ASSIGNED")


def test_task_interventions_are_refused_with_the_reason(boss, crew, clock):
    crew.register("t-1", model_id=GPT)
    crew.register("t-2")
    boss.post(f"workers/{CLAUDE}/suspend/", {"reason": "audit"})

    suspended = boss.post("tasks/t-2/assign/", {"reason": "x", "model_id": CLAUDE}, expect=400)
    assert "it is suspended" in suspended["model_id"][0]
    held = boss.post("tasks/t-1/assign/", {"reason": "x", "model_id": GEMINI}, expect=409)
    assert "reassign it instead" in held["task_id"][0]
    assert "model_id" in boss.post("tasks/t-2/assign/", {"reason": "x"}, expect=400)
    assert "task_id" in boss.post("tasks/nope/reassign/", {"reason": "x"}, expect=404)
    assert "model_id" in boss.post("tasks/t-2/assign/", {"reason": "x", "model_id": "nobody"}, expect=404)
    boss.post("halt/", {"reason": "stop"})
    halted = boss.post("tasks/t-2/assign/", {"reason": "x", "model_id": GEMINI}, expect=409)
    assert halted["code"] == "halted"
    assert crew.task("t-2")["current_worker"] is None
