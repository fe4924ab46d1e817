"""The workforce endpoints: hiring and listing workers, tasks, assignment, completion and routing."""

from datetime import timedelta
from urllib.parse import quote

import pytest
from django.utils import timezone

from workforce.models import Worker

pytestmark = pytest.mark.django_db

GPT = "openai/gpt-4o"
LLAMA = "meta-llama/Llama-3.1-8B"
TASK = "run-7/step/3"


def in_route(value: str, encoded: bool) -> str:
    return quote(value, safe="") if encoded else value


def set_status(model_id: str, status: str, **fields) -> None:
    """Put a worker in a status directly, as a timer or the Director would have."""
    Worker.objects.filter(model_id=model_id).update(status=status, **fields)


# --- hiring and listing ---------------------------------------------------------------------------


def test_a_new_hire_starts_at_reputation_60_provisional_with_its_tiers_budget(api):
    body = api.hire(GPT, tier="SENIOR", capabilities=["code", "review", "code"], name="GPT-4o")

    assert body["model_id"] == GPT
    assert (body["tier"], body["status"], body["budget"], body["reputation"]) == ("SENIOR", "ACTIVE", 4000, 60)
    assert body["confidence"] == {"scored_runs": 0, "provisional": True}
    assert body["capabilities"] == ["code", "review"]
    assert (body["name"], body["provider"]) == ("GPT-4o", "openai")


def test_a_new_hire_is_a_junior_by_default(api):
    body = api.post("/api/workers/", {"model_id": LLAMA}, expect=201)

    assert (body["tier"], body["budget"], body["capabilities"]) == ("JUNIOR", 1000, [])


def test_a_long_model_id_without_a_provider_prefix_is_hired(api):
    # Regression: on PostgreSQL this was a 500, the provider taken from the id overflowing its column.
    model_id = "m" * 200

    body = api.post("/api/workers/", {"model_id": model_id}, expect=201)

    assert body["model_id"] == model_id
    assert body["provider"] == "m" * 100


@pytest.mark.parametrize("method", ["put", "patch"])
def test_no_api_call_renames_a_hired_worker(api, director_key, method):
    # The worker resource is read-only: there is no update endpoint, so a new model_id is refused whoever asks,
    # the Manager by its role and the Director's key for want of the method.
    api.hire(GPT)

    for client, refused in ((api.client, 403), (director_key, 405)):
        response = getattr(client, method)(f"/api/workers/{GPT}/", {"model_id": "renamed/model"}, format="json")
        assert response.status_code == refused, response.content

    assert list(Worker.objects.values_list("model_id", flat=True)) == [GPT]
    assert api.get(f"/api/workers/{GPT}/")["model_id"] == GPT


@pytest.fixture
def fleet(api):
    api.hire(GPT, tier="SENIOR", capabilities=["code", "review"])
    api.hire(LLAMA, tier="MID", capabilities=["code"])
    api.hire("acme/scribe", tier="JUNIOR", capabilities=["prose"])
    api.hire("acme/coder-2", tier="MID", capabilities=["code"])
    set_status("acme/coder-2", "COOLDOWN", cooldown_until=timezone.now() + timedelta(hours=1))
    return api


def listed(api, **params) -> list[str]:
    return [w["model_id"] for w in api.get("/api/workers/", params)["results"]]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["acme/coder-2", "acme/scribe", LLAMA, GPT]),
        ({"status": "COOLDOWN"}, ["acme/coder-2"]),
        ({"status": "ACTIVE"}, ["acme/scribe", LLAMA, GPT]),
        ({"tier": "MID"}, ["acme/coder-2", LLAMA]),
        ({"capability": "code"}, ["acme/coder-2", LLAMA, GPT]),
        ({"capability": "review"}, [GPT]),
        ({"capability": "cod"}, []),
        ({"capability": "code", "tier": "MID", "status": "ACTIVE"}, [LLAMA]),
    ],
)
def test_the_worker_list_filters_by_status_tier_and_capability(fleet, params, expected):
    assert listed(fleet, **params) == expected


def test_the_worker_list_is_paged(fleet):
    page = fleet.get("/api/workers/", {"limit": 2, "offset": 1})

    assert page["count"] == 4
    assert [w["model_id"] for w in page["results"]] == ["acme/scribe", LLAMA]
    assert page["next"] and page["previous"]


# --- ids with slashes in every route -------------------------------------------------------------


@pytest.fixture
def slashed(api):
    api.hire(GPT, tier="SENIOR")
    api.hire(LLAMA, tier="MID")
    api.register(TASK)
    return api


