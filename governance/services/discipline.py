"""Writes on a Worker's disciplinary record: HR's actions, the Accountant's, and the Director's."""

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import F

from aura_project.errors import DomainError, NotFound
from aura_project.history import acting
from governance.domain.detection import Violation
from governance.domain.escalation import escalation_deadline
from governance.domain.ladder import PriorViolation, decide
from governance.domain.spike import first_spike
from governance.models import Action, DisciplinaryAction, GovernanceSettings, Incident, PendingSanction, Spike
from governance.selectors import (
    ladder_config,
    lifecycle_config,
    policies_for,
    settings_current,
    spike_config,
    spike_figures,
    spike_ongoing,
    worker_record,
)
from governance.services.commands import body_fingerprint, command_replay, command_store
from workforce.domain.actor import USER, Actor
from workforce.domain.lifecycle import OUT_OF_SERVICE, apply_action, intervention_problem
from workforce.models import Worker
from workforce.selectors import worker_state
from workforce.services.access import actor_require
from workforce.services.events import Outbox
from workforce.services.handover import handover_request
from workforce.services.workers import worker_lock, worker_state_save

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Actions that are only their effect on the worker; one that changes nothing is not recorded. Strikes and
# warnings are records in themselves and are always kept.
STATE_ONLY_ACTIONS = frozenset({"SUSPEND", "TERMINATE", "BLACKLIST", "PROMOTE", "DEMOTE", "REINSTATE", "CONFIRM"})
# What the spike guard holds for the Director instead of applying: the sanctions that empty a fleet.
HELD_IN_A_SPIKE = frozenset({"SUSPEND", "TERMINATE", "BLACKLIST"})
# While a fleet-wide spike was measured this recently, a held sanction does not measure it again.
SPIKE_RECHECK = timedelta(minutes=5)
_SPIKE_LOCK = 7_301_002  # PostgreSQL advisory lock: one spike, one event, however many reports race

# DisciplinaryAction.violation_type is a varchar: PostgreSQL refuses a longer value (SQLite would keep it).
VIOLATION_TYPE_MAX = DisciplinaryAction._meta.get_field("violation_type").max_length


@dataclass
class Applied:
    """What actions_apply did: the actions recorded and the sanctions held for review."""

    records: list[DisciplinaryAction] = field(default_factory=list)
    held: list[PendingSanction] = field(default_factory=list)


