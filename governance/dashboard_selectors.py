"""Reads for the Director's dashboard (governance.dashboard). Each is a fixed number of queries, whatever the size
of the fleet or of the record, and none counts or scans a big table:

- the fleet's figures, its reputation histogram and the leaderboard read the workers table, which is the fleet
  (thousands of rows, not millions);
- counts over big tables (open incidents, actions, reassignments, waiting tasks, pending sanctions) are bounded:
  an index range read with LIMIT CAP + 1, shown as "1,000+" beyond;
- the 30-day incident chart reads the closed days' counts from IncidentDayCount (services/dashboard.py rolls
  them up) and only the days still open, about one, from the incidents' reported_at index;
- the detectors' card counts the findings and sanctions of the overturn window only, on their time indexes.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from celery.schedules import crontab
from django.db.models import Count, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from aura_project.schedule import BEAT_SCHEDULE
from governance.domain.dashboard import (
    BeatJobHealth,
    beat_job_health,
    bounded,
    chart_days,
    incident_type_counts,
    reputation_histogram,
)
from governance.models import (
    BeatJobRun,
    DisciplinaryAction,
    Incident,
    IncidentDayCount,
    PendingSanction,
    ScoreRecord,
)
from governance.selectors_oversight import oversight_report
from workforce.domain.lifecycle import GONE
from workforce.models import Event, Task, Worker
from workforce.selectors import system_mode

CAP = 1000  # bounded counts stop here and show "1,000+"
LEADERBOARD_SIZE = 10
TREND_WORKERS = 5
QUEUE_SIZE = 10


@dataclass(frozen=True)
class Figure:
    """A count as shown: exact below the cap, "1,000+" above it."""

    value: int
    shown: str


def bounded_count(qs: QuerySet, cap: int = CAP) -> Figure:
    """COUNT over at most cap + 1 rows (a LIMIT subquery), never the whole table."""
    n = qs.order_by()[: cap + 1].count()
    return Figure(value=min(n, cap + 1), shown=bounded(n, cap))


def day_start(day: date) -> datetime:
    """Midnight starting `day` in the current time zone (the days the dashboard shows)."""
    return timezone.make_aware(datetime.combine(day, time.min))


# --- figures ---------------------------------------------------------------------------------------------------


def fleet_counts() -> list[tuple[str, str, int, int]]:
    """(status, tier, reputation, workers) for the whole fleet, in one grouped read of the workers table."""
    return list(
        Worker.objects.order_by().values_list("status", "tier", "reputation").annotate(n=Count("id")).order_by()
    )


def fleet_figures(rows: list[tuple[str, str, int, int]]) -> dict:
    """Workers by status and by tier (every choice listed, zeros included), and the on-payroll reputations."""
    by_status, by_tier, reputations = Counter(), Counter(), Counter()
    for status, tier, reputation, n in rows:
        by_status[status] += n
        if status not in GONE:
            by_tier[tier] += n
            reputations[reputation] += n
    return {
        "by_status": [(label, by_status[value], value) for value, label in Worker.Status.choices],
        "by_tier": [(label, by_tier[value], value) for value, label in Worker.Tier.choices],
        "total": sum(by_status.values()),
        "on_payroll": sum(by_tier.values()),
        "histogram": reputation_histogram(dict(reputations)),
    }


def open_incidents() -> Figure:
    """On the partial index of open incidents."""
    return bounded_count(Incident.objects.filter(status=Incident.Status.OPEN))


def sanctions_pending_review() -> Figure:
    return bounded_count(PendingSanction.objects.filter(status=PendingSanction.Status.PENDING))


def actions_since(*, since: datetime) -> Figure:
    """Disciplinary actions (overturns included) on the created_at index."""
    return bounded_count(DisciplinaryAction.objects.filter(created_at__gte=since))


def tasks_waiting() -> Figure:
    return bounded_count(Task.objects.filter(status=Task.Status.WAITING))


def reassignments_since(*, since: datetime) -> Figure:
    """task.reassigned events in the inbox since `since`: every reassignment, by a repair, a handover or the
    Director, writes one. The inbox's first id at `since` is found on its created_at index, then reassignments
    from that id on the (kind, id) index: a range either way, never the whole inbox."""
    first = Event.objects.filter(created_at__gte=since).order_by("created_at").values_list("id", flat=True).first()
    if first is None:
        return Figure(value=0, shown="0")
    return bounded_count(Event.objects.filter(kind=Event.Kind.TASK_REASSIGNED, id__gte=first))


def system_mode_now() -> dict:
    """Normal or halted, with who, since when and why (workforce.selectors.system_mode: one primary-key read)."""
    mode = system_mode()
    return {"halted": mode.halted, "name": mode.name, "since": mode.since, "by": mode.by, "reason": mode.reason}


# --- beat ------------------------------------------------------------------------------------------------------


def schedule_interval(schedule, *, now: datetime) -> timedelta:
    """How often a beat entry fires: a timedelta as it is; a crontab, the gap between its next two times."""
    if isinstance(schedule, timedelta):
        return schedule
    if isinstance(schedule, crontab):
        reference = now.replace(second=0, microsecond=0)
        first = reference + schedule.remaining_delta(reference)[1]
        second = first + timedelta(minutes=1)
        second = second + schedule.remaining_delta(second)[1]
        return second - first
    return timedelta(seconds=schedule.run_every.total_seconds())


def beat_jobs(*, now: datetime) -> list[BeatJobHealth]:
    """Each entry of the beat schedule with its task's last success (one read of BeatJobRun)."""
    last = dict(BeatJobRun.objects.values_list("name", "last_success_at"))
    return [
        beat_job_health(
            entry=entry,
            task=spec["task"],
            interval=schedule_interval(spec["schedule"], now=now),
            last_success_at=last.get(spec["task"]),
            now=now,
        )
        for entry, spec in BEAT_SCHEDULE.items()
    ]


