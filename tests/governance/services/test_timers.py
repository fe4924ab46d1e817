"""Time's own work, by time travel: every service here takes `now`, so the tests pass the clock they want."""

import io
from datetime import datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import DataError, transaction
from django.utils import timezone

from governance.domain.detection import Violation
from governance.models import AuditRecord, DisciplinaryAction, Incident, Penalty
from governance.selectors import settings_current, worker_standing
from governance.services import timers as timers_module
from governance.services.discipline import director_intervene, hr_decide
from governance.services.reports import ReportInput, report_submit
from governance.services.timers import silent_workers_sweep, timers_expire
from workforce.domain.actor import MANAGER, SWEEPER, TIMERS, service_key
from workforce.models import Assignment, Task, Worker
from workforce.services.tasks import task_complete, task_register

TEST_MANAGER = service_key("test-manager", MANAGER)  # the Manager's key, for service calls

pytestmark = pytest.mark.django_db

SECOND = timedelta(seconds=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@pytest.fixture
def t0() -> datetime:
    return timezone.now().replace(microsecond=0)


def hire(model_id: str, capabilities=("code",), **fields) -> Worker:
    return Worker.objects.create(model_id=model_id, capabilities=list(capabilities), **fields)


def reinstatements(worker: Worker):
    return DisciplinaryAction.objects.filter(worker=worker, action="REINSTATE")


# --- Cooldowns and suspensions ------------------------------------------------------------------------------


def test_a_cooldown_ends_at_its_time_as_an_expired_reinstatement_and_not_a_second_before(director, t0):
    worker = hire("cooling")
    director_intervene(worker=worker, action="WARNING", reason="sloppy", actor=director, now=t0)
    worker.refresh_from_db()
    assert worker.status == Worker.Status.COOLDOWN
    ends = worker.cooldown_until
    assert ends == t0 + timedelta(minutes=settings_current().cooldown_minutes)

    assert timers_expire(actor=TIMERS, now=ends - SECOND) == 0
    worker.refresh_from_db()
    assert worker.status == Worker.Status.COOLDOWN
    assert not reinstatements(worker).exists()

    assert timers_expire(actor=TIMERS, now=ends) == 1
    worker.refresh_from_db()
    assert worker.status == Worker.Status.ACTIVE
    assert worker.cooldown_until is None
    (ended,) = reinstatements(worker)
    assert ended.reason == "expired"
    assert ended.actor_kind == DisciplinaryAction.Actor.SYSTEM
    assert ended.created_at == ends


def test_a_suspension_ends_at_its_time_as_an_expired_reinstatement_and_not_a_second_before(director, t0):
    worker = hire("suspended")
    director_intervene(worker=worker, action="SUSPEND", reason="investigation", actor=director, now=t0)
    worker.refresh_from_db()
    ends = worker.suspended_until
    assert ends == t0 + timedelta(hours=settings_current().suspension_hours)

    assert timers_expire(actor=TIMERS, now=ends - SECOND) == 0
    worker.refresh_from_db()
    assert worker.status == Worker.Status.SUSPENDED

    assert timers_expire(actor=TIMERS, now=ends + timedelta(hours=5)) == 1  # a late sweep ends it all the same
    worker.refresh_from_db()
    assert worker.status == Worker.Status.ACTIVE
    assert worker.suspended_until is None
    (ended,) = reinstatements(worker)
    assert (ended.reason, ended.actor_kind) == ("expired", DisciplinaryAction.Actor.SYSTEM)


def test_an_ended_timer_is_not_ended_twice(director, t0):
    worker = hire("once")
    director_intervene(worker=worker, action="WARNING", reason="late", actor=director, now=t0)
    worker.refresh_from_db()
    ends = worker.cooldown_until

    assert timers_expire(actor=TIMERS, now=ends) == 1
    assert timers_expire(actor=TIMERS, now=ends + SECOND) == 0
    assert timers_expire(actor=TIMERS, now=ends + timedelta(days=1)) == 0
    assert reinstatements(worker).count() == 1


def test_only_the_timers_that_are_due_end(director, t0):
    due, later, idle = hire("due"), hire("later"), hire("idle")
    director_intervene(worker=due, action="WARNING", reason="a", actor=director, now=t0)
    director_intervene(worker=later, action="SUSPEND", reason="b", actor=director, now=t0)

    assert timers_expire(actor=TIMERS, now=t0 + timedelta(hours=2)) == 1

    statuses = dict(Worker.objects.values_list("model_id", "status"))
    assert statuses == {"due": "ACTIVE", "later": "SUSPENDED", "idle": "ACTIVE"}
    assert not reinstatements(idle).exists()


# --- Silent workers -----------------------------------------------------------------------------------------


@pytest.fixture
def silent_setup(t0):
    """A worker given a task at t0 that never reports, and a spare who could take it."""
    silent, spare = hire("silent"), hire("spare")
    task_register(actor=TEST_MANAGER, task_id="quiet-task", capability="code", priority=5, model_id="silent", now=t0)
    timeout = timedelta(minutes=settings_current().silent_timeout_minutes)
    assert timeout == timedelta(minutes=30)
    return silent, spare, timeout


def test_an_attempt_silent_past_the_timeout_becomes_a_timeout_incident_and_the_task_is_reassigned(silent_setup, t0):
    silent, spare, timeout = silent_setup
    attempt = Assignment.objects.get(worker=silent)

    assert silent_workers_sweep(actor=SWEEPER, now=t0 + timeout - SECOND) == 0
    assert not AuditRecord.objects.exists()

    assert silent_workers_sweep(actor=SWEEPER, now=t0 + timeout) == 1

    record = AuditRecord.objects.get()
    assert record.report_id == f"silent:{attempt.pk}"
    assert record.outcome == AuditRecord.Outcome.VIOLATION
    assert record.worker == silent
    assert record.duration_ms == timeout.total_seconds() * 1000
    incident = Incident.objects.get()
    assert incident.violations == [["timeout", 2]]
    assert record.incident == incident
    assert Penalty.objects.get(incident=incident).reason == "timeout"
    # The same HR path as any report: the worker is disciplined by policy.
    warning = DisciplinaryAction.objects.get(worker=silent, action="WARNING")
    assert (warning.actor_kind, warning.incident) == (DisciplinaryAction.Actor.HR, incident)
    silent.refresh_from_db()
    assert silent.status == Worker.Status.COOLDOWN
    # And the task moves on.
    attempt.refresh_from_db()
    assert attempt.ended_at == t0 + timeout
    assert attempt.outcome == Assignment.Outcome.FAILED
    task = Task.objects.get(task_id="quiet-task")
    assert task.current_worker == spare
    assert Assignment.objects.get(task=task, ended_at__isnull=True).worker == spare


def test_a_second_sweep_does_not_report_the_same_silence_twice(silent_setup, t0):
    silent, spare, timeout = silent_setup
    assert silent_workers_sweep(actor=SWEEPER, now=t0 + timeout) == 1
    counts = (AuditRecord.objects.count(), Incident.objects.count(), DisciplinaryAction.objects.count())

    assert silent_workers_sweep(actor=SWEEPER, now=t0 + timeout) == 0
    assert silent_workers_sweep(actor=SWEEPER, now=t0 + timeout + timedelta(minutes=10)) == 0

    assert (AuditRecord.objects.count(), Incident.objects.count(), DisciplinaryAction.objects.count()) == counts
    assert AuditRecord.objects.filter(worker=silent).count() == 1


def test_the_next_worker_on_the_task_has_its_own_timeout(silent_setup, t0):
    silent, spare, timeout = silent_setup
    assert silent_workers_sweep(actor=SWEEPER, now=t0 + timeout) == 1

    assert silent_workers_sweep(actor=SWEEPER, now=t0 + 2 * timeout - SECOND) == 0
    assert silent_workers_sweep(actor=SWEEPER, now=t0 + 2 * timeout) == 1

    assert AuditRecord.objects.filter(worker=spare, error_kind="silent").count() == 1


def test_an_attempt_that_reported_in_time_is_not_silent(silent_setup, t0):
    silent, spare, timeout = silent_setup
    report_submit(
        actor=TEST_MANAGER,
        report=ReportInput(task_id="quiet-task", model_id="silent", duration_ms=2_000),
        report_id="in-time",
        now=t0 + timedelta(minutes=10),
    )

    assert silent_workers_sweep(actor=SWEEPER, now=t0 + 3 * timeout) == 0
    assert AuditRecord.objects.count() == 1
    assert not Incident.objects.exists()


def test_a_finished_task_is_not_silent(silent_setup, t0):
    silent, spare, timeout = silent_setup
    task_complete(actor=TEST_MANAGER, task=Task.objects.get(task_id="quiet-task"), now=t0 + timedelta(minutes=5))

    assert silent_workers_sweep(actor=SWEEPER, now=t0 + 3 * timeout) == 0
    assert not AuditRecord.objects.exists()


# --- Warnings and strikes stop counting -------------------------------------------------------------------


def test_strikes_and_warnings_stop_counting_after_their_windows_but_their_records_stay(director, t0):
    worker = hire("record")
    director_intervene(worker=worker, action="STRIKE", reason="hallucinated", actor=director, now=t0)
    director_intervene(worker=worker, action="WARNING", reason="late", actor=director, now=t0)
    s = settings_current()
    assert (s.strike_active_days, s.warning_active_days) == (180, 90)

    def standing(days: float) -> dict:
        return worker_standing(worker=worker, now=t0 + timedelta(days=days), s=s)

    assert standing(0) == {"active_strikes": 1, "active_warnings": 1}
    assert standing(89.99) == {"active_strikes": 1, "active_warnings": 1}
    assert standing(90) == {"active_strikes": 1, "active_warnings": 0}
    assert standing(179.99) == {"active_strikes": 1, "active_warnings": 0}
    assert standing(180) == {"active_strikes": 0, "active_warnings": 0}
    assert standing(400) == {"active_strikes": 0, "active_warnings": 0}
    assert sorted(DisciplinaryAction.objects.filter(worker=worker).values_list("action", flat=True)) == [
        "STRIKE",
        "WARNING",
    ]


def test_expired_strikes_no_longer_bring_termination_closer(director, t0):
    worker = hire("reformed")
    for day in (0, 1):
        director_intervene(
            worker=worker, action="STRIKE", reason="old hallucination", actor=director, now=t0 + timedelta(days=day)
        )
    hallucination = [Violation("hallucination", 3)]
    s = settings_current()

    fresh = hr_decide(worker=worker, violations=hallucination, settings=s, now=t0 + timedelta(days=100))
    lapsed = hr_decide(worker=worker, violations=hallucination, settings=s, now=t0 + timedelta(days=181))

    assert "TERMINATE" in fresh.actions  # two active strikes and this one: three
    assert lapsed.actions == ["STRIKE"]


# --- The command twin ---------------------------------------------------------------------------------------


def test_run_timers_ends_what_is_due_and_reports_the_silent(director):
    now = timezone.now()
    cooling = hire("cmd-cooling", capabilities=["review"])
    director_intervene(worker=cooling, action="WARNING", reason="x", actor=director, now=now - timedelta(hours=2))
    hire("cmd-silent")
    hire("cmd-spare")
    task_register(
        actor=TEST_MANAGER,
        task_id="cmd-task",
        capability="code",
        priority=5,
        model_id="cmd-silent",
        now=now - timedelta(hours=1),
    )
    out = io.StringIO()

    call_command("run_timers", stdout=out)

    assert "1 timers ended, 1 silent attempts reported." in out.getvalue()
    cooling.refresh_from_db()
    assert cooling.status == Worker.Status.ACTIVE
    assert Task.objects.get(task_id="cmd-task").current_worker.model_id == "cmd-spare"


# --- A sweep that old or failing attempts cannot stop -------------------------------------------------------


def test_an_attempt_silent_for_months_is_reported_with_its_wait_capped_to_what_the_column_holds(t0):
    hire("forgotten")
    hire("spare")
    task_register(
        actor=TEST_MANAGER,
        task_id="forgotten-task",
        capability="code",
        priority=5,
        model_id="forgotten",
        now=t0 - 60 * DAY,
    )

    assert silent_workers_sweep(actor=SWEEPER, now=t0) == 1

    # 60 days in milliseconds overflows PostgreSQL's integer column (a DataError that stopped every sweep).
    assert AuditRecord.objects.get().duration_ms == timers_module.DURATION_MS_MAX == 2**31 - 1


def test_an_attempt_the_database_refuses_does_not_stop_the_sweep_for_the_others(t0, monkeypatch, caplog):
    for model_id in ("first", "second", "spare"):
        hire(model_id)
    task_register(
        actor=TEST_MANAGER, task_id="first-task", capability="code", priority=5, model_id="first", now=t0 - 2 * HOUR
    )
    task_register(
        actor=TEST_MANAGER, task_id="second-task", capability="code", priority=5, model_id="second", now=t0 - HOUR
    )
    first = Assignment.objects.get(worker__model_id="first")
    real_submit = timers_module.report_submit

    def refused_for_the_first(*, report, report_id, now, actor):
        if report_id == f"silent:{first.pk}":
            with transaction.atomic():  # as report_submit's own transaction would be when the error came
                raise DataError("integer out of range")
        return real_submit(report=report, report_id=report_id, now=now, actor=actor)

    monkeypatch.setattr(timers_module, "report_submit", refused_for_the_first)

    assert silent_workers_sweep(actor=SWEEPER, now=t0) == 1

    assert list(AuditRecord.objects.values_list("worker__model_id", flat=True)) == ["second"]
    assert f"silent attempt {first.pk} not reported" in caplog.text
    # The next sweep, with the database willing, reports the first one.
    monkeypatch.setattr(timers_module, "report_submit", real_submit)
    assert silent_workers_sweep(actor=SWEEPER, now=t0) == 1