def actions_apply(
    *,
    worker: Worker,
    actions: list[str],
    reasons: dict[str, str],
    actor_kind: str,
    actor: Actor,
    settings: GovernanceSettings,
    now: datetime,
    outbox: Outbox,
    incident: Incident | None = None,
    violation_type: str = "",
    guard: bool = False,
    until: datetime | None = None,
) -> Applied:
    """Apply actions to a locked worker: its new state, one DisciplinaryAction per action (and per implied
    action, such as the DEMOTE a WARNING brings), and, if it left service, a handover of its open tasks, which
    runs once this transaction has committed (workforce.services.handover).

    With `guard` (HR's and the Accountant's automation), a suspension, termination or blacklisting during a
    spike is held for the Director's review instead (governance.domain.spike), and one of a SENIOR or PRINCIPAL
    worker waits for the Director's answer until its time to apply itself (governance.domain.escalation), the
    worker out of routing meanwhile. `until` overrides the end of a suspension or cooldown (a Director's chosen
    length)."""
    state = worker_state(worker)
    config = lifecycle_config(settings)
    result = Applied()
    spike: Spike | None | bool = False  # False: not looked at yet
    tier = state.tier  # a senior's escalation goes by the tier it was judged at, before any DEMOTE of this call
    for action in actions:
        effect = apply_action(state, action, now=now, config=config)
        if action in STATE_ONLY_ACTIONS and effect.state == state:
            continue  # e.g. SUSPEND on a worker already terminated: nothing happened, so nothing is recorded
        if guard and action in HELD_IN_A_SPIKE:
            if spike is False:
                spike = _spike_for(
                    worker=worker, violation_type=violation_type, settings=settings, now=now, outbox=outbox
                )
            if spike is not None:
                result.held.append(
                    _hold(
                        worker,
                        spike,
                        action,
                        reasons,
                        actor_kind,
                        actor,
                        settings,
                        now,
                        outbox,
                        incident,
                        violation_type,
                    )
                )
                continue
        deadline = escalation_deadline(tier=tier, action=action, minutes=settings.escalation_minutes, now=now)
        if guard and deadline is not None:
            escalated = _escalate(
                worker=worker,
                tier=tier,
                action=action,
                apply_at=deadline,
                reason=reasons.get(action, action.lower()),
                actor_kind=actor_kind,
                actor=actor,
                settings=settings,
                now=now,
                outbox=outbox,
                incident=incident,
                violation_type=violation_type,
            )
            result.held += [escalated] if escalated is not None else []
            continue
        if until is not None and effect.until is not None:
            effect = _with_until(effect, action, until)
        state = effect.state
        steps = [(action, reasons.get(action, action.lower()), effect.until)]
        steps += [(implied, f"{implied.lower()} implied by {action.lower()}", None) for implied in effect.implied]
        for name, reason, ends in steps:
            result.records.append(
                DisciplinaryAction.objects.create(
                    worker=worker,
                    incident=incident,
                    action=name,
                    reason=reason[:500],
                    actor_kind=actor_kind,
                    actor_id=actor.user_id if actor.kind == USER else None,
                    actor_label=actor.label,
                    policy_version=settings.version,
                    violation_type=violation_type[:VIOLATION_TYPE_MAX],
                    effective_until=ends,
                    created_at=now,
                )
            )
    if any(h.kind == PendingSanction.Kind.ESCALATION for h in result.held) and worker.status not in OUT_OF_SERVICE:
        # Out of routing until the Director answers, and its open tasks go on elsewhere meanwhile: the handover's
        # lock on the worker also waits for an assignment to it still in flight (workforce.services.handover).
        handover_request(
            worker=worker, now=now, reason="held: a sanction awaits the Director's answer", actor_label=actor.label
        )
    if not result.records:
        return result
    was_in_service = worker.status not in OUT_OF_SERVICE
    worker_state_save(worker=worker, state=state, outbox=outbox, reason=", ".join(r.action for r in result.records))
    for record in result.records:
        outbox.add(
            "action.applied",
            model_id=worker.model_id,
            action=record.action,
            reason=record.reason,
            actor=actor.label,
            actor_kind=record.actor_kind,
            incident_id=str(incident.pk) if incident else None,
            until=record.effective_until.isoformat() if record.effective_until else None,
            action_id=record.pk,
        )
    if was_in_service and worker.status in OUT_OF_SERVICE:
        handover_request(
            worker=worker, now=now, reason=f"left service ({worker.status.lower()})", actor_label=actor.label
        )
    return result


def _with_until(effect, action: str, until: datetime):
    if action == "SUSPEND":
        return replace(effect, state=replace(effect.state, suspended_until=until), until=until)
    if action == "WARNING":
        return replace(effect, state=replace(effect.state, cooldown_until=until), until=until)
    return effect


