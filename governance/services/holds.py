"""Holds: an open appeal or a Director's hold keeps a worker's or an incident's records from every purge.

Only the Director places or lifts one. A hold is lifted, never deleted, so a purge's exemptions stay explained.
"""

from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction

from aura_project.errors import DomainError
from governance.models import Hold, Incident
from workforce.models import Worker
from workforce.services.access import is_director


def _require_director(actor: User | None) -> None:
    if not is_director(actor):
        raise DomainError("only the Director may place or lift a hold", field="actor", code="forbidden")


def _user(actor) -> User | None:
    """The user to name on the hold; a Director's service key has none (its label goes on the inbox event)."""
    return actor if isinstance(actor, User) else None


def hold_place(
    *,
    kind: str,
    worker: Worker | None = None,
    incident: Incident | None = None,
    reason: str,
    actor: User,
    now: datetime,
) -> Hold:
    """Put a worker's records, or one incident with its report, actions and penalties, beyond the purge."""
    _require_director(actor)
    if kind not in Hold.Kind.values:
        raise DomainError(f"unknown hold kind {kind!r}", field="kind")
    if worker is None and incident is None:
        raise DomainError("a hold covers a worker or an incident", field="worker")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("a reason is required", field="reason")
    with transaction.atomic():
        return Hold.objects.create(
            kind=kind, worker=worker, incident=incident, reason=reason[:500], created_by=_user(actor), created_at=now
        )


def hold_lift(*, hold: Hold, actor: User, now: datetime) -> Hold:
    """Lift an open hold; its records fall under the retention purge again. Lifting twice is refused."""
    _require_director(actor)
    with transaction.atomic():
        # Locked, so two Directors lifting at once record one lift, not the later one over the earlier.
        hold = Hold.objects.select_for_update().get(pk=hold.pk)
        if hold.lifted_at is not None:
            raise DomainError(f"the hold was already lifted on {hold.lifted_at:%Y-%m-%d %H:%M}", field="hold")
        hold.lifted_at = now
        hold.lifted_by = _user(actor)
        hold.save(update_fields=["lifted_at", "lifted_by"])
    return hold
