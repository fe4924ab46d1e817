"""The auditors are audited: each detector's findings, sanctions and overturns over a rolling window, and a detector
in enforce mode that the Director keeps overturning switching itself to observe, telling the Manager's inbox and
the Director with the figures, until the Director switches it back."""

import io
from datetime import timedelta
from itertools import count

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from aura_project.errors import DomainError
from governance.dashboard import dashboard_context
from governance.domain.oversight import ALL_TYPES
from governance.models import AuditRecord, DisciplinaryAction, Finding, GovernanceSettings, Incident
from governance.selectors import settings_current
from governance.selectors_detectors import detector_modes
from governance.selectors_oversight import detector_oversight, oversight_report
from governance.services.detectors import detector_mode_set
from governance.services.oversight import detectors_oversee
from governance.services.overturn import action_overturn
from governance.services.settings import settings_problems, settings_publish
from workforce.domain.actor import OVERSIGHT
from workforce.models import Event, Task, Worker

pytestmark = pytest.mark.django_db

SCHEMA = "format.json_schema"
FLAGS = "manager_flags"
_n = count()


@pytest.fixture
def now():
    return timezone.now().replace(microsecond=0)


def _report(worker: Worker, task: Task, at, *, incident: Incident | None = None) -> AuditRecord:
    i = next(_n)
    return AuditRecord.objects.create(
        report_id=f"oversight-{i}",
        request_hash="0" * 64,
        task=task,
        worker=worker,
        duration_ms=1000,
        outcome=AuditRecord.Outcome.VIOLATION if incident else AuditRecord.Outcome.CLEAN,
        incident=incident,
        settings_version=settings_current().version,
        received_at=at,
    )


def _finding(record: AuditRecord, detector: str, vtype: str, mode: str, at, incident=None) -> Finding:
    return Finding.objects.create(
        audit_record=record,
        incident=incident,
        worker=record.worker,
        task=record.task,
        detector=detector,
        detector_version="1",
        mode=mode,
        violation_type=vtype,
        score=1.0,
        evidence=[{"path": "$", "message": "not an object"}],
        settings_version=record.settings_version,
        created_at=at,
    )


def sanction(at, *, findings=((SCHEMA, "format_violation"),), action="STRIKE") -> DisciplinaryAction:
    """An incident found in enforce mode by `findings` (detector, type), and HR's sanction on it, at `at`."""
    i = next(_n)
    worker = Worker.objects.create(model_id=f"oversight/w{i}", capabilities=["code"])
    task = Task.objects.create(task_id=f"oversight-t{i}", capability="code")
    types = list(dict.fromkeys(v for _, v in findings))
    incident = Incident.objects.create(
        worker=worker,
        task=task,
        severity=1,
        status=Incident.Status.ACTIONED,
        violations=[[v, 1] for v in types],
        evidence=[],
        settings_version=settings_current().version,
        reported_at=at,
    )
    record = _report(worker, task, at, incident=incident)
    for detector, vtype in findings:
        _finding(record, detector, vtype, Finding.Mode.ENFORCE, at, incident=incident)
    return DisciplinaryAction.objects.create(
        worker=worker,
        incident=incident,
        action=action,
        reason=",".join(types),
        actor_kind=DisciplinaryAction.Actor.HR,
        actor_label="system:hr",
        policy_version=settings_current().version,
        violation_type=",".join(types),
        created_at=at,
    )


def overturn(action: DisciplinaryAction, director, now) -> None:
    action_overturn(action=action, reason="the output was valid JSON after all", actor=director, now=now)


def line(figures, detector: str, vtype: str = ALL_TYPES):
    return next(f for f in figures if f.detector == detector and f.violation_type == vtype)


def mode_of(name: str) -> str:
    return detector_modes(settings_current())[name].value


# --- The figures ---------------------------------------------------------------------------------------------


