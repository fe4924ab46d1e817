"""The records: a worker's page and its disciplinary record, incidents, and audit runs."""

from datetime import timedelta

import pytest
from django.utils import timezone

from governance.models import DisciplinaryAction, Incident
from governance.services.audit_runs import audit_run_process, audit_run_submit
from workforce.domain.actor import MANAGER, service_key

TEST_MANAGER = service_key("test-manager", MANAGER)  # the Manager's key, for service calls

pytestmark = pytest.mark.django_db

GPT = "openai/gpt-4o"
LLAMA = "meta-llama/Llama-3.1-8B"


@pytest.fixture
def pair(api):
    api.hire(GPT, tier="SENIOR")
    api.hire(LLAMA, tier="MID")
    return api


def give(api, task_id: str, model_id: str = GPT, priority: int = 2) -> None:
    api.register(task_id, model_id=model_id, priority=priority)


# --- the worker's page ----------------------------------------------------------------------------


def test_a_workers_page_shows_its_standing(pair):
    body = pair.worker(GPT)

    assert (body["status"], body["tier"], body["reputation"]) == ("ACTIVE", "SENIOR", 60)
    assert body["confidence"] == {"scored_runs": 0, "provisional": True}
    assert (body["active_strikes"], body["active_warnings"]) == (0, 0)


def test_a_reputation_stops_being_provisional_after_five_scored_runs(pair, make_metrics):
    for runs in range(1, 6):
        pair.score({"model_id": GPT, "metrics": make_metrics(60), "penalties": []})
        assert pair.worker(GPT)["confidence"] == {"scored_runs": runs, "provisional": runs < 5}


def test_a_workers_page_counts_active_strikes_and_warnings(pair, clock):
    # Each task is given after the previous sanction, so each offence is a new step on the ladder.
    for task_id, flag in (("t1", "hallucinated"), ("t2", "scope_drift"), ("t3", "format_violation")):
        give(pair, task_id)
        clock.advance(seconds=1)
        pair.report(task_id, **{flag: True})
        clock.advance(seconds=1)

    body = pair.worker(GPT)

    assert (body["active_strikes"], body["active_warnings"]) == (1, 2)


def test_strikes_and_warnings_stop_counting_when_their_window_ends(pair, clock):
    give(pair, "t1")
    pair.report("t1", hallucinated=True)
    clock.advance(seconds=1)
    give(pair, "t2")  # given after the strike: its drift earns a warning of its own
    clock.advance(seconds=1)
    pair.report("t2", scope_drift=True)
    assert (pair.worker(GPT)["active_strikes"], pair.worker(GPT)["active_warnings"]) == (1, 1)

    clock.advance(days=91)
    assert (pair.worker(GPT)["active_strikes"], pair.worker(GPT)["active_warnings"]) == (1, 0)
    clock.advance(days=90)
    assert (pair.worker(GPT)["active_strikes"], pair.worker(GPT)["active_warnings"]) == (0, 0)


def test_an_overturned_strike_no_longer_counts(pair, director):
    give(pair, "t1")
    pair.report("t1", hallucinated=True)
    strike = DisciplinaryAction.objects.get(action="STRIKE")
    DisciplinaryAction.objects.create(
        worker=strike.worker,
        action="OVERTURN",
        reason="the output was right after all",
        actor_kind="DIRECTOR",
        actor=director,
        policy_version=strike.policy_version,
        overturns=strike,
        created_at=timezone.now(),
    )

    assert pair.worker(GPT)["active_strikes"] == 0


# --- the disciplinary record ----------------------------------------------------------------------


@pytest.fixture
def history(pair, clock, make_metrics):
    """A record built over three days: a strike, a score, and a warning."""
    give(pair, "t1")
    pair.report("t1", hallucinated=True)  # day 0: incident, penalty, strike, penalty score
    clock.advance(days=1)
    pair.score({"model_id": GPT, "metrics": make_metrics(70), "penalties": []})  # day 1: score
    clock.advance(days=1)
    give(pair, "t2")  # given after the strike, so its offence is a new step
    pair.report("t2", format_violation=True)  # day 2: incident, penalty, warning, demotion, penalty score
    return pair


