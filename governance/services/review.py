"""The Director reviews the sanctions held for the Director (by the spike guard, or a senior's escalation):
confirm (applied now, through the same service as the automation, naming the Director) or dismiss (the worker
stays as it is; an escalated worker is back in routing). Either way the decision, its reason and who made it are
kept on the held row, and the Manager's inbox is told. An escalation nobody answered in time applies itself
(escalations_apply_due, run by the per-minute timers), recorded as the timers' doing."""

import logging
from datetime import datetime

from django.db import transaction

from aura_project.errors import DomainError
from aura_project.history import acting
from governance.domain.escalation import applied_itself_reason, escalation_due, waited_minutes
from governance.models import DisciplinaryAction, Incident, PendingSanction, Spike
from governance.selectors import settings_current, spike_config
from governance.services.discipline import actions_apply
from governance.services.overturn import incident_overturn
from workforce.domain.actor import USER
from workforce.services.access import actor_require
from workforce.services.events import Outbox
from workforce.services.workers import worker_lock

log = logging.getLogger(__name__)

CONFIRM = "confirm"
DISMISS = "dismiss"
# How a confirmed sanction's reason says it was held.
_HELD_AS = {PendingSanction.Kind.SPIKE: "held in a spike", PendingSanction.Kind.ESCALATION: "escalated"}


def sanction_review(*, sanction: PendingSanction, decision: str, reason: str, actor, now: datetime) -> PendingSanction:
    """Confirm or dismiss one held sanction. A sanction already decided is refused."""
    actor = actor_require(actor, "review", message="only the Director may review held sanctions")
    if decision not in (CONFIRM, DISMISS):
        raise DomainError("decide confirm or dismiss", field="decision")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("the Director must give a reason", field="reason")
    with acting(actor), transaction.atomic():
        worker = worker_lock(pk=sanction.worker_id)
        held = PendingSanction.objects.select_for_update().get(pk=sanction.pk)
        if held.status != PendingSanction.Status.PENDING:
            raise DomainError(f"this sanction was already {held.status.lower()}", field="sanction", code="decided")
        outbox = Outbox(now)
        applied = None
        if decision == CONFIRM:
            records = actions_apply(
                worker=worker,
                actions=[held.action],
                reasons={held.action: f"{_HELD_AS[held.kind]}, confirmed: {reason}"},
                actor_kind=DisciplinaryAction.Actor.DIRECTOR,
                actor=actor,
                settings=settings_current(),
                now=now,
                outbox=outbox,
                incident=held.incident,
                violation_type=held.violation_type,
            ).records
            applied = records[0] if records else None
        held.status = PendingSanction.Status.CONFIRMED if decision == CONFIRM else PendingSanction.Status.DISMISSED
        held.decided_at = now
        held.decided_by_id = actor.user_id if actor.kind == USER else None
        held.decision_reason = f"{actor.label}: {reason}"[:500]
        held.applied = applied
        held._change_reason = f"{decision} by {actor.label}"[:100]
        held.save()
        outbox.add(
            "sanction.reviewed",
            model_id=worker.model_id,
            pending_id=held.pk,
            action=held.action,
            decision=held.status,
            reason=reason,
            actor=actor.label,
            applied=bool(applied),
            held_as=held.kind,
        )
        outbox.flush()
    return held


def escalations_apply_due(*, now: datetime, actor) -> int:
    """Apply every senior's escalation whose time is up and that the Director has not answered, each in its own
    transaction, recorded as the timers' (the actor) doing with the wait it was given: "applied after 30 minutes
    without the Director's answer". Returns how many applied. One that fails is logged and left for the next run."""
    actor = actor_require(actor, "discipline")
    due = PendingSanction.objects.filter(
        status=PendingSanction.Status.PENDING, kind=PendingSanction.Kind.ESCALATION, apply_at__lte=now
    )
    applied = 0
    for pk, worker_id in due.order_by("apply_at", "pk").values_list("pk", "worker_id"):
        try:
            applied += _apply_itself(pk=pk, worker_id=worker_id, now=now, actor=actor)
        except DomainError as exc:
            log.warning("escalated sanction %s not applied: %s", pk, exc.message)
    return applied


def _apply_itself(*, pk: int, worker_id: int, now: datetime, actor) -> int:
    with acting(actor), transaction.atomic():
        worker = worker_lock(pk=worker_id)  # the worker first, as in sanction_review: no deadlock with a Director
        held = PendingSanction.objects.select_for_update().get(pk=pk)
        if held.status != PendingSanction.Status.PENDING or not escalation_due(apply_at=held.apply_at, now=now):
            return 0  # the Director answered meanwhile
        because = applied_itself_reason(waited_minutes(created_at=held.created_at, apply_at=held.apply_at))
        outbox = Outbox(now)
        records = actions_apply(
            worker=worker,
            actions=[held.action],
            reasons={held.action: f"escalated, {because}: {held.reason}"},
            actor_kind=DisciplinaryAction.Actor.SYSTEM,
            actor=actor,
            settings=settings_current(),
            now=now,
            outbox=outbox,
            incident=held.incident,
            violation_type=held.violation_type,
        ).records
        held.status = PendingSanction.Status.APPLIED
        held.decided_at = now
        held.decision_reason = f"{actor.label}: {because}"[:500]
        held.applied = records[0] if records else None
        held._change_reason = f"applied itself: {actor.label}"[:100]
        held.save()
        outbox.add(
            "sanction.applied_itself",
            model_id=worker.model_id,
            pending_id=held.pk,
            action=held.action,
            reason=because,
            actor=actor.label,
            applied=bool(records),
            action_id=records[0].pk if records else None,
        )
        outbox.flush()
    return 1


def spike_dismiss(*, spike: Spike, reason: str, actor, now: datetime) -> dict[str, int]:
    """The Director's verdict that a spike was a detector fault (or a bad task, or a provider outage), not
    misconduct: every sanction it held is dismissed, and every incident in its scope from the window before it
    began to a window past its last sighting (or now) is overturned, so none of it counts on anyone's record or
    reputation."""
    actor = actor_require(actor, "review", message="only the Director may dismiss a spike")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("the Director must give a reason", field="reason")
    config = spike_config(settings_current())
    # From the window before the guard saw it to a window past its last held sanction (or now, if sooner).
    until = min(now, spike.last_seen_at + config.window)
    incidents = Incident.objects.filter(
        reported_at__gte=spike.started_at - config.window, reported_at__lte=until
    ).exclude(status=Incident.Status.OVERTURNED)
    kind, _, name = spike.scope.partition(":")
    if kind == "provider":
        incidents = incidents.filter(worker__provider=name)
    counts = {"incidents_overturned": 0, "sanctions_dismissed": 0}
    for incident in incidents.order_by("reported_at", "pk"):
        if kind == "violation" and name not in {vtype for vtype, _ in incident.violations}:
            continue
        incident_overturn(incident=incident, reason=f"spike {spike.pk} dismissed: {reason}", actor=actor, now=now)
        counts["incidents_overturned"] += 1
    for held in spike.sanctions.filter(status=PendingSanction.Status.PENDING).order_by("pk"):
        sanction_review(sanction=held, decision=DISMISS, reason=f"spike dismissed: {reason}", actor=actor, now=now)
        counts["sanctions_dismissed"] += 1
    return counts
