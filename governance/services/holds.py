"""Holds: an open appeal or a Director's hold keeps a worker's or an incident's records from every purge.

Only the Director places or lifts one. A hold is lifted, never deleted, so a purge's exemptions stay explained.
The row names who placed it and who lifted it, and why, by the actor's label (user:... or key:...): a Director's
service key has no user to point at, so the label is the record and the user columns are filled for people only.
"""

from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction

from aura_project.errors import DomainError
from governance.models import Hold, Incident
from workforce.domain.actor import Actor
from workforce.models import Worker
from workforce.services.access import as_actor, is_director


def _require_director(actor) -> Actor:
    """The Director acting, as an Actor; anyone else is refused."""
    if not is_director(actor):
        raise DomainError("only the Director may place or lift a hold", field="actor", code="forbidden")
    return as_actor(actor)


def hold_place(
    *,
    kind: str,
    worker: Worker | None = None,
    incident: Incident | None = None,
    reason: str,
    actor: User | Actor,
    now: datetime,
) -> Hold:
    """Put a worker's records, or one incident with its report, actions and penalties, beyond the purge."""
    who = _require_director(actor)
    if kind not in Hold.Kind.values:
        raise DomainError(f"unknown hold kind {kind!r}", field="kind")
    if worker is None and incident is None:
        raise DomainError("a hold covers a worker or an incident", field="worker")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("a reason is required", field="reason")
    with transaction.atomic():
        return Hold.objects.create(
            kind=kind,
            worker=worker,
            incident=incident,
            reason=reason[: Hold._meta.get_field("reason").max_length],
            created_by_id=who.user_id,  # a person; a key has none, and its label says who
            created_by_label=who.label,
            created_at=now,
        )


def hold_lift(*, hold: Hold, actor: User | Actor, now: datetime, reason: str = "") -> Hold:
    """Lift an open hold, with the Director's reason; its records fall under the retention purge again. Lifting
    twice is refused."""
    who = _require_director(actor)
    reason = (reason or "").strip()[: Hold._meta.get_field("lift_reason").max_length]
    with transaction.atomic():
        # Locked, so two Directors lifting at once record one lift, not the later one over the earlier.
        hold = Hold.objects.select_for_update().get(pk=hold.pk)
        if hold.lifted_at is not None:
            raise DomainError(f"the hold was already lifted on {hold.lifted_at:%Y-%m-%d %H:%M}", field="hold")
        hold.lifted_at = now
        hold.lifted_by_id = who.user_id
        hold.lifted_by_label = who.label
        hold.lift_reason = reason
        hold.save(update_fields=["lifted_at", "lifted_by", "lifted_by_label", "lift_reason"])
    return hold