def test_the_record_lists_actions_penalties_scores_and_incidents_newest_first(history):
    body = history.get(f"/api/workers/{GPT}/record/")

    entries = body["results"]
    assert body["count"] == len(entries) == 10
    stamps = [e["at"] for e in entries]
    assert stamps == sorted(stamps, reverse=True)
    assert {e["type"] for e in entries} == {"action", "penalty", "score", "incident"}
    newest_day = [e for e in entries if e["at"] == stamps[0]]
    assert sorted(e["type"] for e in newest_day) == ["action", "action", "incident", "penalty", "score"]
    oldest = [e for e in entries if e["at"] == stamps[-1]]
    assert {e["data"].get("action") for e in oldest if e["type"] == "action"} == {"STRIKE"}
    actions = [e["data"] for e in entries if e["type"] == "action"]
    assert all(a["actor"] == "HR" and a["policy_version"] for a in actions)
    incidents = [e["data"] for e in entries if e["type"] == "incident"]
    assert [i["violations"] for i in incidents] == [[["format_violation", 1]], [["hallucination", 3]]]


def test_the_record_pages_with_limit_and_offset_without_gaps_or_repeats(history):
    everything = history.get(f"/api/workers/{GPT}/record/")["results"]

    pages = [history.get(f"/api/workers/{GPT}/record/", {"limit": 4, "offset": o}) for o in (0, 4, 8)]

    assert [len(p["results"]) for p in pages] == [4, 4, 2]
    assert [e for p in pages for e in p["results"]] == everything
    assert all(p["count"] == 10 for p in pages)
    assert (pages[1]["offset"], pages[1]["limit"]) == (4, 4)
    assert history.get(f"/api/workers/{GPT}/record/", {"offset": 10})["results"] == []


def test_a_workers_record_holds_only_its_own_entries(history):
    body = history.get(f"/api/workers/{LLAMA}/record/")

    assert (body["count"], body["results"]) == (0, [])


# --- incidents ------------------------------------------------------------------------------------


@pytest.fixture
def incidents(pair, clock):
    """Three incidents over three days: GPT hallucinates (sev 3), LLAMA drifts (sev 2), GPT repeats (sev 4)."""
    for task_id, model_id in (("t1", GPT), ("t2", LLAMA)):
        give(pair, task_id, model_id)
    start = clock.now
    pair.report("t1", hallucinated=True)
    clock.advance(days=1)
    pair.report("t2", scope_drift=True)
    clock.advance(days=1)
    give(pair, "t3", GPT)  # given after GPT's strike, so the repeat is a new step
    pair.report("t3", hallucinated=True)
    return pair, start


def listed(api, **params) -> list[tuple[str, str, int]]:
    page = api.get("/api/incidents/", params)
    return [(i["model_id"], i["task_id"], i["severity"]) for i in page["results"]]


def test_the_incident_list_is_newest_first(incidents):
    api, _ = incidents

    assert listed(api) == [(GPT, "t3", 4), (LLAMA, "t2", 2), (GPT, "t1", 3)]


def test_the_incident_list_filters_by_worker(incidents):
    api, _ = incidents

    assert listed(api, worker=GPT) == [(GPT, "t3", 4), (GPT, "t1", 3)]
    assert listed(api, worker="acme/nobody") == []


def test_the_incident_list_filters_by_severity_and_status(incidents):
    api, _ = incidents
    Incident.objects.filter(task__task_id="t2").update(status="CLOSED")

    assert listed(api, severity=4) == [(GPT, "t3", 4)]
    assert listed(api, status="CLOSED") == [(LLAMA, "t2", 2)]
    assert listed(api, status="ACTIONED", worker=GPT, severity=3) == [(GPT, "t1", 3)]


