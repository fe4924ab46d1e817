"""The spike guard: a fleet-wide jump in sanctions holds suspensions and terminations for the Director."""

from datetime import timedelta

import pytest
from django.utils import timezone

from governance.models import DisciplinaryAction, GovernanceSettings, Incident, PendingSanction, Spike
from governance.services.reports import ReportInput, report_submit
from governance.services.review import CONFIRM, DISMISS, sanction_review, spike_dismiss
from workforce.domain.actor import MANAGER, service_key
from workforce.models import Event, Worker
from workforce.services.tasks import task_register
from workforce.services.workers import worker_hire

MANAGER_KEY = service_key("manager", MANAGER)
FLEET = 9


@pytest.fixture
def t0():
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def fleet(db):
    return [
        worker_hire(model_id=f"acme/w{n}", provider="acme", capabilities=["code"], actor=MANAGER_KEY)
        for n in range(FLEET)
    ]


_serial = iter(range(10**6))


def flagged(worker: Worker, at, **flags) -> dict:
    """Give the worker a task at `at` and report it flagged a second later."""
    n = next(_serial)
    task_register(task_id=f"t{n}", capability="code", priority=2, model_id=worker.model_id, now=at, actor=MANAGER_KEY)
    report = ReportInput(task_id=f"t{n}", model_id=worker.model_id, **(flags or {"scope_drift": True}))
    return report_submit(report=report, report_id=f"r{n}", now=at + timedelta(seconds=1), actor=MANAGER_KEY).body


def test_a_broken_detector_holds_the_suspensions_a_third_of_the_fleet_would_get(fleet, t0):
    for n, worker in enumerate(fleet):  # every report flagged: everyone warned within minutes
        assert flagged(worker, t0 + timedelta(seconds=10 * n))["actions"] == ["WARNING"]
    answer = flagged(fleet[0], t0 + timedelta(minutes=5))  # a repeat: the ladder says suspend

    assert answer["actions"] == ["WARNING"]
    assert answer["held_for_review"] == ["SUSPEND"]
    assert Worker.objects.get(pk=fleet[0].pk).status == "COOLDOWN"  # not suspended
    held = PendingSanction.objects.get()
    assert (held.action, held.status, held.worker_id) == ("SUSPEND", "PENDING", fleet[0].pk)
    assert held.incident_id is not None and held.spike.scope == "fleet"
    spike = Event.objects.get(kind="governance.spike")
    assert spike.payload["scope"] == "fleet" and spike.payload["flagged"] == FLEET
    assert spike.payload["settings_version"] == GovernanceSettings.objects.order_by("-version").first().version


def test_a_spike_raises_one_event_however_many_sanctions_it_holds(fleet, t0):
    for n, worker in enumerate(fleet):
        flagged(worker, t0 + timedelta(seconds=10 * n))
    for n, worker in enumerate(fleet):
        flagged(worker, t0 + timedelta(minutes=5, seconds=10 * n))
    assert PendingSanction.objects.count() == FLEET
    assert Event.objects.filter(kind="governance.spike").count() == 1
    assert Spike.objects.get().held == FLEET
    assert not DisciplinaryAction.objects.filter(action__in=["SUSPEND", "TERMINATE"]).exists()


def test_sanctions_at_the_usual_rate_are_applied(fleet, t0):
    flagged(fleet[0], t0)
    answer = flagged(fleet[0], t0 + timedelta(minutes=5))
    assert "SUSPEND" in answer["actions"] and answer["held_for_review"] == []
    assert Worker.objects.get(pk=fleet[0].pk).status == "SUSPENDED"
    assert not Spike.objects.exists()


def test_the_director_confirms_a_held_sanction_and_it_applies_naming_the_director(fleet, t0, director):
    for n, worker in enumerate(fleet):
        flagged(worker, t0 + timedelta(seconds=10 * n))
    flagged(fleet[0], t0 + timedelta(minutes=5))
    held = PendingSanction.objects.get()

    sanction_review(
        sanction=held, decision=CONFIRM, reason="checked the logs", actor=director, now=t0 + timedelta(hours=1)
    )

    held.refresh_from_db()
    assert held.status == "CONFIRMED" and held.decided_by == director
    assert held.applied.action == "SUSPEND" and held.applied.actor == director
    assert Worker.objects.get(pk=fleet[0].pk).status == "SUSPENDED"
    assert Event.objects.filter(kind="sanction.reviewed", payload__decision="CONFIRMED").exists()


def test_a_dismissed_spike_overturns_its_incidents_and_gives_the_points_back(fleet, t0, director):
    before = {w.pk: w.reputation for w in Worker.objects.all()}
    for n, worker in enumerate(fleet):
        flagged(worker, t0 + timedelta(seconds=10 * n))
    flagged(fleet[0], t0 + timedelta(minutes=5))
    assert Worker.objects.get(pk=fleet[0].pk).reputation < before[fleet[0].pk]

    counts = spike_dismiss(
        spike=Spike.objects.get(), reason="broken detector", actor=director, now=t0 + timedelta(hours=1)
    )

    assert counts == {"incidents_overturned": FLEET + 1, "sanctions_dismissed": 1}
    assert set(Incident.objects.values_list("status", flat=True)) == {"OVERTURNED"}
    assert PendingSanction.objects.get().status == "DISMISSED"
    assert {w.pk: w.reputation for w in Worker.objects.all()} == before
    assert set(Worker.objects.values_list("status", flat=True)) == {"ACTIVE"}


def test_a_held_sanction_is_decided_once(fleet, t0, director):
    for n, worker in enumerate(fleet):
        flagged(worker, t0 + timedelta(seconds=10 * n))
    flagged(fleet[0], t0 + timedelta(minutes=5))
    held = PendingSanction.objects.get()
    sanction_review(sanction=held, decision=DISMISS, reason="detector", actor=director, now=t0)
    with pytest.raises(Exception, match="already dismissed"):
        sanction_review(sanction=held, decision=CONFIRM, reason="changed my mind", actor=director, now=t0)


def test_a_spike_ends_a_window_after_it_was_last_measured_and_sanctions_apply_again(fleet, t0):
    for n, worker in enumerate(fleet):
        flagged(worker, t0 + timedelta(seconds=10 * n))
    assert flagged(fleet[0], t0 + timedelta(minutes=5))["held_for_review"] == ["SUSPEND"]
    # Two hours on, one worker offends again: the fleet is quiet, so the ladder's suspension applies.
    answer = flagged(fleet[1], t0 + timedelta(hours=2))
    assert "SUSPEND" in answer["actions"] and answer["held_for_review"] == []
    assert Worker.objects.get(pk=fleet[1].pk).status == "SUSPENDED"
    assert Event.objects.filter(kind="governance.spike").count() == 1