@pytest.mark.parametrize("encoded", [False, True], ids=["raw", "percent-encoded"])
@pytest.mark.parametrize("model_id", [GPT, LLAMA])
def test_a_worker_id_with_a_slash_works_in_the_detail_and_record_routes(slashed, model_id, encoded):
    detail = slashed.get(f"/api/workers/{in_route(model_id, encoded)}/")
    record = slashed.get(f"/api/workers/{in_route(model_id, encoded)}/record/")

    assert detail["model_id"] == model_id
    assert record["model_id"] == model_id


@pytest.mark.parametrize("encoded", [False, True], ids=["raw", "percent-encoded"])
def test_a_task_id_with_slashes_works_in_the_assign_detail_and_complete_routes(slashed, encoded):
    route = f"/api/tasks/{in_route(TASK, encoded)}"

    assigned = slashed.post(f"{route}/assign/", {"model_id": LLAMA})
    detail = slashed.get(f"{route}/")
    completed = slashed.post(f"{route}/complete/")

    assert (assigned["task_id"], assigned["current_worker"]) == (TASK, LLAMA)
    assert detail["task_id"] == TASK
    assert (completed["task_id"], completed["status"]) == (TASK, "COMPLETED")


def test_ids_with_other_url_characters_work_percent_encoded(api):
    odd_worker, odd_task = "acme/model v2+beta?x=1#7", "job 9/step%2/é"
    api.hire(odd_worker)
    api.register(odd_task)

    assert api.get(f"/api/workers/{quote(odd_worker, safe='')}/")["model_id"] == odd_worker
    assert api.get(f"/api/workers/{quote(odd_worker, safe='')}/record/")["model_id"] == odd_worker
    assigned = api.post(f"/api/tasks/{quote(odd_task, safe='')}/assign/", {"model_id": odd_worker})
    assert (assigned["task_id"], assigned["current_worker"]) == (odd_task, odd_worker)
    assert api.get(f"/api/tasks/{quote(odd_task, safe='')}/")["task_id"] == odd_task


def test_a_report_on_a_slashed_task_reassigns_it_by_its_slashed_id(slashed):
    slashed.assign(TASK, GPT)

    body = slashed.report(TASK, hallucinated=True)

    assert body["reassigned_to"] == LLAMA
    assert slashed.get(f"/api/tasks/{quote(TASK, safe='')}/")["current_worker"] == LLAMA


# --- tasks and assignment -------------------------------------------------------------------------


def test_a_registered_task_names_its_worker_when_one_is_given(fleet):
    body = fleet.register(TASK, priority=7, model_id=LLAMA)

    assert (body["status"], body["current_worker"], body["attempts"], body["priority"]) == ("ASSIGNED", LLAMA, 1, 7)
    assert [a["model_id"] for a in body["assignments"]] == [LLAMA]


def test_a_registered_task_without_a_worker_waits_to_be_assigned(fleet):
    body = fleet.register(TASK)

    assert (body["status"], body["current_worker"], body["attempts"]) == ("PENDING", None, 0)


def test_assign_picks_the_best_eligible_worker(fleet):
    fleet.register(TASK, priority=8)

    body = fleet.assign(TASK)

    assert body["current_worker"] == GPT
    assert body["status"] == "ASSIGNED"


def test_assign_honours_a_named_eligible_worker(fleet):
    fleet.register(TASK)

    assert fleet.assign(TASK, LLAMA)["current_worker"] == LLAMA


@pytest.mark.parametrize(
    ("model_id", "why"),
    [("acme/scribe", "lacks the capability"), ("acme/coder-2", "in cooldown, and the task is above low priority")],
)
def test_assign_refuses_a_named_worker_that_is_not_eligible(fleet, counts, model_id, why):
    fleet.register(TASK, priority=5)
    before = counts()

    body = fleet.post(f"/api/tasks/{TASK}/assign/", {"model_id": model_id}, expect=400)

    assert "model_id" in body, why
    assert counts() == before


def test_assign_gives_a_low_priority_task_to_a_worker_in_cooldown(fleet):
    fleet.register(TASK, priority=3)

    assert fleet.assign(TASK, "acme/coder-2")["current_worker"] == "acme/coder-2"


def test_assign_with_nobody_eligible_leaves_the_task_waiting(fleet):
    cursor = fleet.cursor()
    fleet.register(TASK, capability="translation")

    body = fleet.assign(TASK)

    assert (body["status"], body["current_worker"], body["needs_director"]) == ("WAITING", None, True)
    assert [e["kind"] for e in fleet.events(cursor)] == ["task.waiting"]


