"""The Director's interventions as commands: for the API's /api/director/... and for any script.

Each resolves the ids it is given (404 naming the field), calls the one service the automation and the admin use
(director_intervene, action_overturn, sanction_review, hold_place/hold_lift, the task and system services), and
returns a JSON answer. `director_command` runs one in a transaction under an optional Idempotency-Key: a retry
gets the first answer back and changes nothing, as for /enforce (governance.services.commands).
"""

from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction

from aura_project.errors import DomainError, NotFound
from aura_project.history import acting
from governance.models import Action, DisciplinaryAction, Hold, Incident, PendingSanction
from governance.services.commands import body_fingerprint, command_replay, command_store
from governance.services.discipline import director_intervene
from governance.services.holds import hold_lift, hold_place
from governance.services.overturn import action_overturn
from governance.services.review import sanction_review
from workforce.models import Task, Worker
from workforce.selectors import system_mode
from workforce.services.access import actor_require, as_actor
from workforce.services.events import Outbox
from workforce.services.system import system_halt, system_resume
from workforce.services.tasks import task_assign_chosen, task_reassign_force

WORKER_ACTIONS = ("SUSPEND", "REINSTATE", "TERMINATE", "REHIRE", "BLACKLIST")
SUSPENSION_MINUTES_MAX = 366 * 24 * 60  # a year and a day; longer is a termination


def director_command(
    *, command: str, idempotency_key: str | None, body: dict, actor, now: datetime, run: Callable[[], dict]
) -> tuple[dict, bool]:
    """Run one intervention: (its answer, whether it was replayed from an earlier call with the same key)."""
    actor = actor_require(actor, "intervene", message="only the Director may intervene")
    key = f"director:{command}:{idempotency_key}" if idempotency_key else None
    fingerprint = body_fingerprint(body)
    try:
        # The actor's block is outermost, so follow-up work (a handover, the resume's routing) runs after commit.
        with acting(actor), transaction.atomic():
            if key and (replay := command_replay(key=key, fingerprint=fingerprint)) is not None:
                return replay, True
            answer = run()
            if key:
                command_store(key=key, fingerprint=fingerprint, response=answer, now=now)
        return answer, False
    except IntegrityError:
        replay = command_replay(key=key, fingerprint=fingerprint) if key else None
        if replay is None:
            raise
        return replay, True


def _worker(model_id: str) -> Worker:
    worker = Worker.objects.filter(model_id=model_id).first()
    if worker is None:
        raise NotFound(f"no worker {model_id!r}", field="model_id")
    return worker


def _task(task_id: str) -> Task:
    task = Task.objects.filter(task_id=task_id).first()
    if task is None:
        raise NotFound(f"no task {task_id!r}", field="task_id")
    return task


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _worker_answer(worker: Worker) -> dict:
    return {
        "model_id": worker.model_id,
        "status": worker.status,
        "tier": worker.tier,
        "suspended_until": _iso(worker.suspended_until),
        "cooldown_until": _iso(worker.cooldown_until),
    }


def _action_answer(record: DisciplinaryAction) -> dict:
    return {
        "id": record.pk,
        "action": record.action,
        "reason": record.reason,
        "actor": record.actor_label,
        "effective_until": _iso(record.effective_until),
        "created_at": _iso(record.created_at),
    }


def suspension_end(*, now: datetime, minutes: int | None, until: datetime | None) -> datetime | None:
    """The end of a suspension the Director chose: a length in minutes or a moment; None for the policy's."""
    if minutes is not None and until is not None:
        raise DomainError("give minutes or until, not both", field="until")
    if minutes is not None:
        if not 1 <= minutes <= SUSPENSION_MINUTES_MAX:
            raise DomainError(f"must be from 1 to {SUSPENSION_MINUTES_MAX}", field="minutes")
        return now + timedelta(minutes=minutes)
    if until is not None and until <= now:
        raise DomainError("the end must lie in the future", field="until")
    if until is not None and until > now + timedelta(minutes=SUSPENSION_MINUTES_MAX):
        raise DomainError("a suspension lasts at most a year and a day", field="until")
    return until


def director_worker_action(
    *,
    model_id: str,
    action: str,
    reason: str,
    actor,
    now: datetime,
    minutes: int | None = None,
    until: datetime | None = None,
) -> dict:
    """Suspend (for a chosen length, or the policy's), reinstate, terminate, rehire (JUNIOR, on probation) or
    blacklist a worker."""
    if action not in WORKER_ACTIONS:
        raise DomainError(f"unknown action {action!r}", field="action")
    if action != Action.SUSPEND and (minutes is not None or until is not None):
        raise DomainError("only a suspension takes a length", field="minutes" if minutes is not None else "until")
    end = suspension_end(now=now, minutes=minutes, until=until) if action == Action.SUSPEND else None
    worker = _worker(model_id)
    records = director_intervene(worker=worker, action=action, reason=reason, actor=actor, now=now, until=end)
    worker.refresh_from_db()
    return {"action": action, "worker": _worker_answer(worker), "records": [_action_answer(r) for r in records]}