def test_the_figures_count_findings_sanctions_and_overturns_per_detector_and_type(director, now):
    kept = sanction(now - timedelta(days=2))
    overturned = sanction(now - timedelta(days=1))
    # An incident both detectors found: its sanction counts for each; manager_flags found two of its types, and
    # its own line counts the sanction once.
    both = sanction(
        now - timedelta(hours=5),
        findings=((SCHEMA, "format_violation"), (FLAGS, "format_violation"), (FLAGS, "hallucination")),
    )
    sanction(now - timedelta(days=40))  # before the window
    sanction(now - timedelta(hours=1), action="PROMOTE")  # a reward, not a sanction
    # Observed findings sanction nobody: counted as findings only.
    record = _report(kept.worker, kept.incident.task, now - timedelta(hours=2))
    _finding(record, SCHEMA, "format_violation", Finding.Mode.OBSERVE, now - timedelta(hours=2))
    overturn(overturned, director, now)
    overturn(both, director, now)

    figures = detector_oversight(now=now, window_days=30)

    schema = line(figures, SCHEMA)
    # Findings: kept, overturned, both, promote's incident (enforce) and the observed one; the 40-day-old is out.
    assert (schema.findings, schema.enforced, schema.observed) == (5, 4, 1)
    assert (schema.sanctions, schema.overturns) == (3, 2)  # the overturn rows and the PROMOTE are no sanctions
    assert schema.overturn_rate == pytest.approx(2 / 3) and schema.overturn_pct == 66.7
    assert line(figures, SCHEMA, "format_violation").sanctions == 3
    flags = line(figures, FLAGS)
    assert (flags.findings, flags.sanctions, flags.overturns, flags.overturn_pct) == (2, 1, 1, 100.0)
    assert line(figures, FLAGS, "hallucination").sanctions == line(figures, FLAGS, "format_violation").sanctions == 1
    # Every registered detector is listed, with or without figures.
    assert line(figures, "timeout.fixed").sanctions == 0 and line(figures, "timeout.fixed").overturn_rate is None
    # A longer window reaches the old sanction.
    assert line(detector_oversight(now=now, window_days=60), SCHEMA).sanctions == 4


def test_the_report_lists_every_detector_with_its_mode_and_types(now):
    sanction(now - timedelta(hours=1))
    report = oversight_report(now=now, settings=settings_current())
    by_name = {d["detector"]: d for d in report["detectors"]}
    assert by_name[SCHEMA]["mode"] == "enforce" and by_name[SCHEMA]["sanctions"] == 1
    assert [t["violation_type"] for t in by_name[SCHEMA]["by_type"]] == ["format_violation"]
    assert (report["window_days"], report["observe_pct"], report["min_sanctions"]) == (30, 30, 20)
    assert report["auto_observed"] == []


# --- Switching itself to observe -----------------------------------------------------------------------------


def test_a_detector_the_director_keeps_overturning_switches_itself_to_observe_once_the_rate_passes(director, now):
    sanctions = [sanction(now - timedelta(hours=1, minutes=i)) for i in range(20)]
    for action in sanctions[:6]:
        overturn(action, director, now)
    # 6 of 20 is 30%: it reaches the setting but does not pass it.
    assert detectors_oversee(now=now) == []
    assert mode_of(SCHEMA) == "enforce"
    version_before = settings_current().version

    overturn(sanctions[6], director, now)  # 7 of 20: 35%
    (switched,) = detectors_oversee(now=now)

    assert switched.detector == SCHEMA
    assert (switched.figures.sanctions, switched.figures.overturns, switched.figures.overturn_pct) == (20, 7, 35.0)
    s = settings_current()
    assert mode_of(SCHEMA) == "observe" and s.version == switched.settings_version > version_before
    assert "system:oversight" in s.note and "7 of 20" in s.note
    assert mode_of(FLAGS) == "enforce"  # nobody overturned it
    # The next minute changes nothing: it observes already.
    assert detectors_oversee(now=now + timedelta(minutes=1)) == []
    assert GovernanceSettings.objects.filter(version__gt=s.version).count() == 0


