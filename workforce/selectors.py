"""Reads for the workforce: querysets with the joins they need, and rows turned into rule dataclasses."""

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from workforce.domain.lifecycle import WorkerState
from workforce.domain.routing import Candidate
from workforce.domain.system import NORMAL_MODE, Mode
from workforce.models import Assignment, Event, SystemMode, Task, Worker


def worker_state(worker: Worker) -> WorkerState:
    return WorkerState(
        status=worker.status,
        tier=worker.tier,
        priority=worker.priority,
        budget=worker.budget,
        cooldown_until=worker.cooldown_until,
        suspended_until=worker.suspended_until,
        runs_since_tier_change=worker.runs_since_tier_change,
        probation_clean_runs=worker.probation_clean_runs,
    )


def worker_get(*, model_id: str) -> Worker | None:
    return Worker.objects.filter(model_id=model_id).first()


def task_get(*, task_id: str) -> Task | None:
    return Task.objects.select_related("current_worker").filter(task_id=task_id).first()


def worker_list(*, status: str | None = None, tier: str | None = None, capability: str | None = None) -> QuerySet:
    qs = Worker.objects.all()
    if status:
        qs = qs.filter(status=status)
    if tier:
        qs = qs.filter(tier=tier)
    if capability:
        # JSON containment is not portable to SQLite; filter the (small) fleet in Python instead.
        ids = [w.pk for w in qs.only("pk", "capabilities") if capability in (w.capabilities or [])]
        qs = qs.filter(pk__in=ids)
    return qs


def held_out_of_routing() -> Exists:
    """Whether a sanction on the worker awaits the Director's answer, with a time to apply itself (governance's
    escalation for senior workers): such a worker takes no new work until it is decided. Workforce may not
    import governance, so this reads the held sanctions through the relation governance declares on Worker;
    an undecided one with a deadline is the whole contract."""
    return Exists(
        Worker.objects.filter(
            pk=OuterRef("pk"), pending_sanctions__apply_at__isnull=False, pending_sanctions__decided_at__isnull=True
        )
    )


def routing_candidates(*, capability: str) -> list[Candidate]:
    """Every worker with the capability, with its open-assignment load, in one query."""
    rows = Worker.objects.annotate(
        open_load=Count("assignments", filter=Q(assignments__ended_at__isnull=True)), held=held_out_of_routing()
    ).exclude(status__in=[Worker.Status.TERMINATED, Worker.Status.BLACKLISTED])
    return [
        Candidate(
            model_id=w.model_id,
            capabilities=tuple(w.capabilities or ()),
            state=worker_state(w),
            reputation=w.reputation,
            open_assignments=w.open_load,
            unhealthy_until=w.unhealthy_until,
            held=w.held,
        )
        for w in rows
        if capability in (w.capabilities or ())
    ]


def task_failed_worker_ids(*, task: Task) -> set[str]:
    """Workers that already failed this task; the repair never hands it back to them."""
    return set(
        Assignment.objects.filter(task=task, outcome=Assignment.Outcome.FAILED).values_list(
            "worker__model_id", flat=True
        )
    )


def open_assignments_of(*, worker: Worker) -> QuerySet:
    return Assignment.objects.filter(worker=worker, ended_at__isnull=True).select_related("task")


def events_after(*, cursor: int, limit: int) -> list[Event]:
    return list(Event.objects.filter(id__gt=cursor).order_by("id")[:limit])


def task_assignment_history(*, task: Task) -> QuerySet:
    return task.assignments.select_related("worker").order_by("started_at", "id")


def system_mode() -> Mode:
    """Normal or halted, with who, when and why: one primary-key read. Every assignment asks (the report's repair
    included), so it is read from the database rather than a cache: as cheap here, and never stale after a halt."""
    row = (
        SystemMode.objects.filter(pk=SystemMode.SINGLETON)
        .values_list("mode", "changed_at", "actor_label", "reason")
        .first()
    )
    if row is None:
        return NORMAL_MODE
    mode, since, by, reason = row
    return Mode(halted=mode == SystemMode.Mode.HALTED, since=since, by=by, reason=reason)
