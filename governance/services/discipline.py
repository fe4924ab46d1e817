"""Writes on a Worker's disciplinary record: HR's actions, the Accountant's, and the Director's."""

from datetime import UTC, datetime, timedelta

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from aura_project.errors import DomainError, NotFound
from governance.domain.detection import Violation
from governance.domain.ladder import PriorViolation, decide
from governance.models import Action, DisciplinaryAction, GovernanceSettings, Incident
from governance.selectors import (
    ladder_config,
    lifecycle_config,
    policies_current,
    settings_current,
    worker_action_record,
    worker_violation_record,
)
from governance.services.commands import body_fingerprint, command_replay, command_store
from workforce.domain.lifecycle import OUT_OF_SERVICE, apply_action
from workforce.models import Worker
from workforce.selectors import worker_state
from workforce.services.access import is_director
from workforce.services.events import Outbox
from workforce.services.tasks import worker_release_tasks
from workforce.services.workers import worker_lock, worker_state_save

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Actions that are only their effect on the worker; one that changes nothing is not recorded. Strikes and
# warnings are records in themselves and are always kept.
STATE_ONLY_ACTIONS = frozenset({"SUSPEND", "TERMINATE", "BLACKLIST", "PROMOTE", "DEMOTE", "REINSTATE"})

# DisciplinaryAction.violation_type is a varchar: PostgreSQL refuses a longer value (SQLite would keep it).
VIOLATION_TYPE_MAX = DisciplinaryAction._meta.get_field("violation_type").max_length


def actions_apply(
    *,
    worker: Worker,
    actions: list[str],
    reasons: dict[str, str],
    actor_kind: str,
    settings: GovernanceSettings,
    now: datetime,
    outbox: Outbox,
    incident: Incident | None = None,
    actor: User | None = None,
    violation_type: str = "",
) -> list[DisciplinaryAction]:
    """Apply actions to a locked worker: its new state, one DisciplinaryAction per action (and per implied
    action, such as the DEMOTE a WARNING brings), and its open tasks handed on if it left service."""
    state = worker_state(worker)
    config = lifecycle_config(settings)
    records = []
    for action in actions:
        effect = apply_action(state, action, now=now, config=config)
        if action in STATE_ONLY_ACTIONS and effect.state == state:
            continue  # e.g. SUSPEND on a worker already terminated: nothing happened, so nothing is recorded
        state = effect.state
        steps = [(action, reasons.get(action, action.lower()), effect.until)]
        steps += [(implied, f"{implied.lower()} implied by {action.lower()}", None) for implied in effect.implied]
        for name, reason, until in steps:
            records.append(
                DisciplinaryAction.objects.create(
                    worker=worker,
                    incident=incident,
                    action=name,
                    reason=reason[:500],
                    actor_kind=actor_kind,
                    actor=actor,
                    policy_version=settings.version,
                    violation_type=violation_type[:VIOLATION_TYPE_MAX],
                    effective_until=until,
                    created_at=now,
                )
            )
    if not records:
        return records
    was_in_service = worker.status not in OUT_OF_SERVICE
    worker_state_save(worker=worker, state=state, outbox=outbox, reason=", ".join(r.action for r in records))
    for record in records:
        outbox.add(
            "action.applied",
            model_id=worker.model_id,
            action=record.action,
            reason=record.reason,
            actor=actor.get_username() if actor else record.actor_kind,
            incident_id=str(incident.pk) if incident else None,
            until=record.effective_until.isoformat() if record.effective_until else None,
            action_id=record.pk,
        )
    if was_in_service and worker.status in OUT_OF_SERVICE:
        worker_release_tasks(worker=worker, now=now, outbox=outbox, reason=f"left service ({worker.status.lower()})")
    return records