# --- charts ----------------------------------------------------------------------------------------------------


def incident_days(*, start: datetime, end: datetime | None = None) -> dict[date, Counter]:
    """Incidents reported from `start` (until `end`) per local day and violation type, on the reported_at index.
    Grouped in the database by day and by the incident's violations (few distinct lists: [[type, severity]]),
    then folded into types here, so a busy day costs a range read, not a row per incident in Python."""
    qs = Incident.objects.filter(reported_at__gte=start)
    if end is not None:
        qs = qs.filter(reported_at__lt=end)
    grouped = (
        qs.order_by()
        .annotate(day=TruncDate("reported_at", tzinfo=timezone.get_current_timezone()))
        .values_list("day", "violations")
        .annotate(n=Count("id"))
    )
    return incident_type_counts((day, violations, n) for day, violations, n in grouped)


def incidents_per_day(*, now: datetime) -> tuple[list[date], dict[date, Counter]]:
    """The chart's days and, per day, incidents per violation type ("" is the day's total).

    Closed days come from the rollup; any day it has not counted (today, a day just closed, a race with a purge)
    is counted from the incidents, from the first such day on."""
    days = chart_days(today=timezone.localtime(now).date())
    counts: dict[date, Counter] = {}
    for day, vtype, n in IncidentDayCount.objects.filter(day__gte=days[0]).values_list(
        "day", "violation_type", "incidents"
    ):
        counts.setdefault(day, Counter())[vtype] = n
    uncounted = [day for day in days if "" not in counts.get(day, {})]
    if uncounted:
        live = incident_days(start=day_start(uncounted[0]))
        for day in uncounted:
            counts[day] = live.get(day, Counter())
    return days, counts


def leaderboard(*, provisional_runs: int) -> dict[str, list[dict]]:
    """The top and the bottom LEADERBOARD_SIZE workers on the payroll by reputation (two reads on the fleet)."""
    on_payroll = Worker.objects.exclude(status__in=list(GONE)).only(
        "id", "model_id", "name", "provider", "tier", "status", "reputation", "scored_runs"
    )

    def row(w: Worker) -> dict:
        return {
            "worker": w,
            "provisional": w.is_provisional(provisional_runs),
            "probation": w.status == Worker.Status.PROBATION,
        }

    top = [row(w) for w in on_payroll.order_by("-reputation", "-scored_runs", "model_id")[:LEADERBOARD_SIZE]]
    bottom = [row(w) for w in on_payroll.order_by("reputation", "-scored_runs", "model_id")[:LEADERBOARD_SIZE]]
    return {"top": top, "bottom": bottom}


def reputation_trends(*, workers: list[Worker], days: list[date]) -> dict[int, list[int]]:
    """Each worker's reputation at the end of each day (carried over days without a score), from its score
    moves on the (worker, created_at) index. Before its first move in the window, the reputation it had then."""
    if not workers:
        return {}
    moves: dict[int, list[tuple[date, int, int]]] = {w.pk: [] for w in workers}
    for worker_id, at, before, after in (
        ScoreRecord.objects.filter(worker__in=[w.pk for w in workers], created_at__gte=day_start(days[0]))
        .order_by("created_at", "id")
        .values_list("worker_id", "created_at", "previous_reputation", "reputation")
    ):
        moves[worker_id].append((timezone.localdate(at), before, after))
    trends = {}
    for w in workers:
        own = moves[w.pk]
        level = own[0][1] if own else w.reputation
        at_end: dict[date, int] = {}
        for day, _before, after in own:
            at_end[day] = after
        series = []
        for day in days:
            level = at_end.get(day, level)
            series.append(level)
        trends[w.pk] = series
    return trends


# --- the auditors audited --------------------------------------------------------------------------------------


def detector_oversight_now(*, now: datetime, settings) -> dict:
    """Each detector's findings, sanctions and overturn rate over the settings' window, and the latest automatic
    switches to observe: three bounded reads (governance.selectors_oversight)."""
    return oversight_report(now=now, settings=settings)


# --- queues ----------------------------------------------------------------------------------------------------


def incident_queue(limit: int = QUEUE_SIZE) -> list[Incident]:
    """Open incidents, most severe first, then newest: a backward read of the partial open-incident index."""
    return list(
        Incident.objects.filter(status=Incident.Status.OPEN)
        .select_related("worker")
        .only("id", "severity", "violations", "reported_at", "status", "worker__model_id")
        .order_by("-severity", "-reported_at")[:limit]
    )


def review_queue(limit: int = QUEUE_SIZE) -> dict[str, list]:
    """What waits for the Director: sanctions the spike guard held, newest first, and tasks nobody can take,
    oldest first (the longest wait at the top)."""
    sanctions = list(
        PendingSanction.objects.filter(status=PendingSanction.Status.PENDING)
        .select_related("worker")
        .order_by("-created_at")[:limit]
    )
    waiting = list(
        Task.objects.filter(status=Task.Status.WAITING)
        .only("id", "task_id", "capability", "priority", "attempts", "updated_at", "created_at", "status")
        .order_by("created_at")[:limit]
    )
    return {"sanctions": sanctions, "tasks": waiting}
