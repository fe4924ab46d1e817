"""A living fleet, as a test: 30 days of a seeded fleet through the real services and the real beat jobs.

Three kinds of worker: steady (about 2% violations), sloppy (about 25%) and a flaky provider (faults, not
misconduct). The Manager registers a task for a worker, the worker reports, a repaired task is done by its new
worker; beat's jobs run as beat would run them (timers every ten simulated minutes, scoring every hour, the
sweeper with it). On day 20 a broken detector flags every report for an hour. The assertions are the living
fleet's promises (issue 7): nobody steady is fired, every sloppy worker is stopped within 100 reports, faults
sanction nobody, every clock runs out, the spike terminates nobody and raises one event, and the records
count exactly what the policy gives.
"""

import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from aura_project.celery import app as celery_app
from aura_project.errors import DomainError
from governance import tasks
from governance.models import AuditRecord, DisciplinaryAction, Incident, Penalty, PendingSanction, Spike
from governance.services.discipline import director_intervene
from governance.services.reports import ReportInput, report_submit
from governance.services.reputation import reputation_replayed
from governance.services.review import spike_dismiss
from workforce.domain.actor import MANAGER, service_key
from workforce.models import Event, Task, Worker
from workforce.services.tasks import task_complete, task_register
from workforce.services.workers import worker_hire

SEED = 20261202
DAYS = int(__import__("os").environ.get("SIM_DAYS", 30))
MINIMUM_REPORTS = 2000
TIMER_TICK = timedelta(minutes=30)
START = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
SPIKE_AT = START + timedelta(days=20, hours=10)
MANAGER_KEY = service_key("simulated-manager", MANAGER)
VIOLATIONS = ("hallucinated", "scope_drift", "format_violation", "timeout")


@dataclass
class Profile:
    kind: str
    provider: str
    violation_rate: float
    fault_rate: float = 0.0


