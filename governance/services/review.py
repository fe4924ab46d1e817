"""The Director reviews the sanctions the spike guard held: confirm (applied now, through the same service as
the automation, naming the Director) or dismiss (the worker stays as it is). Either way the decision, its
reason and who made it are kept on the held row, and the Manager's inbox is told."""

from datetime import datetime

from django.db import transaction

from aura_project.errors import DomainError
from aura_project.history import acting
from governance.models import DisciplinaryAction, Incident, PendingSanction, Spike
from governance.selectors import settings_current, spike_config
from governance.services.discipline import actions_apply
from governance.services.overturn import incident_overturn
from workforce.domain.actor import USER
from workforce.services.access import actor_require
from workforce.services.events import Outbox
from workforce.services.workers import worker_lock

CONFIRM = "confirm"
DISMISS = "dismiss"


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
                reasons={held.action: f"held in a spike, confirmed: {reason}"},
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
        )
        outbox.flush()
    return held


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
