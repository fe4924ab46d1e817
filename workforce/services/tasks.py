"""Writes on Tasks: registration, assignment, the repair after a failed attempt, completion."""

from datetime import datetime

from django.db import IntegrityError, connection, transaction

from aura_project.errors import Conflict, DomainError, NotFound
from aura_project.history import acting
from workforce.domain.routing import Candidate, choose, eligible, ineligibility
from workforce.domain.system import SystemHalted
from workforce.models import Assignment, Task, Worker
from workforce.selectors import (
    held_out_of_routing,
    routing_candidates,
    system_mode,
    task_failed_worker_ids,
    worker_state,
)
from workforce.services.access import actor_require
from workforce.services.events import Outbox


def task_register(
    *,
    task_id: str,
    capability: str,
    priority: int,
    model_id: str | None,
    now: datetime,
    actor,
    instructions: str | None = None,
    sources: list[str] | None = None,
    output_schema: dict | None = None,
) -> Task:
    """Register the Manager's task, and assign it to the named worker if there is one. The instructions, sources
    and output schema, when given, are what the Auditor's detectors check the worker's output against."""
    actor = actor_require(actor, "task")
    with acting(actor), transaction.atomic():
        outbox = Outbox(now)
        try:
            with transaction.atomic():
                task = Task.objects.create(
                    task_id=task_id,
                    capability=capability,
                    priority=priority,
                    instructions=instructions,
                    sources=sources,
                    output_schema=output_schema,
                )
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
        worker = task_assign(task=task, model_id=model_id, now=now, outbox=outbox, refuse_halted=True)
        outbox.flush()
    return worker


def _end_open_assignment(*, task: Task, now: datetime, outcome: str, reason: str) -> int:
    """End the task's open attempt, if any, in one statement (Assignment keeps no history)."""
    return Assignment.objects.filter(task=task, ended_at__isnull=True).update(
        ended_at=now, outcome=outcome, reason=reason[:300]
    )


def task_assign(
    *,
    task: Task,
    now: datetime,
    outbox: Outbox,
    model_id: str | None = None,
    reason: str = "assigned",
    locked: bool = False,
    holder: Worker | None = None,
    failed: set[str] | None = None,
    refuse_halted: bool = False,
    actor_label: str = "",
) -> Worker | None:
    """Give the task to the named worker, or to the best eligible one. Nobody eligible: the task waits.

    The caller holds the transaction; the task row is locked here (unless the caller passes it `locked`) so two
    assigners cannot both win. `holder`, when the caller has it, is the task's current worker, and `failed` the
    workers that failed it (each saves a read). While the fleet is halted, a named worker, or a caller that asked
    to be refused (`refuse_halted`: a command), gets SystemHalted; the automation's repair leaves the task waiting.
    `actor_label`, for the Director's interventions, is named on the inbox event.
    """
    if not locked:
        task = Task.objects.select_for_update(no_key=True).get(pk=task.pk)  # no key: see worker_lock
    if task.status == Task.Status.COMPLETED:
        raise Conflict(f"task {task.task_id!r} is completed", field="task_id")
    mode = system_mode()
    if mode.halted and (model_id or refuse_halted):
        raise SystemHalted(mode)
    if mode.halted:
        reason = f"{reason}; system halted by {mode.by}"
    failed = task_failed_worker_ids(task=task) if failed is None else failed
    if task.current_worker_id is None:
        previous = None
    elif holder is not None and holder.pk == task.current_worker_id:
        previous = holder
    else:
        previous = Worker.objects.get(pk=task.current_worker_id)
    candidates = [] if mode.halted else routing_candidates(capability=task.capability)
    if model_id:
        chosen = next((c for c in candidates if c.model_id == model_id), None)
        if chosen is None and not Worker.objects.filter(model_id=model_id).exists():
            raise NotFound(f"no worker {model_id!r}", field="model_id")
        fresh = _lock_if_eligible(chosen, task=task, failed=failed, now=now) if chosen is not None else None
        if fresh is None:
            raise DomainError(
                f"worker {model_id!r} cannot take this task: {_refusal(model_id, task=task, failed=failed, now=now)}",
                field="model_id",
                code="not_eligible",
            )
    else:
        passed_over = set(failed)
        while True:
            chosen = choose(
                candidates,
                capability=task.capability,
                priority=task.priority,
                now=now,
                failed=passed_over,
                halted=mode.halted,
            )
            fresh = _lock_if_eligible(chosen, task=task, failed=failed, now=now) if chosen is not None else None
            if chosen is None or fresh is not None:
                break
            passed_over.add(chosen.model_id)  # it left service (or cooled down) while we were choosing

    if previous is not None and (chosen is None or chosen.model_id != previous.model_id) and previous is not holder:
        # (A holder passed in by the repair has had its attempt closed already.)
        _end_open_assignment(task=task, now=now, outcome=Assignment.Outcome.RELEASED, reason=reason)
    if chosen is None:
        task.status = Task.Status.WAITING
        task.current_worker = None
        task.needs_director = True
        task._change_reason = reason[:100]
        task.save()
        extra = {"actor": actor_label} if actor_label else {}
        outbox.add("task.waiting", task_id=task.task_id, reason=reason, excluded=sorted(failed), **extra)
        return None
    if previous is not None and chosen.model_id == previous.model_id:
        return previous
    worker = fresh
    Assignment.objects.create(task=task, worker=worker, started_at=now, reason=reason[:300])
    task.current_worker = worker
    task.status = Task.Status.ASSIGNED
    task.attempts += 1
    task.needs_director = False
    task._change_reason = reason[:100]
    task.save()
    kind = "task.reassigned" if previous is not None or task.attempts > 1 else "task.assigned"
    extra = {"actor": actor_label} if actor_label else {}
    outbox.add(
        kind,
        model_id=worker.model_id,
        task_id=task.task_id,
        previous=previous.model_id if previous else None,
        reason=reason,
        attempt=task.attempts,
        **extra,
    )
    return worker