# Fifty workers share about 2,300 reports, so a steady worker reports about fifty times in the month.
PROFILES = [Profile("steady", "acme", 0.02)] * 36 + [Profile("sloppy", "sloppyco", 0.25)] * 8
PROFILES += [Profile("flaky", "flakyai", 0.0, fault_rate=0.3)] * 6


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Fleet:
    rng: random.Random
    clock: Clock
    profiles: dict[str, Profile]
    reports: Counter = field(default_factory=Counter)  # accepted reports per worker
    stopped_at: dict[str, int] = field(default_factory=dict)  # reports before the first SUSPEND or TERMINATE
    serial: int = 0
    broken_detector: bool = False
    rehired: str | None = None
    broken_hour: tuple[datetime, datetime] | None = None
    next_tick: datetime = START + TIMER_TICK
    on_tick: object = None  # beat's jobs, run at each tick the clock passes

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward, running beat's jobs at every tick on the way, so time never runs backwards."""
        target = self.clock.now + delta
        while self.next_tick <= target:
            self.clock.now = self.next_tick
            self.on_tick()
            self.next_tick += TIMER_TICK
        self.clock.now = target

    def workers_in_service(self) -> list[Worker]:
        return list(
            Worker.objects.filter(status__in=["ACTIVE", "COOLDOWN", "PROBATION"]).exclude(
                unhealthy_until__gt=self.clock.now
            )
        )

    def outcome(self, model_id: str) -> dict:
        """What the worker's attempt looked like, by its profile (or the broken detector's verdict)."""
        profile = self.profiles[model_id]
        if self.broken_detector:
            return {"scope_drift": True, "duration_ms": 9000}
        roll = self.rng.random()
        if roll < profile.fault_rate:
            return {"error_kind": "provider", "duration_ms": 300}
        if roll < profile.fault_rate + profile.violation_rate:
            kind = self.rng.choice(VIOLATIONS)
            return {"duration_ms": 75_000} if kind == "timeout" else {kind: True, "duration_ms": 15_000}
        return {
            "duration_ms": self.rng.randint(4_000, 20_000),
            "retries": self.rng.choice((0, 0, 0, 1)),
            "test_pass_rate": round(self.rng.uniform(0.8, 1.0), 2),
            "manager_satisfaction": round(self.rng.uniform(0.75, 0.95), 2),
            "confidence": round(self.rng.uniform(0.7, 0.9), 2),
        }

    def report(self, task_id: str, model_id: str, fields: dict) -> dict:
        self.serial += 1
        body = report_submit(
            report=ReportInput(task_id=task_id, model_id=model_id, logs=[f"step {self.serial}"], **fields),
            report_id=f"sim-{self.serial}",
            now=self.clock.now,
            actor=MANAGER_KEY,
        ).body
        self.reports[model_id] += 1
        if model_id not in self.stopped_at and (
            {"SUSPEND", "TERMINATE"} & set(body.get("actions", ())) or body.get("worker_status") == "TERMINATED"
        ):
            self.stopped_at[model_id] = self.reports[model_id]
        return body

    def work_one_task(self) -> None:
        """The Manager's loop for one task: register it for a worker, hear the report, follow a repair."""
        candidates = self.workers_in_service()
        if not candidates:
            return
        worker = self.rng.choice(candidates)
        task_id = f"task-{self.serial + 1}-{worker.model_id}"
        try:
            task_register(
                task_id=task_id,
                capability="code",
                priority=2,
                model_id=worker.model_id,
                now=self.clock.now,
                actor=MANAGER_KEY,
            )
        except DomainError:
            return  # not eligible after all (e.g. a provider cooldown began this minute)
        # The broken detector's burst is many short tasks; the month's work is fewer, longer ones.
        self.clock.now += timedelta(
            seconds=self.rng.randint(4, 8) if self.broken_detector else self.rng.randint(20, 90)
        )
        body = self.report(task_id, worker.model_id, self.outcome(worker.model_id))
        task = Task.objects.select_related("current_worker").get(task_id=task_id)
        # A repaired task is done by its new worker (the inbox told the Manager who that is), and then closed.
        if body["status"] == "violation" and task.current_worker is not None:
            self.advance(timedelta(seconds=3 if self.broken_detector else 30))
            redo = self.outcome(task.current_worker.model_id) if self.broken_detector else {"duration_ms": 8_000}
            self.report(task_id, task.current_worker.model_id, redo)
        task_complete(task=task, now=self.clock.now, actor=MANAGER_KEY)


def beat_tick(clock: Clock, capture) -> None:
    """Beat's jobs as beat sends them: the timers every tick, scoring and the sweeper on the hour."""
    tasks.run_timers.apply().get()
    if clock.now.minute < TIMER_TICK.total_seconds() / 60:
        with capture(execute=True):  # the run is queued on commit and, eagerly, processed at once
            tasks.start_scoring_run.apply().get()
        tasks.sweep_pending_runs.apply().get()


def assert_no_clock_overran(now: datetime) -> None:
    """Right after the timers ran, no cooldown or suspension has outlived its end."""
    assert not Worker.objects.filter(status="COOLDOWN", cooldown_until__lte=now).exists()
    assert not Worker.objects.filter(status="SUSPENDED", suspended_until__lte=now).exists()


@pytest.fixture
def fleet(db, monkeypatch, roles) -> Fleet:
    clock = Clock(START)
    monkeypatch.setattr(timezone, "now", clock)
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)
    rng = random.Random(SEED)
    profiles = {}
    for n, profile in enumerate(PROFILES):
        model_id = f"{profile.provider}/{profile.kind}-{n:02d}"
        worker_hire(model_id=model_id, provider=profile.provider, capabilities=["code"], actor=MANAGER_KEY)
        profiles[model_id] = profile
    return Fleet(rng=rng, clock=clock, profiles=profiles)


