"""Writes on Workers: hiring, and saving a new lifecycle state."""

from django.db import IntegrityError, transaction

from aura_project.errors import Conflict, DomainError
from aura_project.history import acting
from workforce.domain.lifecycle import DEFAULT_TIER_BUDGETS, TIERS, WorkerState
from workforce.models import Worker
from workforce.services.access import actor_require
from workforce.services.events import Outbox


def worker_hire(
    *,
    model_id: str,
    name: str = "",
    provider: str = "",
    capabilities: list[str] | None = None,
    tier: str = Worker.Tier.JUNIOR,
    tier_budgets: dict | None = None,
    actor,
) -> Worker:
    """Hire a new worker at the new-hire reputation, provisional until it has been scored."""
    actor = actor_require(actor, "hire")
    if tier not in TIERS:
        raise DomainError(f"unknown tier {tier!r}", field="tier")
    if Worker.objects.filter(model_id=model_id).exists():
        raise Conflict(f"worker {model_id!r} is already on the payroll", field="model_id")
    budgets = tier_budgets or DEFAULT_TIER_BUDGETS
    try:
        with acting(actor), transaction.atomic():
            return Worker.objects.create(
                model_id=model_id,
                name=name or model_id,
                provider=(provider or model_id.split("/", 1)[0])[:100],  # a model id may be longer than a provider
                capabilities=sorted(set(capabilities or [])),
                tier=tier,
                budget=budgets[tier],
            )
    except IntegrityError:  # the same hire, concurrently: the unique model_id decides who was first
        raise Conflict(f"worker {model_id!r} is already on the payroll", field="model_id") from None


STATE_FIELDS = (
    "status",
    "tier",
    "priority",
    "budget",
    "cooldown_until",
    "suspended_until",
    "runs_since_tier_change",
    "probation_clean_runs",
)


def worker_state_save(*, worker: Worker, state: WorkerState, outbox: Outbox, reason: str) -> bool:
    """Store a new lifecycle state on a locked worker; say on the inbox when its status moved."""
    old_status = worker.status
    for name in STATE_FIELDS:
        setattr(worker, name, getattr(state, name))
    worker._change_reason = reason  # django-simple-history keeps it on the history row
    worker.save()
    if old_status != worker.status:
        until = worker.suspended_until or worker.cooldown_until
        outbox.add(
            "worker.status_changed",
            model_id=worker.model_id,
            old=old_status,
            new=worker.status,
            reason=reason,
            until=until.isoformat() if until else None,
        )
        return True
    return False


def worker_lock(*, pk: int) -> Worker:
    """Lock a worker's row for the rest of the transaction; reports on one worker queue up here.

    NO KEY UPDATE, not UPDATE: other transactions' foreign-key checks on this row (an Assignment or an
    Incident naming the worker) must not wait for it, or two reports that each hold a worker and insert a row
    naming the other's deadlock, as PostgreSQL checks Django's deferred foreign keys at commit."""
    return Worker.objects.select_for_update(no_key=True).get(pk=pk)