def _refusal(model_id: str, *, task: Task, failed: set[str], now: datetime) -> str:
    """Why the named worker cannot take the task (the refusal path only: one more read)."""
    worker = Worker.objects.annotate(held=held_out_of_routing()).get(model_id=model_id)
    candidate = Candidate(
        model_id=worker.model_id,
        capabilities=tuple(worker.capabilities or ()),
        state=worker_state(worker),
        reputation=worker.reputation,
        unhealthy_until=worker.unhealthy_until,
        held=worker.held,
    )
    problem = ineligibility(
        candidate, capability=task.capability, priority=task.priority, failed=frozenset(failed), now=now
    )
    return problem or "it left service while being chosen"


def _lock_if_eligible(candidate: Candidate, *, task: Task, failed: set[str], now: datetime) -> Worker | None:
    """Take a key-share lock on the chosen worker's row, then read it again.

    A report on that worker may be taking it out of service right now. Its release of the worker's tasks
    cannot see this uncommitted assignment, so without the lock the task would stay with a terminated
    worker. The handover first takes the row's exclusive lock (workforce.services.handover), which waits for this
    one; if the release came first, this lock waits for it to commit. A key-share lock does not wait for a
    report merely in progress on the worker, so reports handing tasks to each other's workers rarely deadlock.
    The row is read by a second statement: FOR KEY SHARE returns the version it started with, even after
    waiting, and only a new statement sees what the release committed."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            sql = f"SELECT 1 FROM {Worker._meta.db_table} WHERE model_id = %s FOR KEY SHARE"
            cursor.execute(sql, [candidate.model_id])
    # (SQLite has one writer at a time: nothing can change under us.)
    worker = Worker.objects.annotate(held=held_out_of_routing()).get(model_id=candidate.model_id)
    fresh = Candidate(
        model_id=worker.model_id,
        capabilities=tuple(worker.capabilities or ()),
        state=worker_state(worker),
        reputation=worker.reputation,
        unhealthy_until=worker.unhealthy_until,
        held=worker.held,
    )
    ok = eligible(fresh, capability=task.capability, priority=task.priority, failed=frozenset(failed), now=now)
    return worker if ok else None


def attempt_close(*, task: Task, worker: Worker, now: datetime, outcome: str, reason: str) -> int:
    """Close the worker's open attempt at the task, if it still holds it (one statement)."""
    return Assignment.objects.filter(task=task, worker=worker, ended_at__isnull=True).update(
        ended_at=now, reported_at=now, outcome=outcome, reason=reason[:300]
    )


def attempt_mark(*, task: Task, worker: Worker, now: datetime, outcome: str) -> None:
    """Note a report on a still-open attempt (passed, or a provider fault) without ending it."""
    Assignment.objects.filter(task=task, worker=worker, ended_at__isnull=True).update(reported_at=now, outcome=outcome)


