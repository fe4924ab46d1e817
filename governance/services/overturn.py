"""The Director overturns a DisciplinaryAction: a new OVERTURN row that points at it, never an edit.

An overturned strike or warning stops counting at once (the selectors skip overturned actions). If the incident
is left with no standing action it is OVERTURNED, and an overturned incident counts nowhere: its penalty points
come back and the reputation is recomputed from the evidence that still stands (governance.services.reputation).
The worker's status is recomputed from every action that still stands, so overturning a TERMINATE issued with
a SUSPEND leaves the worker suspended until the suspension ends.
"""

from dataclasses import replace
from datetime import datetime

from django.db import transaction

from aura_project.errors import DomainError
from aura_project.history import acting
from governance.models import Action, DisciplinaryAction, Incident
from governance.selectors import settings_current, worker_recorded_actions
from governance.services.reputation import reputation_recompute
from workforce.domain.actor import USER, Actor
from workforce.domain.lifecycle import OUT_OF_SERVICE, status_from_record, tier_down, tier_up
from workforce.models import Worker
from workforce.selectors import worker_state
from workforce.services.access import actor_require
from workforce.services.events import Outbox
from workforce.services.handover import handover_request
from workforce.services.workers import worker_lock, worker_state_save

# Actions whose overturn can change the worker's status; the status is then replayed from the record.
STATUS_ACTIONS = frozenset(
    {
        Action.WARNING,
        Action.SUSPEND,
        Action.TERMINATE,
        Action.BLACKLIST,
        Action.REHIRE,
        Action.REINSTATE,
        Action.CONFIRM,
    }
)


def action_overturn(*, action: DisciplinaryAction, reason: str, actor, now: datetime) -> DisciplinaryAction:
    """Overturn one action, with the Director's reason. Returns the new OVERTURN row."""
    actor = actor_require(actor, "overturn", message="only the Director may overturn an action")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("the Director must give a reason", field="reason")
    with acting(actor), transaction.atomic():
        # Lock the worker, as every action on it does, then read the action fresh under the lock.
        worker = worker_lock(pk=action.worker_id)
        outbox = Outbox(now)
        overturn = _overturn_one(worker, action.pk, reason, actor, now, outbox)
        _settle(worker, [overturn], reason, actor, now, outbox)
        outbox.flush()
    return overturn


def incident_overturn(*, incident: Incident, reason: str, actor, now: datetime) -> list[DisciplinaryAction]:
    """Overturn an incident as a whole: each of its standing actions, and the incident itself (also one that
    had no action, being the same step as an earlier sanction)."""
    actor = actor_require(actor, "overturn", message="only the Director may overturn an incident")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("the Director must give a reason", field="reason")
    with acting(actor), transaction.atomic():
        worker = worker_lock(pk=incident.worker_id)
        incident = Incident.objects.get(pk=incident.pk)
        if incident.status == Incident.Status.OVERTURNED:
            raise DomainError("this incident was already overturned", field="incident", code="already_overturned")
        outbox = Outbox(now)
        standing = incident.actions.exclude(action=Action.OVERTURN).filter(overturned_by__isnull=True)
        overturns = [
            _overturn_one(worker, pk, reason, actor, now, outbox) for pk in standing.values_list("pk", flat=True)
        ]
        _close_incident(incident, reason, actor, now)
        _settle(worker, overturns, reason, actor, now, outbox, incidents_changed=True)
        outbox.flush()
    return overturns


def _overturn_one(worker: Worker, action_pk: int, reason: str, actor: Actor, now, outbox: Outbox) -> DisciplinaryAction:
    old = DisciplinaryAction.objects.select_related("incident").get(pk=action_pk)
    if old.action == Action.OVERTURN:
        raise DomainError("an overturn cannot itself be overturned", field="action", code="is_overturn")
    if DisciplinaryAction.objects.filter(overturns=old).exists():
        raise DomainError("this action was already overturned", field="action", code="already_overturned")
    overturn = DisciplinaryAction.objects.create(
        worker=worker,
        incident=old.incident,
        action=Action.OVERTURN,
        overturns=old,
        reason=reason[:500],
        actor_kind=DisciplinaryAction.Actor.DIRECTOR,
        actor_id=actor.user_id if actor.kind == USER else None,
        actor_label=actor.label,
        policy_version=settings_current().version,
        violation_type=old.violation_type,
        created_at=now,
    )
    outbox.add(
        "action.applied",
        model_id=worker.model_id,
        action=Action.OVERTURN.value,
        reason=overturn.reason,
        actor=actor.label,
        actor_kind=overturn.actor_kind,
        incident_id=str(old.incident_id) if old.incident_id else None,
        until=None,
        action_id=overturn.pk,
        overturns=old.pk,
        overturned_action=old.action,
    )
    return overturn


def _close_incident(incident: Incident, reason: str, actor: Actor, now) -> None:
    incident.status = Incident.Status.OVERTURNED
    incident.resolved_at = now
    incident._change_reason = f"overturned by {actor.label}: {reason}"[:100]
    incident.save(update_fields=["status", "resolved_at"])


def _settle(worker: Worker, overturns, reason: str, actor: Actor, now, outbox: Outbox, incidents_changed=False):
    """After overturns: close incidents left with nothing standing, restore the tier a PROMOTE or DEMOTE
    moved, replay the status from the standing record, and recompute the reputation."""
    for overturn in overturns:
        incident = overturn.incident
        if incident is not None and incident.status != Incident.Status.OVERTURNED:
            standing = incident.actions.exclude(action=Action.OVERTURN).filter(overturned_by__isnull=True).exists()
            if not standing:
                _close_incident(incident, reason, actor, now)
                incidents_changed = True
    state = worker_state(worker)
    overturned = [o.overturns.action for o in overturns]
    for action in overturned:
        if action == Action.DEMOTE:
            state = replace(state, tier=tier_up(state.tier))
        elif action == Action.PROMOTE:
            state = replace(state, tier=tier_down(state.tier))
    if state.tier != worker.tier:
        budgets = settings_current().tier_budgets
        state = replace(state, budget=budgets.get(state.tier, state.budget), runs_since_tier_change=0)
    if STATUS_ACTIONS.intersection(overturned):
        status, cooldown_until, suspended_until = status_from_record(worker_recorded_actions(worker=worker), now=now)
        state = replace(state, status=status, cooldown_until=cooldown_until, suspended_until=suspended_until)
    was_in_service = worker.status not in OUT_OF_SERVICE
    if state != worker_state(worker):
        names = "+".join(dict.fromkeys(overturned))
        worker_state_save(worker=worker, state=state, outbox=outbox, reason=f"{names} overturned: {reason}"[:100])
    if was_in_service and worker.status in OUT_OF_SERVICE:
        handover_request(
            worker=worker, now=now, reason=f"left service ({worker.status.lower()})", actor_label=actor.label
        )
    if incidents_changed:
        reputation_recompute(
            worker=worker, reason=f"incident overturned: {reason}", actor=actor, now=now, outbox=outbox
        )