def test_assigning_again_moves_the_task_to_a_better_worker_and_keeps_the_history(fleet):
    fleet.register(TASK, model_id=LLAMA)

    body = fleet.assign(TASK)

    assert body["current_worker"] == GPT
    assert [(a["model_id"], a["outcome"]) for a in body["assignments"]] == [(LLAMA, "RELEASED"), (GPT, "OPEN")]
    assert body["attempts"] == 2


def test_assigning_again_to_the_same_best_worker_changes_nothing(fleet):
    fleet.register(TASK, model_id=GPT)
    cursor = fleet.cursor()

    body = fleet.assign(TASK)

    assert (body["current_worker"], body["attempts"]) == (GPT, 1)
    assert fleet.events(cursor) == []


def test_completing_a_task_closes_its_attempt(fleet):
    fleet.register(TASK, model_id=GPT)

    body = fleet.post(f"/api/tasks/{TASK}/complete/")

    assert (body["status"], body["current_worker"]) == ("COMPLETED", GPT)
    assert [(a["model_id"], a["outcome"]) for a in fleet.task(TASK)["assignments"]] == [(GPT, "COMPLETED")]
    assert fleet.post(f"/api/tasks/{TASK}/complete/")["status"] == "COMPLETED", "completing twice is harmless"


def test_the_task_detail_shows_the_current_worker_and_the_assignment_history(fleet):
    fleet.register(TASK, model_id=GPT)
    fleet.report(TASK, hallucinated=True)

    body = fleet.task(TASK)

    assert body["current_worker"] == LLAMA
    assert [(a["model_id"], a["outcome"]) for a in body["assignments"]] == [(GPT, "FAILED"), (LLAMA, "OPEN")]
    assert body["assignments"][0]["ended_at"] and body["assignments"][0]["reported_at"]


# --- routing --------------------------------------------------------------------------------------


@pytest.fixture
def bench(api):
    """Five coders that differ in exactly one ranking key at a time."""
    api.hire("a/principal", tier="PRINCIPAL")
    api.hire("b/senior-busy", tier="SENIOR")
    api.hire("c/senior-idle", tier="SENIOR")
    api.hire("d/senior-famous", tier="SENIOR")
    api.hire("e/senior-senior", tier="SENIOR")
    api.hire("f/mid", tier="MID")
    Worker.objects.filter(model_id="d/senior-famous").update(reputation=90)
    Worker.objects.filter(model_id="e/senior-senior").update(priority=2)
    api.register("busy-1", model_id="b/senior-busy")
    return api


def test_routing_ranks_by_tier_then_priority_then_reputation_then_load(bench):
    rows = bench.get("/api/routing/", {"capability": "code", "priority": 5})

    assert [r["model_id"] for r in rows] == [
        "a/principal",
        "e/senior-senior",  # priority 2
        "d/senior-famous",  # reputation 90
        "c/senior-idle",  # no open assignment
        "b/senior-busy",
        "f/mid",
    ]
    assert [r["rank"] for r in rows] == [1, 2, 3, 4, 5, 6]
    busy = next(r for r in rows if r["model_id"] == "b/senior-busy")
    assert busy["open_assignments"] == 1


@pytest.mark.parametrize("status", ["COOLDOWN", "PROBATION"])
def test_routing_keeps_cooldown_and_probation_workers_to_low_priority_work(bench, status):
    set_status("a/principal", status, cooldown_until=timezone.now() + timedelta(hours=1))

    assert "a/principal" not in bench.routing(priority=4)
    assert bench.routing(priority=3)[0] == "a/principal"


@pytest.mark.parametrize("status", ["SUSPENDED", "TERMINATED", "BLACKLISTED"])
def test_routing_never_offers_a_worker_out_of_service(bench, status):
    set_status("a/principal", status, suspended_until=timezone.now() + timedelta(hours=24))

    assert "a/principal" not in bench.routing(priority=1)


def test_routing_offers_a_worker_again_once_its_cooldown_has_passed(bench):
    set_status("a/principal", "COOLDOWN", cooldown_until=timezone.now() - timedelta(minutes=1))

    assert bench.routing(priority=9)[0] == "a/principal"


def test_routing_leaves_out_the_excluded_and_the_incapable(bench):
    bench.hire("g/writer", tier="PRINCIPAL", capabilities=["prose"])

    ranked = bench.get("/api/routing/", {"capability": "code", "exclude": "a/principal,f/mid"})

    assert [r["model_id"] for r in ranked][:1] == ["e/senior-senior"]
    assert {"a/principal", "f/mid", "g/writer"}.isdisjoint(r["model_id"] for r in ranked)


def test_routing_for_an_unknown_capability_is_empty(bench):
    assert bench.routing(capability="translation") == []