def _spike_for(*, worker: Worker, violation_type: str, settings, now: datetime, outbox: Outbox) -> Spike | None:
    """The spike this sanction falls in, or None. A new spike is recorded once and told to the Manager once."""
    config = spike_config(settings)
    ongoing = spike_ongoing(now=now, config=config)
    if ongoing is not None and ongoing.scope == "fleet" and now - ongoing.last_seen_at < SPIKE_RECHECK:
        return ongoing  # the widest spike, measured moments ago: hold without measuring again
    types = [t for t in violation_type.split(",") if t]
    found = first_spike(spike_figures(worker=worker, violation_types=types, now=now, config=config), config)
    if found is None:
        return None  # no longer (or not) a spike: a spike ends a window after it was last measured
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_SPIKE_LOCK])
    spike = spike_ongoing(now=now, config=config)
    if spike is not None:
        spike.last_seen_at = now  # measured and still spiking
        Spike.objects.filter(pk=spike.pk).update(last_seen_at=now)
    if spike is not None and _breadth(found.scope) < _breadth(spike.scope):
        # The spike has spread (a provider's, then the fleet's): one spike, widened, still one event.
        spike.scope, spike.figures = found.scope, found.as_dict()
        Spike.objects.filter(pk=spike.pk).update(scope=spike.scope, figures=spike.figures)
    if spike is None:
        spike = Spike.objects.create(
            scope=found.scope,
            figures=found.as_dict(),
            settings_version=settings.version,
            started_at=now,
            last_seen_at=now,
        )
        outbox.add("governance.spike", spike_id=spike.pk, settings_version=settings.version, **found.as_dict())
    return spike


def _breadth(scope: str) -> int:
    """fleet (0) is wider than provider:<name> (1), which is wider than violation:<type> (2)."""
    return {"fleet": 0, "provider": 1}.get(scope.partition(":")[0], 2)


def _hold(worker, spike, action, reasons, actor_kind, actor, settings, now, outbox, incident, violation_type):
    held = PendingSanction.objects.create(
        worker=worker,
        incident=incident,
        spike=spike,
        action=action,
        reason=reasons.get(action, action.lower())[:500],
        actor_kind=actor_kind,
        actor_label=actor.label,
        violation_type=violation_type[:VIOLATION_TYPE_MAX],
        settings_version=settings.version,
        created_at=now,
    )
    Spike.objects.filter(pk=spike.pk).update(held=F("held") + 1)
    spike.held += 1
    outbox.add(
        "sanction.held",
        model_id=worker.model_id,
        action=action,
        reason=held.reason,
        pending_id=held.pk,
        spike_id=spike.pk,
        scope=spike.scope,
        incident_id=str(incident.pk) if incident else None,
    )
    return held


def _escalate(
    *,
    worker: Worker,
    tier: str,
    action: str,
    apply_at: datetime,
    reason: str,
    actor_kind: str,
    actor: Actor,
    settings: GovernanceSettings,
    now: datetime,
    outbox: Outbox,
    incident: Incident | None,
    violation_type: str,
) -> PendingSanction | None:
    """Hold a senior's sanction for the Director until `apply_at` (governance.domain.escalation); the timers apply
    it then if nobody has answered (governance.services.review.escalations_apply_due). None if the same action
    already waits for the worker: the one held covers it."""
    waiting = PendingSanction.objects.filter(
        worker=worker, kind=PendingSanction.Kind.ESCALATION, action=action, status=PendingSanction.Status.PENDING
    )
    if waiting.exists():
        return None
    held = PendingSanction.objects.create(
        worker=worker,
        incident=incident,
        kind=PendingSanction.Kind.ESCALATION,
        apply_at=apply_at,
        action=action,
        reason=reason[:500],
        actor_kind=actor_kind,
        actor_label=actor.label,
        violation_type=violation_type[:VIOLATION_TYPE_MAX],
        settings_version=settings.version,
        created_at=now,
    )
    outbox.add(
        "sanction.escalated",
        model_id=worker.model_id,
        action=action,
        reason=held.reason,
        pending_id=held.pk,
        tier=tier,
        apply_at=apply_at.isoformat(),
        actor=actor.label,
        incident_id=str(incident.pk) if incident else None,
    )
    return held


