"""The Director overturns a DisciplinaryAction: a new OVERTURN row that points at it, never an edit.

An overturned strike or warning stops counting at once (the selectors skip overturned actions). If the incident
is left with no standing action it is OVERTURNED; if the action is what keeps the worker suspended or
terminated, the worker is reinstated.
"""

from dataclasses import replace
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q

from aura_project.errors import DomainError
from governance.models import Action, DisciplinaryAction, Incident
from governance.selectors import settings_current
from workforce.domain.lifecycle import ACTIVE
from workforce.models import Worker
from workforce.selectors import worker_state
from workforce.services.access import is_director
from workforce.services.events import Outbox
from workforce.services.workers import worker_lock, worker_state_save

# Actions that set a worker's status for good (not a cooldown): the latest standing one explains the status.
STATUS_SETTERS = (Action.SUSPEND, Action.TERMINATE, Action.BLACKLIST, Action.REHIRE, Action.REINSTATE)
# What each overturnable action leaves the worker in.
LEAVES_STATUS = {Action.SUSPEND: Worker.Status.SUSPENDED, Action.TERMINATE: Worker.Status.TERMINATED}


def _keeps_worker_out(*, action: str, worker_status: str, later_status_setters: int) -> bool:
    """Pure: the overturned action is why the worker is out of service now, when it put the worker in the
    status it still holds and no later standing action has set the status since."""
    return LEAVES_STATUS.get(action) == worker_status and later_status_setters == 0


def action_overturn(*, action: DisciplinaryAction, reason: str, actor: User, now: datetime) -> DisciplinaryAction:
    """Overturn one action, with the Director's reason. Returns the new OVERTURN row."""
    if not is_director(actor):
        raise DomainError("only the Director may overturn an action", field="actor", code="forbidden")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("the Director must give a reason", field="reason")
    with transaction.atomic():
        # 1. Lock the worker, as every action on it does, then read the action fresh under the lock.
        worker = worker_lock(pk=action.worker_id)
        old = DisciplinaryAction.objects.select_related("incident").get(pk=action.pk)
        if old.action == Action.OVERTURN:
            raise DomainError("an overturn cannot itself be overturned", field="action", code="is_overturn")
        if DisciplinaryAction.objects.filter(overturns=old).exists():
            raise DomainError("this action was already overturned", field="action", code="already_overturned")
        settings = settings_current()
        # 2. The overturn itself.
        overturn = DisciplinaryAction.objects.create(
            worker=worker,
            incident=old.incident,
            action=Action.OVERTURN,
            overturns=old,
            reason=reason[:500],
            actor_kind=DisciplinaryAction.Actor.DIRECTOR,
            actor=actor,
            policy_version=settings.version,
            violation_type=old.violation_type,
            created_at=now,
        )
        outbox = Outbox(now)
        # 3. The incident: overturned once nothing on it stands. Only its status and resolved_at may move.
        incident = old.incident
        if incident is not None:
            standing = incident.actions.exclude(action=Action.OVERTURN).filter(overturned_by__isnull=True).exists()
            if not standing and incident.status != Incident.Status.OVERTURNED:
                incident.status = Incident.Status.OVERTURNED
                incident.resolved_at = now
                incident._change_reason = f"overturned by {actor.get_username()}: {reason}"[:100]
                incident.save(update_fields=["status", "resolved_at"])
        # 4. The worker: back in service if this action is what keeps it out.
        later = (
            DisciplinaryAction.objects.filter(worker=worker, action__in=STATUS_SETTERS, overturned_by__isnull=True)
            .filter(Q(created_at__gt=old.created_at) | Q(created_at=old.created_at, pk__gt=old.pk))
            .count()
        )
        if _keeps_worker_out(action=old.action, worker_status=worker.status, later_status_setters=later):
            state = replace(worker_state(worker), status=ACTIVE, cooldown_until=None, suspended_until=None)
            worker_state_save(
                worker=worker, state=state, outbox=outbox, reason=f"{old.action} overturned: {reason}"[:100]
            )
        outbox.add(
            "action.applied",
            model_id=worker.model_id,
            action=Action.OVERTURN.value,
            reason=overturn.reason,
            actor=actor.get_username(),
            incident_id=str(incident.pk) if incident else None,
            until=None,
            action_id=overturn.pk,
            overturns=old.pk,
            overturned_action=old.action,
        )
        outbox.flush()
    return overturn
