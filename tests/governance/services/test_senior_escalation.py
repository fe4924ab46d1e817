"""Escalation for senior workers: a SENIOR's or PRINCIPAL's suspension or termination waits for the Director, the
worker out of routing meanwhile, and applies itself when the time runs out unanswered. Every service here takes
`now`, so the tests pass the clock they want."""

from datetime import timedelta

import pytest
from django.utils import timezone

from aura_project.errors import DomainError
from governance.models import DisciplinaryAction, PendingSanction
from governance.selectors import settings_current
from governance.services.discipline import enforcement_run
from governance.services.reports import ReportInput, report_submit
from governance.services.review import CONFIRM, DISMISS, sanction_review
from governance.services.scoring import score_record
from governance.services.settings import settings_problems, settings_publish
from governance.services.timers import timers_expire
from workforce.domain.actor import MANAGER, TIMERS, service_key
from workforce.models import Event, Task, Worker
from workforce.services.tasks import task_assign_now, task_register
from workforce.services.workers import worker_hire

pytestmark = pytest.mark.django_db

MANAGER_KEY = service_key("manager", MANAGER)
SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
SENIOR, MID, JUNIOR, PRINCIPAL = "acme/senior", "acme/mid", "acme/junior", "acme/principal"


@pytest.fixture
def t0():
    return timezone.now().replace(microsecond=0)


def escalation_minutes(director, minutes: dict) -> None:
    draft = settings_current()
    draft.escalation_minutes = minutes
    settings_publish(draft=draft, note=f"escalation {minutes}", actor=director)


@pytest.fixture
def escalating(director):
    """The Director's settings: a senior's or principal's sanction waits 30 minutes."""
    escalation_minutes(director, {"SENIOR": 30, "PRINCIPAL": 30})


@pytest.fixture
def crew(db):
    """A SENIOR coder, ranked first, and a MID one to take its work."""
    return {
        model_id: worker_hire(model_id=model_id, capabilities=["code"], tier=tier, actor=MANAGER_KEY)
        for model_id, tier in [(SENIOR, "SENIOR"), (MID, "MID")]
    }


def worker(model_id: str) -> Worker:
    return Worker.objects.get(model_id=model_id)


def suspend(model_id: str, now) -> dict:
    """HR's ladder on the Manager's /enforce: a repeat offense's policy is SUSPEND, and nothing else."""
    return enforcement_run(
        model_id=model_id, violations=[("repeat_offense", 4)], history=[], now=now, actor=MANAGER_KEY
    )


def register(task_id: str, now, model_id: str | None = None, priority: int = 5) -> Task:
    return task_register(
        task_id=task_id, capability="code", priority=priority, model_id=model_id, now=now, actor=MANAGER_KEY
    )


def routed(task_id: str, now) -> str | None:
    """A new task, given to the best eligible worker: whom routing chose."""
    chosen = task_assign_now(task=register(task_id, now), model_id=None, now=now, actor=MANAGER_KEY)
    return chosen.model_id if chosen else None


def suspensions(model_id: str):
    return DisciplinaryAction.objects.filter(worker__model_id=model_id, action="SUSPEND")


def test_a_seniors_suspension_waits_for_the_director_out_of_routing_and_the_inbox_says_so(crew, escalating, t0):
    task = register("t1", t0, model_id=SENIOR)

    answer = suspend(SENIOR, t0)

    assert (answer["actions"], answer["held_for_review"], answer["worker_status"]) == (
        ["SUSPEND"],
        ["SUSPEND"],
        "ACTIVE",
    )
    held = PendingSanction.objects.get()
    assert (held.kind, held.status, held.action, held.spike) == ("ESCALATION", "PENDING", "SUSPEND", None)
    assert held.apply_at == t0 + timedelta(minutes=30)
    assert held.actor_label == "key:manager" and held.actor_kind == "HR"
    assert worker(SENIOR).status == "ACTIVE" and not suspensions(SENIOR).exists()
    event = Event.objects.get(kind="sanction.escalated")
    assert event.model_id == SENIOR
    assert event.payload | {"reason": None} == {
        "action": "SUSPEND",
        "reason": None,
        "pending_id": held.pk,
        "tier": "SENIOR",
        "apply_at": held.apply_at.isoformat(),
        "actor": "key:manager",
        "incident_id": None,
    }
    # Out of routing: its task went on to the MID, a new task goes there too, and naming it is refused.
    task.refresh_from_db()
    assert task.current_worker.model_id == MID
    assert routed("t2", t0 + MINUTE) == MID
    with pytest.raises(DomainError, match="a sanction on it awaits the Director's answer"):
        register("t3", t0 + MINUTE, model_id=SENIOR)


