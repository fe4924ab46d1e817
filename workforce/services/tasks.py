"""Writes on Tasks: registration, assignment, the repair after a failed attempt, completion."""

from datetime import datetime

from django.db import IntegrityError, connection, transaction

from aura_project.errors import Conflict, DomainError, NotFound
from aura_project.history import acting
from workforce.domain.routing import Candidate, choose, eligible
from workforce.models import Assignment, Task, Worker
from workforce.selectors import routing_candidates, task_failed_worker_ids, worker_state
from workforce.services.access import actor_require
from workforce.services.events import Outbox


def task_register(*, task_id: str, capability: str, priority: int, model_id: str | None, now: datetime, actor) -> Task:
    """Register the Manager's task, and assign it to the named worker if there is one."""
    actor = actor_require(actor, "task")
    with acting(actor), transaction.atomic():
        outbox = Outbox(now)
        try:
            with transaction.atomic():
                task = Task.objects.create(task_id=task_id, capability=capability, priority=priority)
        except IntegrityError:
            raise Conflict(f"task {task_id!r} is already registered", field="task_id") from None
        if model_id:
            task_assign(task=task, model_id=model_id, now=now, outbox=outbox)
        outbox.flush()
    return task


def task_assign_now(*, task: Task, model_id: str | None, now: datetime, actor) -> Worker | None:
    """The Manager's assign command: one transaction, with its events."""
    actor = actor_require(actor, "task")
    with acting(actor), transaction.atomic():
        outbox = Outbox(now)
        worker = task_assign(task=task, model_id=model_id, now=now, outbox=outbox)
        outbox.flush()
    return worker


def _end_open_assignment(*, task: Task, now: datetime, outcome: str, reason: str) -> Assignment | None:
    current = Assignment.objects.filter(task=task, ended_at__isnull=True).first()
    if current is not None:
        current.ended_at = now
        current.outcome = outcome
        current.reason = reason[:300]
        current.save(update_fields=["ended_at", "outcome", "reason"])
    return current


def task_assign(
    *, task: Task, now: datetime, outbox: Outbox, model_id: str | None = None, reason: str = "assigned"
) -> Worker | None:
    """Give the task to the named worker, or to the best eligible one. Nobody eligible: the task waits.

    The caller holds the transaction; the task row is locked here so two assigners cannot both win.
    """
    task = Task.objects.select_for_update(no_key=True).get(pk=task.pk)  # no key: see worker_lock
    if task.status == Task.Status.COMPLETED:
        raise Conflict(f"task {task.task_id!r} is completed", field="task_id")
    failed = task_failed_worker_ids(task=task)
    previous = task.current_worker
    candidates = routing_candidates(capability=task.capability)
    if model_id:
        chosen = next((c for c in candidates if c.model_id == model_id), None)
        if chosen is None and not Worker.objects.filter(model_id=model_id).exists():
            raise NotFound(f"no worker {model_id!r}", field="model_id")
        if chosen is None or not _lock_if_eligible(chosen, task=task, failed=failed, now=now):
            raise DomainError(
                f"worker {model_id!r} is not eligible for this task (capability, status or past failure)",
                field="model_id",
                code="not_eligible",
            )
    else:
        passed_over = set(failed)
        while True:
            chosen = choose(candidates, capability=task.capability, priority=task.priority, now=now, failed=passed_over)
            if chosen is None or _lock_if_eligible(chosen, task=task, failed=failed, now=now):
                break
            passed_over.add(chosen.model_id)  # it left service (or cooled down) while we were choosing

    if previous is not None and (chosen is None or chosen.model_id != previous.model_id):
        _end_open_assignment(task=task, now=now, outcome=Assignment.Outcome.RELEASED, reason=reason)
    if chosen is None:
        task.status = Task.Status.WAITING
        task.current_worker = None
        task.needs_director = True
        task.save()
        outbox.add("task.waiting", task_id=task.task_id, reason=reason, excluded=sorted(failed))
        return None
    if previous is not None and chosen.model_id == previous.model_id:
        return previous
    worker = Worker.objects.get(model_id=chosen.model_id)
    Assignment.objects.create(task=task, worker=worker, started_at=now, reason=reason[:300])
    task.current_worker = worker
    task.status = Task.Status.ASSIGNED
    task.attempts += 1
    task.needs_director = False
    task.save()
    kind = "task.reassigned" if previous is not None or task.attempts > 1 else "task.assigned"
    outbox.add(
        kind,
        model_id=worker.model_id,
        task_id=task.task_id,
        previous=previous.model_id if previous else None,
        reason=reason,
        attempt=task.attempts,
    )
    return worker