def hr_decide(
    *,
    worker: Worker,
    violations: list[Violation],
    settings: GovernanceSettings,
    now: datetime,
    history: list[str] | None = None,
):
    """Run the HR ladder against the worker's stored record, or against a caller's `history` (the seed's
    contract: a list of prior violation types, taken as recent)."""
    # The record is what retention keeps; retention 0 means "keep forever", so the whole record counts.
    retention_start = now - timedelta(days=settings.retention_days) if settings.retention_days else EPOCH
    if history is None:
        violation_record = worker_violation_record(worker=worker, since=retention_start)
    else:
        violation_record = [PriorViolation(type=vtype, at=now) for vtype in history]
    return decide(
        violations=violations,
        violation_record=violation_record,
        action_record=worker_action_record(worker=worker, since=retention_start),
        status=worker.status,
        now=now,
        policies=policies_current(),
        config=ladder_config(settings),
    )


def enforcement_run(
    *,
    model_id: str,
    violations: list[tuple[str, int]],
    history: list[str] | None,
    now: datetime,
    idempotency_key: str | None = None,
) -> dict:
    """The seed's /enforce: decide by policy and apply the actions to the worker. With an idempotency key,
    a retry returns the first answer and applies nothing again (a second STRIKE would read as a repeat)."""
    key = f"enforce:{idempotency_key}" if idempotency_key else None
    fingerprint = body_fingerprint({"model_id": model_id, "violations": violations, "history": history})
    try:
        return _enforce(model_id, violations, history, now, key, fingerprint)
    except IntegrityError:
        # A concurrent duplicate stored the key first; its answer is the answer.
        replay = command_replay(key=key, fingerprint=fingerprint) if key else None
        if replay is None:
            raise
        return replay


def _enforce(model_id, violations, history, now, key, fingerprint) -> dict:
    with transaction.atomic():
        worker = Worker.objects.filter(model_id=model_id).first()
        if worker is None:
            raise NotFound(f"no worker {model_id!r}", field="model_id")
        worker = worker_lock(pk=worker.pk)
        if key and (replay := command_replay(key=key, fingerprint=fingerprint)) is not None:
            return replay
        settings = settings_current()
        policies = policies_current()
        for index, (vtype, _sev) in enumerate(violations):
            if vtype not in policies:
                raise DomainError(f"no policy for violation {vtype!r}", field=f"violations[{index}]")
        decision = hr_decide(
            worker=worker,
            violations=[Violation(t, s) for t, s in violations],
            settings=settings,
            now=now,
            history=history,
        )
        outbox = Outbox(now)
        actions_apply(
            worker=worker,
            actions=decision.actions,
            reasons=decision.reasons,
            actor_kind=DisciplinaryAction.Actor.HR,
            settings=settings,
            now=now,
            outbox=outbox,
            violation_type=",".join(dict.fromkeys(t for t, _ in violations)),
        )
        outbox.flush()
        answer = {
            "actions": decision.actions,
            "status": "executed",
            "severity": decision.severity,
            "worker_status": worker.status,
            "policy_version": settings.version,
        }
        if key:
            command_store(key=key, fingerprint=fingerprint, response=answer, now=now)
    return answer


def director_intervene(
    *, worker: Worker, action: str, reason: str, actor: User, now: datetime
) -> list[DisciplinaryAction]:
    """The Director acts directly on a worker (rehire, blacklist, suspend, ...). The reason is required."""
    if not (isinstance(actor, User) and actor.is_active and is_director(actor)):
        raise DomainError("only the Director may intervene", field="actor", code="forbidden")
    if not reason.strip():
        raise DomainError("the Director must give a reason", field="reason")
    if action not in Action.values or action == Action.OVERTURN:
        raise DomainError(f"unknown action {action!r}", field="action")
    with transaction.atomic():
        worker = worker_lock(pk=worker.pk)
        outbox = Outbox(now)
        records = actions_apply(
            worker=worker,
            actions=[action],
            reasons={action: reason},
            actor_kind=DisciplinaryAction.Actor.DIRECTOR,
            actor=actor,
            settings=settings_current(),
            now=now,
            outbox=outbox,
        )
        outbox.flush()
    return records