def test_a_seniors_suspension_applies_itself_when_the_time_runs_out_and_not_a_second_before(crew, escalating, t0):
    suspend(SENIOR, t0)
    held = PendingSanction.objects.get()

    assert timers_expire(now=held.apply_at - SECOND, actor=TIMERS) == 0
    held.refresh_from_db()
    assert held.status == "PENDING" and worker(SENIOR).status == "ACTIVE"
    assert not suspensions(SENIOR).exists()

    assert timers_expire(now=held.apply_at, actor=TIMERS) == 1

    held.refresh_from_db()
    senior = worker(SENIOR)
    assert senior.status == "SUSPENDED"
    assert senior.suspended_until == held.apply_at + timedelta(hours=settings_current().suspension_hours)
    (applied,) = suspensions(SENIOR)
    assert (applied.actor_kind, applied.actor_label, applied.actor_id) == ("SYSTEM", "system:timers", None)
    assert applied.reason.startswith("escalated, applied after 30 minutes without the Director's answer: ")
    assert applied.created_at == held.apply_at
    assert (held.status, held.applied, held.decided_at, held.decided_by) == ("APPLIED", applied, held.apply_at, None)
    assert held.decision_reason == "system:timers: applied after 30 minutes without the Director's answer"
    told = Event.objects.get(kind="sanction.applied_itself")
    assert told.model_id == SENIOR
    assert told.payload["pending_id"] == held.pk and told.payload["action_id"] == applied.pk
    assert told.payload["reason"] == "applied after 30 minutes without the Director's answer"
    # Applied once: a later run finds nothing more to do, and the Director can no longer answer it.
    assert timers_expire(now=held.apply_at + MINUTE, actor=TIMERS) == 0
    assert suspensions(SENIOR).count() == 1


def test_a_dismissal_cancels_it_and_the_worker_is_routable_again(crew, escalating, t0, director):
    suspend(SENIOR, t0)
    held = PendingSanction.objects.get()

    sanction_review(sanction=held, decision=DISMISS, reason="the logs show no drift", actor=director, now=t0 + MINUTE)

    held.refresh_from_db()
    assert (held.status, held.decided_by, held.applied) == ("DISMISSED", director, None)
    assert timers_expire(now=held.apply_at + timedelta(hours=1), actor=TIMERS) == 0
    assert worker(SENIOR).status == "ACTIVE" and not suspensions(SENIOR).exists()
    assert routed("t2", t0 + timedelta(hours=1)) == SENIOR  # ranked first again
    reviewed = Event.objects.get(kind="sanction.reviewed")
    assert (reviewed.payload["decision"], reviewed.payload["held_as"]) == ("DISMISSED", "ESCALATION")


def test_a_confirmation_applies_it_at_once_naming_the_director(crew, escalating, t0, director):
    suspend(SENIOR, t0)
    held = PendingSanction.objects.get()

    sanction_review(sanction=held, decision=CONFIRM, reason="repeat confirmed", actor=director, now=t0 + 5 * MINUTE)

    held.refresh_from_db()
    assert held.status == "CONFIRMED" and held.decided_by == director
    assert (held.applied.action, held.applied.actor, held.applied.actor_kind) == ("SUSPEND", director, "DIRECTOR")
    assert held.applied.reason == "escalated, confirmed: repeat confirmed"
    assert worker(SENIOR).suspended_until == t0 + 5 * MINUTE + timedelta(hours=settings_current().suspension_hours)
    assert timers_expire(now=held.apply_at, actor=TIMERS) == 0
    assert suspensions(SENIOR).count() == 1


def test_the_timer_cannot_apply_what_the_director_already_decided(crew, escalating, t0, director):
    suspend(SENIOR, t0)
    held = PendingSanction.objects.get()
    timers_expire(now=held.apply_at, actor=TIMERS)

    with pytest.raises(DomainError, match="already applied"):
        sanction_review(sanction=held, decision=DISMISS, reason="too late", actor=director, now=held.apply_at)


def test_a_juniors_suspension_applies_at_once(escalating, t0):
    worker_hire(model_id=JUNIOR, capabilities=["code"], actor=MANAGER_KEY)

    answer = suspend(JUNIOR, t0)

    assert (answer["held_for_review"], answer["worker_status"]) == ([], "SUSPENDED")
    assert not PendingSanction.objects.exists()
    assert not Event.objects.filter(kind="sanction.escalated").exists()


def test_the_wait_is_set_per_tier_and_zero_means_at_once(crew, director, t0):
    escalation_minutes(director, {"SENIOR": 10, "PRINCIPAL": 0})
    worker_hire(model_id=PRINCIPAL, capabilities=["code"], tier="PRINCIPAL", actor=MANAGER_KEY)

    assert suspend(PRINCIPAL, t0)["worker_status"] == "SUSPENDED"
    assert suspend(SENIOR, t0)["worker_status"] == "ACTIVE"

    assert PendingSanction.objects.get().apply_at == t0 + timedelta(minutes=10)
    assert timers_expire(now=t0 + 10 * MINUTE, actor=TIMERS) == 1
    assert worker(SENIOR).status == "SUSPENDED"