def test_not_before_twenty_sanctions_however_many_are_overturned(director, now):
    sanctions = [sanction(now - timedelta(hours=2, minutes=i)) for i in range(19)]
    for action in sanctions[:10]:
        overturn(action, director, now)
    assert detectors_oversee(now=now) == []  # 10 of 19: 53%, on too few sanctions
    assert mode_of(SCHEMA) == "enforce"

    sanction(now - timedelta(minutes=5))  # the twentieth: 10 of 20, 50%
    assert [s.detector for s in detectors_oversee(now=now)] == [SCHEMA]
    assert mode_of(SCHEMA) == "observe"


def test_the_inbox_says_so_with_the_figures_and_the_manager_reads_it(director, manager_key, now):
    sanctions = [sanction(now - timedelta(hours=1, minutes=i)) for i in range(20)]
    for action in sanctions[:8]:
        overturn(action, director, now)
    after = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0

    (switched,) = detectors_oversee(now=now)

    events = manager_key.get(f"/api/events/?after={after}").json()["events"]
    (event,) = [e for e in events if e["kind"] == "detector.auto_observe"]
    payload = event["payload"]
    assert payload["detector"] == SCHEMA and (payload["before"], payload["mode"]) == ("enforce", "observe")
    assert (payload["sanctions"], payload["overturns"], payload["overturn_pct"]) == (20, 8, 40.0)
    assert (payload["observe_pct"], payload["min_sanctions"], payload["window_days"]) == (30, 20, 30)
    assert payload["by_type"] == [
        {"violation_type": "format_violation", "sanctions": 20, "overturns": 8, "overturn_pct": 40.0}
    ]
    assert payload["settings_version"] == switched.settings_version and payload["actor"] == "system:oversight"
    # The Director sees it on the dashboard's detector card, with the same figures.
    report = oversight_report(now=now, settings=settings_current())
    (note,) = report["auto_observed"]
    assert (note["detector"], note["overturns"], note["sanctions"], note["settings_version"]) == (
        SCHEMA,
        8,
        20,
        switched.settings_version,
    )


def test_the_director_switches_it_back_and_the_same_overturns_do_not_switch_it_again(director, now):
    sanctions = [sanction(now - timedelta(hours=3, minutes=i)) for i in range(20)]
    for action in sanctions[:10]:
        overturn(action, director, now)
    detectors_oversee(now=now)
    assert mode_of(SCHEMA) == "observe"

    back = detector_mode_set(
        name=SCHEMA, mode="enforce", reason="the schemas were fixed", actor=director, now=now + timedelta(minutes=2)
    )

    assert back.changed and mode_of(SCHEMA) == "enforce"
    assert "director" in settings_current().note
    # The evidence that switched it once is spent: the minute after, it keeps enforcing.
    assert detectors_oversee(now=now + timedelta(minutes=3)) == []
    assert mode_of(SCHEMA) == "enforce"
    # Fresh sanctions after the switch, overturned as often, switch it again.
    later = now + timedelta(minutes=10)
    fresh = [sanction(later + timedelta(seconds=i)) for i in range(20)]
    for action in fresh[:7]:
        overturn(action, director, later + timedelta(minutes=1))
    assert [s.detector for s in detectors_oversee(now=later + timedelta(minutes=2))] == [SCHEMA]
    assert Event.objects.filter(kind=Event.Kind.DETECTOR_AUTO_OBSERVE).count() == 2


@pytest.mark.parametrize("mode", ["observe", "off"])
def test_only_a_detector_in_enforce_mode_is_switched(director, now, mode):
    sanctions = [sanction(now - timedelta(hours=1, minutes=i)) for i in range(20)]
    detector_mode_set(name=SCHEMA, mode=mode, reason="not trusted yet", actor=director, now=now - timedelta(minutes=1))
    version = settings_current().version
    for action in sanctions:
        overturn(action, director, now)
    assert detectors_oversee(now=now) == []
    assert mode_of(SCHEMA) == mode and settings_current().version == version