def test_the_incident_list_filters_by_date(incidents):
    api, start = incidents
    day = timedelta(days=1)

    assert listed(api, since=(start + day).isoformat()) == [(GPT, "t3", 4), (LLAMA, "t2", 2)]
    assert listed(api, until=(start + day).isoformat()) == [(GPT, "t1", 3)]
    assert listed(api, since=(start + day).isoformat(), until=(start + 2 * day).isoformat()) == [(LLAMA, "t2", 2)]


def test_an_incident_date_filter_without_a_zone_is_read_as_utc(incidents):
    # Regression: this was a 500, as the view called django.utils.timezone.utc, which Django 5 removed.
    api, start = incidents
    naive = (start + timedelta(days=2)).replace(tzinfo=None).isoformat()

    assert listed(api, since=naive) == [(GPT, "t3", 4)]
    assert listed(api, until=naive) == [(LLAMA, "t2", 2), (GPT, "t1", 3)]


def test_the_incident_list_is_paged(incidents):
    api, _ = incidents

    page = api.get("/api/incidents/", {"limit": 2})

    assert page["count"] == 3
    assert len(page["results"]) == 2 and page["next"]


def test_an_incident_shows_its_evidence_and_decision(pair):
    give(pair, "t1")
    logs = [f"line {i}" for i in range(9)]
    reported = pair.report("t1", logs=logs, hallucinated=True, duration_ms=61_000)

    body = pair.get(f"/api/incidents/{reported['incident_id']}/")

    assert body["id"] == reported["incident_id"]
    assert (body["model_id"], body["task_id"], body["severity"], body["status"]) == (GPT, "t1", 3, "ACTIONED")
    assert body["violations"] == [["hallucination", 3], ["timeout", 2]]
    assert body["evidence"] == logs[-5:]
    assert body["settings_version"] == reported["policy_version"]
    assert body["resolved_at"] is None


def test_an_auditor_reads_incidents_and_records(pair, auditor_key):
    give(pair, "t1")
    reported = pair.report("t1", hallucinated=True)

    assert auditor_key.get(f"/api/incidents/{reported['incident_id']}/").status_code == 200
    assert auditor_key.get(f"/api/workers/{GPT}/record/").json()["count"] > 0


# --- audit runs -----------------------------------------------------------------------------------


def test_a_batch_is_accepted_with_its_run_id_and_its_progress_can_be_read(pair):
    give(pair, "t1")
    reports = [
        {"task_id": "t1", "logs": ["ok"], "hallucinated": False, "duration_ms": 5, "scope_drift": False},
        {"task_id": "nope", "logs": [], "hallucinated": True, "duration_ms": 5, "scope_drift": False},
    ]

    accepted = pair.post("/api/audit/batch/", {"reports": reports}, expect=202)

    assert (accepted["status"], accepted["total"]) == ("PENDING", 2)
    pending = pair.get(f"/api/audit-runs/{accepted['id']}/")
    assert (pending["status"], pending["processed"]) == ("PENDING", 0)

    audit_run_process(run_id=accepted["id"])  # what the Celery worker runs

    done = pair.get(f"/api/audit-runs/{accepted['id']}/")
    assert (done["status"], done["processed"], done["total"]) == ("DONE", 2, 2)
    first, second = done["results"]
    assert (first["status"], first["result"]["status"]) == ("DONE", "clean")
    assert (second["status"], second["result"]["status"]) == ("REJECTED", 404)
    assert "task_id" in second["result"]["error"]


def test_a_batch_run_is_processed_once_however_often_it_is_delivered(pair, counts):
    give(pair, "t1")
    report = {"task_id": "t1", "logs": ["x"], "hallucinated": True, "duration_ms": 5, "scope_drift": False}
    run, _ = audit_run_submit(reports=[report], actor=TEST_MANAGER, now=timezone.now())
    audit_run_process(run_id=run.id)
    before = counts()

    audit_run_process(run_id=run.id)

    assert counts() == before
    assert Incident.objects.count() == 1