def test_a_tier_absent_from_the_setting_does_not_wait(crew, director, t0):
    escalation_minutes(director, {"PRINCIPAL": 30})

    assert suspend(SENIOR, t0)["worker_status"] == "SUSPENDED"
    assert not PendingSanction.objects.exists()


def test_a_second_suspension_while_one_waits_is_covered_by_it(crew, escalating, t0):
    suspend(SENIOR, t0)
    suspend(SENIOR, t0 + MINUTE)

    assert PendingSanction.objects.count() == 1
    assert Event.objects.filter(kind="sanction.escalated").count() == 1


def test_a_seniors_suspension_by_the_report_path_waits_too_and_its_strike_applies(crew, escalating, t0):
    """A second hallucination is a strike and a repeat offense: the strike applies, the suspension waits."""
    for n in range(2):
        register(f"h{n}", t0 + n * MINUTE, model_id=SENIOR)
        report = ReportInput(task_id=f"h{n}", model_id=SENIOR, hallucinated=True)
        body = report_submit(report=report, report_id=f"r{n}", now=t0 + n * MINUTE + SECOND, actor=MANAGER_KEY).body

    assert (body["actions"], body["held_for_review"]) == (["STRIKE"], ["SUSPEND"])
    held = PendingSanction.objects.get()
    assert (held.kind, held.action, str(held.incident_id)) == ("ESCALATION", "SUSPEND", body["incident_id"])
    assert worker(SENIOR).status == "ACTIVE"
    assert Task.objects.get(task_id="h1").current_worker.model_id == MID  # the reported task went on as usual

    timers_expire(now=held.apply_at, actor=TIMERS)

    assert worker(SENIOR).status == "SUSPENDED"
    assert suspensions(SENIOR).get().incident_id == held.incident_id


def test_the_accountants_termination_of_a_senior_waits_too(crew, escalating, t0):
    Worker.objects.filter(model_id=SENIOR).update(reputation=20, scored_runs=4, runs_since_tier_change=4)
    metrics = {
        name: 0 for name in ("confidence", "consistency", "accuracy", "productivity", "initiative", "discipline")
    }

    score_record(model_id=SENIOR, metrics=metrics, penalties=[], previous_score=None, now=t0, actor=MANAGER_KEY)

    held = PendingSanction.objects.get()
    assert (held.kind, held.action, held.actor_kind) == ("ESCALATION", "TERMINATE", "ACCOUNTANT")
    assert worker(SENIOR).status == "ACTIVE"
    timers_expire(now=held.apply_at, actor=TIMERS)
    assert worker(SENIOR).status == "TERMINATED"


def test_a_seniors_sanction_in_a_spike_stays_a_spike_hold(escalating, t0):
    fleet = [
        worker_hire(model_id=f"acme/w{n}", provider="acme", capabilities=["code"], actor=MANAGER_KEY) for n in range(9)
    ]
    for n, each in enumerate(fleet):  # every report flagged: everyone warned within minutes
        register(f"s{n}", t0 + n * 10 * SECOND, model_id=each.model_id)
        report = ReportInput(task_id=f"s{n}", model_id=each.model_id, scope_drift=True)
        report_submit(report=report, report_id=f"s{n}", now=t0 + n * 10 * SECOND + SECOND, actor=MANAGER_KEY)
    Worker.objects.filter(pk=fleet[0].pk).update(tier="SENIOR")
    register("again", t0 + 5 * MINUTE, model_id=fleet[0].model_id, priority=2)  # low priority: it is cooling down
    report = ReportInput(task_id="again", model_id=fleet[0].model_id, scope_drift=True)

    body = report_submit(report=report, report_id="again", now=t0 + 5 * MINUTE + SECOND, actor=MANAGER_KEY).body

    assert body["held_for_review"] == ["SUSPEND"]
    held = PendingSanction.objects.get()
    assert (held.kind, held.apply_at) == ("SPIKE", None) and held.spike is not None
    assert not Event.objects.filter(kind="sanction.escalated").exists()


def in_force_with(value) -> dict:
    current = settings_current()
    return {f.name: getattr(current, f.name) for f in current._meta.concrete_fields} | {"escalation_minutes": value}


@pytest.mark.parametrize(
    "value",
    [
        {"JUNIOR": 30},  # juniors never wait
        {"SENIOR": -1},
        {"SENIOR": "30"},
        {"SENIOR": True},
        {"SENIOR": 7 * 24 * 60 + 1},
        [30, 30],
    ],
)
def test_a_bad_escalation_setting_is_refused_naming_the_field(value, director):
    assert set(settings_problems(in_force_with(value))) == {"escalation_minutes"}
    draft = settings_current()
    draft.escalation_minutes = value
    with pytest.raises(DomainError) as refused:
        settings_publish(draft=draft, note="bad", actor=director)
    assert refused.value.field == "escalation_minutes"


@pytest.mark.parametrize("value", [{}, {"SENIOR": 0}, {"SENIOR": 30, "PRINCIPAL": 60}])
def test_a_good_escalation_setting_passes(value):
    assert settings_problems(in_force_with(value)) == {}