def test_the_setting_decides_the_rate_and_the_minimum(director, now):
    s = settings_current()
    s.overturn_observe_pct, s.overturn_observe_min_sanctions = 50, 4
    settings_publish(draft=s, note="judge detectors sooner", actor=director)
    sanctions = [sanction(now - timedelta(hours=1, minutes=i)) for i in range(4)]
    for action in sanctions[:2]:
        overturn(action, director, now)
    assert detectors_oversee(now=now) == []  # 2 of 4: 50%, not above it
    overturn(sanctions[2], director, now)
    assert [s.detector for s in detectors_oversee(now=now)] == [SCHEMA]


def test_beats_minute_and_its_command_twin_run_the_oversight(director, now):
    from governance.tasks import run_timers

    sanctions = [sanction(now - timedelta(hours=1, minutes=i)) for i in range(20)]
    for action in sanctions[:7]:
        overturn(action, director, now)
    assert run_timers.apply().get()["auto_observed"] == [SCHEMA]
    event = Event.objects.filter(kind=Event.Kind.DETECTOR_AUTO_OBSERVE).get()
    assert event.payload["actor"] == OVERSIGHT.label

    detector_mode_set(name=SCHEMA, mode="enforce", reason="try again", actor=director, now=timezone.now())
    out = io.StringIO()
    call_command("run_timers", stdout=out)  # the same overturns again: spent
    assert "switched to observe" not in out.getvalue() and mode_of(SCHEMA) == "enforce"
    fresh = [sanction(timezone.now() + timedelta(milliseconds=i)) for i in range(20)]
    for action in fresh[:7]:
        overturn(action, director, timezone.now())
    call_command("run_timers", stdout=out)
    assert f"{SCHEMA} switched to observe" in out.getvalue() and mode_of(SCHEMA) == "observe"
    assert Event.objects.filter(kind=Event.Kind.DETECTOR_AUTO_OBSERVE).latest("id").payload["actor"] == "system:command"


# --- The settings ----------------------------------------------------------------------------------------------


def test_the_oversight_settings_are_checked_by_field(director):
    values = {"overturn_observe_pct": 0, "overturn_observe_min_sanctions": 0, "overturn_window_days": 400}
    problems = settings_problems(values)
    assert {"overturn_observe_pct", "overturn_observe_min_sanctions", "overturn_window_days"} <= set(problems)
    assert (
        settings_problems({"overturn_observe_pct": 30, "overturn_window_days": 30})
        .keys()
        .isdisjoint({"overturn_observe_pct", "overturn_window_days"})
    )
    s = settings_current()
    s.overturn_observe_pct = 101
    with pytest.raises(DomainError) as refused:
        settings_publish(draft=s, note="too high", actor=director)
    assert refused.value.field == "overturn_observe_pct"


# --- The Director's dashboard ------------------------------------------------------------------------------------


def test_the_dashboard_card_shows_each_detectors_figures_and_the_switch_with_its_figures(director, now):
    sanctions = [sanction(now - timedelta(hours=1, minutes=i)) for i in range(20)]
    for action in sanctions[:7]:
        overturn(action, director, now)
    client = Client()
    client.force_login(director)
    before = client.get(reverse("admin:index")).content.decode()
    assert "Detectors: findings, sanctions, overturn rate" in before
    assert "data-auto-observed" not in before  # nothing switched yet

    (switched,) = detectors_oversee(now=now)

    html = client.get(reverse("admin:index")).content.decode()
    card = html[html.index('id="aura-detectors"') :]
    assert 'data-auto-observed="1"' in card
    note = f"<strong>{SCHEMA}</strong> switched to observe by system:oversight: 7 of 20 sanctions overturned (35%)"
    assert note in card
    assert f"v{switched.settings_version}" in card
    rows = dashboard_context(now=now, may_act=True)["dashboard"]["detectors"]["rows"]
    (row,) = [r for r in rows if r[0] == SCHEMA]
    assert ">observe<" in row[1] and row[3:5] == [20, 7] and "35%" in row[5]
    assert len(rows) == len(detector_modes(settings_current()))  # every registered detector has its line