def director_overturn(*, action_id: int, reason: str, actor, now: datetime) -> dict:
    """Overturn one disciplinary action (a new OVERTURN row; the worker's status is replayed)."""
    action = DisciplinaryAction.objects.filter(pk=action_id).first()
    if action is None:
        raise NotFound(f"no disciplinary action {action_id}", field="action_id")
    overturn = action_overturn(action=action, reason=reason, actor=actor, now=now)
    worker = Worker.objects.get(pk=action.worker_id)
    return {"overturned": action.pk, "overturn": _action_answer(overturn), "worker": _worker_answer(worker)}


def director_review(*, pending_id: int, decision: str, reason: str, actor, now: datetime) -> dict:
    """Confirm (apply now) or dismiss a sanction the spike guard held."""
    held = PendingSanction.objects.filter(pk=pending_id).first()
    if held is None:
        raise NotFound(f"no pending sanction {pending_id}", field="pending_id")
    held = sanction_review(sanction=held, decision=decision, reason=reason, actor=actor, now=now)
    worker = Worker.objects.get(pk=held.worker_id)
    return {
        "pending_id": held.pk,
        "action": held.action,
        "decision": held.status,
        "applied": _action_answer(held.applied) if held.applied else None,
        "worker": _worker_answer(worker),
    }


def _hold_answer(hold: Hold, worker: Worker | None, incident: Incident | None) -> dict:
    return {
        "id": hold.pk,
        "kind": hold.kind,
        "model_id": worker.model_id if worker else None,
        "incident_id": str(incident.pk) if incident else None,
        "reason": hold.reason,
        "created_by": hold.created_by_label,
        "created_at": _iso(hold.created_at),
        "lifted_by": hold.lifted_by_label or None,
        "lifted_at": _iso(hold.lifted_at),
        "lift_reason": hold.lift_reason if hold.lifted_at else None,
    }


@transaction.atomic  # the hold and its event commit together, whoever calls (the API, the admin)
def director_hold_place(
    *, kind: str, reason: str, actor, now: datetime, model_id: str | None = None, incident_id=None
) -> dict:
    """Keep a worker's records, or one incident's, from every purge; the Manager's inbox is told."""
    worker = _worker(model_id) if model_id else None
    incident = None
    if incident_id is not None:
        incident = Incident.objects.filter(pk=incident_id).first()
        if incident is None:
            raise NotFound(f"no incident {incident_id}", field="incident_id")
    who = as_actor(actor)
    hold = hold_place(kind=kind, worker=worker, incident=incident, reason=reason, actor=actor, now=now)
    answer = _hold_answer(hold, worker, incident)
    _announce(
        "hold.placed",
        worker,
        now,
        hold=hold.pk,
        hold_kind=hold.kind,
        reason=hold.reason,
        actor=who.label,
        incident_id=answer["incident_id"],
    )
    return answer


@transaction.atomic
def director_hold_release(*, hold_id: int, reason: str, actor, now: datetime) -> dict:
    """Lift an open hold, with the Director's reason (kept on the hold and the inbox event); its records fall
    under the retention purge again."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("the Director must give a reason", field="reason")
    hold = Hold.objects.select_related("worker", "incident").filter(pk=hold_id).first()
    if hold is None:
        raise NotFound(f"no hold {hold_id}", field="hold_id")
    who = as_actor(actor)
    hold = hold_lift(hold=hold, actor=actor, now=now, reason=reason)
    answer = _hold_answer(hold, hold.worker, hold.incident)
    _announce(
        "hold.lifted",
        hold.worker,
        now,
        hold=hold.pk,
        hold_kind=hold.kind,
        reason=hold.lift_reason,
        actor=who.label,
        incident_id=answer["incident_id"],
    )
    return answer


def _announce(event: str, worker: Worker | None, now: datetime, **payload) -> None:
    """Tell the Manager's inbox, in the caller's transaction (the hold services write no event themselves)."""
    with transaction.atomic():
        outbox = Outbox(now)
        outbox.add(event, model_id=worker.model_id if worker else "", **payload)
        outbox.flush()


def _task_answer(task: Task, *, previous: str | None) -> dict:
    task.refresh_from_db()
    return {
        "task_id": task.task_id,
        "status": task.status,
        "model_id": task.current_worker.model_id if task.current_worker_id else None,
        "previous": previous,
        "attempts": task.attempts,
    }


def director_task_reassign(*, task_id: str, reason: str, actor, now: datetime, model_id: str | None = None) -> dict:
    """Take a task from its worker and give it to the chosen one, or to the best other eligible worker."""
    task = _task(task_id)
    previous = task.current_worker.model_id if task.current_worker_id else None
    task_reassign_force(task=task, model_id=model_id, reason=reason, actor=actor, now=now)
    return _task_answer(task, previous=previous)


def director_task_assign(*, task_id: str, model_id: str, reason: str, actor, now: datetime) -> dict:
    """Give a task that waits for a worker to the chosen worker."""
    task = _task(task_id)
    task_assign_chosen(task=task, model_id=model_id, reason=reason, actor=actor, now=now)
    return _task_answer(task, previous=None)


def director_halt(*, reason: str, actor, now: datetime) -> dict:
    return system_halt(reason=reason, actor=actor, now=now).as_dict()


def director_resume(*, reason: str, actor, now: datetime) -> dict:
    return system_resume(reason=reason, actor=actor, now=now).as_dict()


def director_mode() -> dict:
    return system_mode().as_dict()