def task_repair(*, task: Task, failed_worker: Worker, now: datetime, outbox: Outbox, reason: str) -> Worker | None:
    """The failed attempt is over; hand the task to the best eligible worker that has not failed it."""
    attempt_close(task=task, worker=failed_worker, now=now, outcome=Assignment.Outcome.FAILED, reason=reason)
    # Read the holder under the task's lock: another transaction may have handed the task on meanwhile, and
    # the repair must not take it back from its new worker.
    locked = Task.objects.select_for_update(no_key=True).get(pk=task.pk)
    if locked.status == Task.Status.COMPLETED or locked.current_worker_id != failed_worker.pk:
        task.status = locked.status
        return None  # a late report: the task has already moved on, or waits for the Director
    # On a first attempt, the worker that just failed is the only one that ever failed the task.
    failed = {failed_worker.model_id} if locked.attempts <= 1 else None
    new = task_assign(
        task=locked,
        now=now,
        outbox=outbox,
        reason=f"repair after {failed_worker.model_id}: {reason}",
        locked=True,
        holder=failed_worker,
        failed=failed,
    )
    task.status, task.current_worker_id = locked.status, locked.current_worker_id
    return new


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


def _director_reason(actor, reason: str, what: str):
    actor = actor_require(actor, "intervene", message=f"only the Director may {what}")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("the Director must give a reason", field="reason")
    return actor, reason


def task_reassign_force(*, task: Task, reason: str, actor, now: datetime, model_id: str | None = None) -> Worker:
    """The Director takes the task from its current worker (if it has one) and gives it to `model_id`, or to the
    best eligible other worker, through the same assignment as the automation. Refused, with the task left where
    it was, when the fleet is halted, the named worker cannot take it, or no other worker is eligible."""
    actor, reason = _director_reason(actor, reason, "reassign a task")
    with acting(actor), transaction.atomic():
        task = Task.objects.select_for_update(no_key=True).get(pk=task.pk)
        if task.status == Task.Status.COMPLETED:
            raise Conflict(f"task {task.task_id!r} is completed", field="task_id")
        holder = Worker.objects.get(pk=task.current_worker_id) if task.current_worker_id else None
        if holder is not None and model_id == holder.model_id:
            raise Conflict(f"worker {model_id!r} already holds this task", field="model_id")
        mode = system_mode()
        if mode.halted:
            raise SystemHalted(mode)
        # The current worker is passed over like one that failed the task, for this choice only.
        failed = task_failed_worker_ids(task=task) | ({holder.model_id} if holder else set())
        outbox = Outbox(now)
        worker = task_assign(
            task=task,
            now=now,
            outbox=outbox,
            model_id=model_id,
            reason=f"reassigned by the Director ({actor.label}): {reason}",
            locked=True,
            failed=failed,
            refuse_halted=True,
            actor_label=actor.label,
        )
        if worker is None:  # raising rolls the release back: the task stays with its worker
            who = f"; it stays with {holder.model_id}" if holder else ""
            raise Conflict(f"no other worker is eligible for this task{who}", field="model_id")
        outbox.flush()
    return worker


def task_assign_chosen(*, task: Task, model_id: str, reason: str, actor, now: datetime) -> Worker:
    """The Director gives a task that has no worker (waiting, or never assigned) to the chosen worker. Refused
    with the reason when the worker cannot take it (out of service, lacks the capability, failed it before, on
    reduced autonomy for this priority), when the fleet is halted, or when a worker holds the task (reassign)."""
    actor, reason = _director_reason(actor, reason, "assign a task")
    if not model_id:
        raise DomainError("name the worker to assign", field="model_id")
    with acting(actor), transaction.atomic():
        task = Task.objects.select_for_update(no_key=True).get(pk=task.pk)
        if task.current_worker_id is not None and task.status != Task.Status.COMPLETED:
            holder = Worker.objects.only("model_id").get(pk=task.current_worker_id)
            raise Conflict(f"task {task.task_id!r} is held by {holder.model_id}; reassign it instead", field="task_id")
        outbox = Outbox(now)
        worker = task_assign(
            task=task,
            now=now,
            outbox=outbox,
            model_id=model_id,
            reason=f"assigned by the Director ({actor.label}): {reason}",
            locked=True,
            refuse_halted=True,
            actor_label=actor.label,
        )
        outbox.flush()
    return worker