def _lock_if_eligible(candidate: Candidate, *, task: Task, failed: set[str], now: datetime) -> bool:
    """Take a key-share lock on the chosen worker's row, then read it again.

    A report on that worker may be taking it out of service right now. Its release of the worker's tasks
    cannot see this uncommitted assignment, so without the lock the task would stay with a terminated
    worker. The release first takes the row's exclusive lock (worker_release_tasks), which waits for this
    one; if the release came first, this lock waits for it to commit. A key-share lock does not wait for a
    report merely in progress on the worker, so reports handing tasks to each other's workers rarely deadlock.
    The row is read by a second statement: FOR KEY SHARE returns the version it started with, even after
    waiting, and only a new statement sees what the release committed."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            sql = f"SELECT 1 FROM {Worker._meta.db_table} WHERE model_id = %s FOR KEY SHARE"
            cursor.execute(sql, [candidate.model_id])
    # (SQLite has one writer at a time: nothing can change under us.)
    worker = Worker.objects.get(model_id=candidate.model_id)
    fresh = Candidate(
        model_id=worker.model_id,
        capabilities=tuple(worker.capabilities or ()),
        state=worker_state(worker),
        reputation=worker.reputation,
        unhealthy_until=worker.unhealthy_until,
    )
    return eligible(fresh, capability=task.capability, priority=task.priority, failed=frozenset(failed), now=now)


def attempt_close(*, task: Task, worker: Worker, now: datetime, outcome: str, reason: str) -> Assignment | None:
    """Close the worker's open attempt at the task, if it still holds it."""
    attempt = Assignment.objects.filter(task=task, worker=worker, ended_at__isnull=True).first()
    if attempt is None:
        return None
    attempt.ended_at = now
    attempt.reported_at = now
    attempt.outcome = outcome
    attempt.reason = reason[:300]
    attempt.save(update_fields=["ended_at", "reported_at", "outcome", "reason"])
    return attempt


def attempt_mark(*, task: Task, worker: Worker, now: datetime, outcome: str) -> None:
    """Note a report on a still-open attempt (passed, or a provider fault) without ending it."""
    Assignment.objects.filter(task=task, worker=worker, ended_at__isnull=True).update(reported_at=now, outcome=outcome)


def task_repair(*, task: Task, failed_worker: Worker, now: datetime, outbox: Outbox, reason: str) -> Worker | None:
    """The failed attempt is over; hand the task to the best eligible worker that has not failed it."""
    attempt_close(task=task, worker=failed_worker, now=now, outcome=Assignment.Outcome.FAILED, reason=reason)
    # Read the holder under the task's lock: another transaction may have handed the task on meanwhile, and
    # the repair must not take it back from its new worker.
    task = Task.objects.select_for_update(no_key=True).get(pk=task.pk)
    if task.status == Task.Status.COMPLETED or task.current_worker_id != failed_worker.pk:
        return None  # a late report: the task has already moved on, or waits for the Director
    return task_assign(task=task, now=now, outbox=outbox, reason=f"repair after {failed_worker.model_id}: {reason}")


def worker_release_tasks(*, worker: Worker, now: datetime, outbox: Outbox, reason: str) -> list[tuple[str, str | None]]:
    """A worker out of service gives back its open tasks, each reassigned. Tasks are locked in id order."""
    # The exclusive lock waits for every assignment to this worker still in flight (see _lock_if_eligible),
    # so the open attempts read below include them.
    Worker.objects.select_for_update().filter(pk=worker.pk).values_list("pk", flat=True).get()
    moved = []
    open_attempts = Assignment.objects.filter(worker=worker, ended_at__isnull=True).select_related("task")
    for attempt in sorted(open_attempts, key=lambda a: a.task_id):
        task = attempt.task
        if task.current_worker_id != worker.pk:
            attempt_close(task=task, worker=worker, now=now, outcome=Assignment.Outcome.RELEASED, reason=reason)
            continue
        # task_assign ends the open attempt as RELEASED when it picks someone else (or nobody).
        new = task_assign(task=task, now=now, outbox=outbox, reason=f"{worker.model_id} {reason}")
        moved.append((task.task_id, new.model_id if new else None))
    return moved


def task_complete(*, task: Task, now: datetime, actor) -> Task:
    """The Manager says the task is done: its open attempt ends as COMPLETED."""
    actor = actor_require(actor, "task")
    with acting(actor), transaction.atomic():
        task = Task.objects.select_for_update(no_key=True).get(pk=task.pk)
        if task.status == Task.Status.COMPLETED:
            return task  # completing twice is harmless
        _end_open_assignment(task=task, now=now, outcome=Assignment.Outcome.COMPLETED, reason="completed")
        task.status = Task.Status.COMPLETED
        task.needs_director = False
        task.save()
    return task