def live(fleet: Fleet, capture, director) -> Fleet:
    """Thirty days of the fleet at work, with the broken detector's hour and one rehire."""
    end = START + timedelta(days=DAYS)

    def tick() -> None:
        beat_tick(fleet.clock, capture)
        assert_no_clock_overran(fleet.clock.now)

    fleet.on_tick = tick
    rehire_at = None
    while fleet.clock.now < end:
        if fleet.clock.now >= SPIKE_AT and fleet.broken_hour is None:
            fleet.broken_hour = (fleet.clock.now, fleet.clock.now + timedelta(hours=1))
            # The broken detector's hour: three rounds over everyone in service, every report flagged.
            fleet.broken_detector = True
            for _ in range(3):
                for _worker in range(len(fleet.workers_in_service())):
                    fleet.work_one_task()
            fleet.broken_detector = False
            fleet.advance(max(timedelta(0), fleet.broken_hour[1] - fleet.clock.now))
            # The Director sees the spike in the control room, finds the detector broken and dismisses it.
            spike = Spike.objects.get()
            spike_dismiss(spike=spike, reason="the scope detector was broken", actor=director, now=fleet.clock.now)
            continue
        if fleet.rehired is None and fleet.clock.now >= START + timedelta(days=10):
            # The Director fires the first sloppy worker (if HR has not), then gives it a second chance a day
            # later; it behaves from then on, so its probation should end after its clean scored runs.
            sloppy = Worker.objects.filter(provider="sloppyco").order_by("model_id").first()
            if sloppy.status != "TERMINATED":
                director_intervene(
                    worker=sloppy, action="TERMINATE", reason="repeat offender", actor=director, now=fleet.clock.now
                )
            fleet.rehired, rehire_at = sloppy.model_id, fleet.clock.now + timedelta(days=1)
        if rehire_at is not None and fleet.clock.now >= rehire_at:
            sloppy = Worker.objects.get(model_id=fleet.rehired)
            director_intervene(
                worker=sloppy, action="REHIRE", reason="second chance", actor=director, now=fleet.clock.now
            )
            fleet.profiles[sloppy.model_id] = Profile("rehired", "sloppyco", 0.0)
            rehire_at = None
        fleet.work_one_task()
        fleet.advance(timedelta(minutes=fleet.rng.randint(8, 28)))
    fleet.advance(TIMER_TICK)
    return fleet


def of_kind(fleet: Fleet, kind: str) -> list[str]:
    return [m for m, p in fleet.profiles.items() if p.kind == kind]


def check_the_fleet(fleet: Fleet) -> None:
    total = AuditRecord.objects.count()
    assert total >= MINIMUM_REPORTS

    # No steady worker is ever terminated or blacklisted, and at least 90% of them are ACTIVE at the end.
    steady = of_kind(fleet, "steady")
    fired = DisciplinaryAction.objects.filter(worker__model_id__in=steady, action__in=["TERMINATE", "BLACKLIST"])
    assert not fired.exists(), [
        list(
            DisciplinaryAction.objects.filter(worker=f.worker)
            .order_by("created_at")
            .values_list("created_at", "action", "reason", "actor_kind", "incident_id")
        )
        for f in fired
    ]
    active = Worker.objects.filter(model_id__in=steady, status="ACTIVE").count()
    assert active >= 0.9 * len(steady), Counter(Worker.objects.filter(model_id__in=steady).values_list("status"))

    # Every sloppy worker is suspended or terminated within its first 100 reports.
    sloppy = [m for m in fleet.profiles if m.startswith("sloppyco/")]
    for model_id in sloppy:
        assert fleet.stopped_at.get(model_id, 10**6) <= 100, (model_id, fleet.reports[model_id])

    # Provider faults never sanction anyone.
    flaky = of_kind(fleet, "flaky")
    assert AuditRecord.objects.filter(worker__model_id__in=flaky, outcome="provider_fault").count() > 50
    assert (
        not DisciplinaryAction.objects.filter(worker__model_id__in=flaky, incident__isnull=False)
        .exclude(incident__reported_at__range=fleet.broken_hour)
        .exists()
    )
    assert not Incident.objects.filter(report__outcome="provider_fault").exists()