def hr_decide(
    *,
    worker: Worker,
    violations: list[Violation],
    settings: GovernanceSettings,
    now: datetime,
    history: list[str] | None = None,
    assigned_at: datetime | None = None,
):
    """Run the HR ladder against the worker's stored record, or against a caller's `history` (the seed's
    contract: a list of prior violation types, taken as recent). `assigned_at` is when the worker got the
    reported task: an offence on a task already in flight at its last sanction is the same step."""
    # The record is what retention keeps; retention 0 means "keep forever", so the whole record counts.
    retention_start = now - timedelta(days=settings.retention_days) if settings.retention_days else EPOCH
    violation_record, action_record = worker_record(worker=worker, since=retention_start)
    if history is not None:
        violation_record = [PriorViolation(type=vtype, at=now) for vtype in history]
    return decide(
        violations=violations,
        violation_record=violation_record,
        action_record=action_record,
        status=worker.status,
        now=now,
        policies=policies_for(settings),
        config=ladder_config(settings),
        assigned_at=assigned_at,
    )


def enforcement_run(
    *,
    model_id: str,
    violations: list[tuple[str, int]],
    history: list[str] | None,
    now: datetime,
    actor,
    idempotency_key: str | None = None,
) -> dict:
    """The seed's /enforce: decide by policy and apply the actions to the worker. With an idempotency key,
    a retry returns the first answer and applies nothing again (a second STRIKE would read as a repeat)."""
    actor = actor_require(actor, "enforce")
    key = f"enforce:{idempotency_key}" if idempotency_key else None
    fingerprint = body_fingerprint({"model_id": model_id, "violations": violations, "history": history})
    try:
        with acting(actor):
            return _enforce(model_id, violations, history, now, key, fingerprint, actor)
    except IntegrityError:
        # A concurrent duplicate stored the key first; its answer is the answer.
        replay = command_replay(key=key, fingerprint=fingerprint) if key else None
        if replay is None:
            raise
        return replay


def _enforce(model_id, violations, history, now, key, fingerprint, actor: Actor) -> dict:
    with transaction.atomic():
        worker = Worker.objects.filter(model_id=model_id).first()
        if worker is None:
            raise NotFound(f"no worker {model_id!r}", field="model_id")
        worker = worker_lock(pk=worker.pk)
        if key and (replay := command_replay(key=key, fingerprint=fingerprint)) is not None:
            return replay
        settings = settings_current()
        policies = policies_for(settings)
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
        applied = actions_apply(
            worker=worker,
            actions=decision.actions,
            reasons=decision.reasons,
            actor_kind=DisciplinaryAction.Actor.HR,
            actor=actor,
            settings=settings,
            now=now,
            outbox=outbox,
            violation_type=",".join(dict.fromkeys(t for t, _ in violations)),
            guard=True,
        )
        outbox.flush()
        answer = {
            "actions": decision.actions,
            "status": "executed",
            "severity": decision.severity,
            "worker_status": worker.status,
            "policy_version": settings.version,
            "held_for_review": [h.action for h in applied.held],
        }
        if key:
            command_store(key=key, fingerprint=fingerprint, response=answer, now=now)
    return answer


def director_intervene(
    *, worker: Worker, action: str, reason: str, actor, now: datetime, until: datetime | None = None
) -> list[DisciplinaryAction]:
    """The Director acts directly on a worker (rehire, blacklist, suspend, ...). The reason is required, and an
    intervention that would change nothing is refused (workforce.domain.lifecycle.intervention_problem)."""
    actor = actor_require(actor, "intervene", message="only the Director may intervene")
    if not reason.strip():
        raise DomainError("the Director must give a reason", field="reason")
    if action not in Action.values or action == Action.OVERTURN:
        raise DomainError(f"unknown action {action!r}", field="action")
    if until is not None and until <= now:
        raise DomainError("the end must lie in the future", field="until")
    with acting(actor), transaction.atomic():
        worker = worker_lock(pk=worker.pk)
        problem = intervention_problem(worker_state(worker), action)
        if problem is not None:
            raise DomainError(f"{action.lower()} refused: {problem}", field="action", code="not_applicable")
        outbox = Outbox(now)
        applied = actions_apply(
            worker=worker,
            actions=[action],
            reasons={action: reason},
            actor_kind=DisciplinaryAction.Actor.DIRECTOR,
            actor=actor,
            settings=settings_current(),
            now=now,
            outbox=outbox,
            until=until,
        )
        outbox.flush()
    return applied.records
