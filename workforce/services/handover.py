"""Handing on the open tasks of a worker that left service: follow-up work, not the report's.

The transaction that takes a worker out of service (a report's, the Director's, a scoring run's) only writes a
Handover row. Right after it commits, the same service call runs the handover in its own short transaction
(aura_project.history.follow_up); if the process died in between, the sweeper runs it (handovers_sweep). It is
set-based: the worker's open tasks are read at once, the candidates once per capability, and the new attempts,
task changes (with history) and events are written in bulk, whatever the number of tasks. Until it has run, the
tasks stay with the worker that left, which routing no longer offers to anyone: no task goes to it, and none is
lost.
"""

import logging
from collections import defaultdict
from dataclasses import replace
from datetime import datetime, timedelta

from django.db import connection, transaction
from simple_history.utils import bulk_update_with_history

from aura_project.history import acting, follow_up, history_attrs
from workforce.domain.actor import SWEEPER
from workforce.domain.routing import choose
from workforce.models import Assignment, Handover, Task, Worker
from workforce.selectors import routing_candidates, system_mode, worker_state
from workforce.services.events import Outbox

log = logging.getLogger(__name__)


def handover_request(*, worker: Worker, now: datetime, reason: str, actor_label: str = "") -> Handover:
    """Record, in the caller's transaction, that the worker's open tasks must be handed on; queue the run."""
    handover = Handover.objects.create(worker=worker, reason=reason[:300], actor_label=actor_label, created_at=now)
    if not follow_up(lambda: handover_run(handover_id=handover.pk, now=now)):
        transaction.on_commit(lambda: _run_logged(handover.pk, now), robust=True)
    return handover


def _run_logged(pk: int, now: datetime) -> None:
    try:
        handover_run(handover_id=pk, now=now)
    except Exception:
        log.exception("handover %s failed; the sweeper retries it", pk)


def handovers_sweep(*, now: datetime, stale_after: timedelta = timedelta(seconds=30)) -> int:
    """Run the handovers still pending a while after they were asked for (their process died first)."""
    pks = list(
        Handover.objects.filter(status=Handover.Status.PENDING, created_at__lt=now - stale_after)
        .order_by("created_at")
        .values_list("pk", flat=True)
    )
    with acting(SWEEPER):
        return sum(1 for pk in pks if handover_run(handover_id=pk, now=now) is not None)


def handover_run(*, handover_id: int, now: datetime) -> Handover | None:
    """Hand on the worker's open tasks, once. None if another run has it, or it is done."""
    with transaction.atomic():
        handover = (
            Handover.objects.select_for_update(skip_locked=True)
            .filter(pk=handover_id, status=Handover.Status.PENDING)
            .first()
        )
        if handover is None:
            return None
        # 1. The worker's exclusive row lock waits for every assignment to it still in flight (the assigner's
        #    key-share lock, workforce.services.tasks._lock_if_eligible), so the open attempts read next include
        #    them; tasks are then locked in id order.
        worker = Worker.objects.select_for_update().get(pk=handover.worker_id)
        task_ids = Assignment.objects.filter(worker=worker, ended_at__isnull=True).values_list("task_id", flat=True)
        tasks = list(Task.objects.select_for_update(no_key=True).filter(pk__in=list(task_ids)).order_by("pk"))
        outbox = Outbox(now)
        moved, waiting = _hand_on(worker, tasks, handover.reason, now, outbox)
        handover.status, handover.finished_at = Handover.Status.DONE, now
        handover.moved, handover.waiting = moved, waiting
        handover.save(update_fields=["status", "finished_at", "moved", "waiting"])
        outbox.flush()
    return handover


def _hand_on(worker: Worker, tasks: list[Task], reason: str, now: datetime, outbox: Outbox) -> tuple[int, int]:
    """Choose a worker for each task in memory, then write everything in a few statements."""
    held = [t for t in tasks if t.current_worker_id == worker.pk]
    # 2. Who failed which task, and the candidates for each capability: one read each.
    failed: dict[int, set[str]] = defaultdict(set)
    for task_id, model_id in Assignment.objects.filter(task__in=held, outcome=Assignment.Outcome.FAILED).values_list(
        "task_id", "worker__model_id"
    ):
        failed[task_id].add(model_id)
    pools = {cap: routing_candidates(capability=cap) for cap in {t.capability for t in held}}
    fresh = _lock_and_read({c.model_id for pool in pools.values() for c in pool})
    pools = {
        cap: [_refreshed(c, fresh[c.model_id]) for c in pool if c.model_id in fresh] for cap, pool in pools.items()
    }
    # 3. Choose, in memory, counting each pick as load so the work spreads. While the fleet is halted, nobody:
    #    the tasks wait, and the resume routes them (workforce.services.system).
    halted = system_mode().halted
    picks: dict[int, Worker | None] = {}
    for task in held:
        pool = pools[task.capability]
        best = choose(
            pool, capability=task.capability, priority=task.priority, now=now, failed=failed[task.pk], halted=halted
        )
        picks[task.pk] = fresh[best.model_id] if best is not None else None
        if best is not None:
            pool[pool.index(best)] = replace(best, open_assignments=best.open_assignments + 1)
    # 4. Write: the old attempts end, the new ones begin, the tasks move (with history), the inbox is told.
    label = f"{worker.model_id} {reason}"[:300]
    Assignment.objects.filter(worker=worker, task__in=tasks, ended_at__isnull=True).update(
        ended_at=now, outcome=Assignment.Outcome.RELEASED, reason=label
    )
    Assignment.objects.bulk_create(
        Assignment(task=task, worker=picks[task.pk], started_at=now, reason=label)
        for task in held
        if picks[task.pk] is not None
    )
    for task in held:
        new = picks[task.pk]
        if new is None:
            task.status, task.current_worker, task.needs_director = Task.Status.WAITING, None, True
            outbox.add("task.waiting", task_id=task.task_id, reason=label, excluded=sorted(failed[task.pk]))
        else:
            task.status, task.current_worker, task.needs_director = Task.Status.ASSIGNED, new, False
            task.attempts += 1
            outbox.add(
                "task.reassigned",
                model_id=new.model_id,
                task_id=task.task_id,
                previous=worker.model_id,
                reason=label,
                attempt=task.attempts,
            )
        task.updated_at = now
    if held:
        bulk_update_with_history(
            held,
            Task,
            ["status", "current_worker", "needs_director", "attempts", "updated_at"],
            default_change_reason=label[:100],
            custom_historical_attrs=history_attrs(),
        )
    moved = sum(1 for pick in picks.values() if pick is not None)
    return moved, len(held) - moved


def _lock_and_read(model_ids: set[str]) -> dict[str, Worker]:
    """Key-share locks on the candidates (a report taking one out of service waits for this transaction, and
    this one for it), then their rows read again by a new statement, which sees what such a report committed."""
    if not model_ids:
        return {}
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            sql = f"SELECT 1 FROM {Worker._meta.db_table} WHERE model_id = ANY(%s) ORDER BY id FOR KEY SHARE"
            cursor.execute(sql, [sorted(model_ids)])
    return {w.model_id: w for w in Worker.objects.filter(model_id__in=model_ids)}


def _refreshed(candidate, worker: Worker):
    return replace(
        candidate,
        capabilities=tuple(worker.capabilities or ()),
        state=worker_state(worker),
        reputation=worker.reputation,
        unhealthy_until=worker.unhealthy_until,
    )