def check_the_broken_detectors_hour(fleet: Fleet) -> None:
    hour = fleet.broken_hour
    flagged = AuditRecord.objects.filter(received_at__range=hour, outcome="violation").count()
    assert flagged >= 40
    assert Event.objects.filter(kind="governance.spike").count() == 1
    spike = Spike.objects.get()
    assert not DisciplinaryAction.objects.filter(created_at__range=hour, action__in=["TERMINATE", "BLACKLIST"]).exists()
    # Only in the minutes before the guard saw the spike could a suspension go through.
    assert not DisciplinaryAction.objects.filter(
        created_at__range=(spike.started_at, hour[1]), action="SUSPEND", actor_kind="HR"
    ).exists()
    held = PendingSanction.objects.filter(created_at__range=hour)
    assert held.count() > 0
    # The evidence went on as usual; the Director's dismissal then overturned it, and it left no trace in any
    # reputation (each is what its standing evidence replays to).
    assert Incident.objects.filter(reported_at__range=hour).count() == flagged
    assert set(held.values_list("status", flat=True)) == {"DISMISSED"}
    assert set(Incident.objects.filter(reported_at__range=hour).values_list("status", flat=True)) == {"OVERTURNED"}
    for worker in Worker.objects.all():
        assert worker.reputation == reputation_replayed(worker=worker), worker.model_id


def check_every_clock(fleet: Fleet) -> None:
    # Cooldowns and suspensions: each one that ended did so at the first timer tick after its end.
    for reinstated in DisciplinaryAction.objects.filter(action="REINSTATE", reason="expired"):
        ended = (
            DisciplinaryAction.objects.filter(
                worker=reinstated.worker, effective_until__isnull=False, effective_until__lte=reinstated.created_at
            )
            .order_by("-effective_until")
            .values_list("effective_until", flat=True)
            .first()
        )
        assert ended is not None and reinstated.created_at - ended <= TIMER_TICK
    assert DisciplinaryAction.objects.filter(action="REINSTATE", reason="expired").count() > 10
    # The rehired worker's probation ended after its clean scored runs.
    rehired = fleet.rehired
    assert rehired is not None
    assert DisciplinaryAction.objects.filter(worker__model_id=rehired, action="CONFIRM").exists()
    assert Worker.objects.get(model_id=rehired).status != "PROBATION"


def check_the_counts(fleet: Fleet) -> None:
    violations = AuditRecord.objects.filter(outcome="violation")
    assert Incident.objects.count() == violations.count()
    penalised = defaultdict(int)
    for record in violations.select_related("incident"):
        penalised[record.incident_id] = len(record.incident.violations) - sum(
            1 for vtype, _ in record.incident.violations if vtype == "repeat_offense"
        )
    assert Penalty.objects.count() == sum(penalised.values())
    # Each incident's HR actions are exactly what the answer said HR decided (implied demotions aside).
    hr = defaultdict(list)
    for incident_id, action in (
        DisciplinaryAction.objects.filter(actor_kind="HR")
        .exclude(reason__contains="implied by")
        .values_list("incident_id", "action")
    ):
        hr[incident_id].append(action)
    for record in violations:
        said = [a for a in record.response["actions"] if a in ("WARNING", "STRIKE")]
        recorded = [a for a in hr.get(record.incident_id, []) if a in ("WARNING", "STRIKE")]
        assert sorted(recorded) == sorted(said), record.report_id
    assert not AuditRecord.objects.filter(outcome="clean", incident__isnull=False).exists()


def test_a_month_of_a_living_fleet_keeps_every_promise(fleet, django_capture_on_commit_callbacks, director):
    live(fleet, django_capture_on_commit_callbacks, director)
    check_the_fleet(fleet)
    check_the_broken_detectors_hour(fleet)
    check_every_clock(fleet)
    check_the_counts(fleet)
