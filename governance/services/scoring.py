"""The Accountant's writes: a score recorded for a worker, with its action's effects."""

import uuid
from datetime import datetime

from django.db import IntegrityError, transaction

from aura_project.errors import DomainError, IdempotencyConflict, NotFound
from aura_project.history import acting
from governance.domain import scoring
from governance.models import DisciplinaryAction, GovernanceSettings, Incident, ScoreRecord
from governance.selectors import run_policy, settings_current, thresholds, weights
from governance.services.discipline import actions_apply
from workforce.domain.actor import Actor
from workforce.models import Worker
from workforce.services.access import actor_require
from workforce.services.events import Outbox
from workforce.services.workers import worker_lock


def score_calculate(*, metrics: dict, penalties: list[str], previous_score: int, settings: GovernanceSettings) -> dict:
    """The seed's /score without a worker: calculate only."""
    score = scoring.calculate_score(
        metrics, penalties, weights=weights(settings), penalty_points=settings.penalty_points
    )
    reputation = scoring.update_reputation(previous_score, score, new_weight_pct=settings.reputation_new_weight_pct)
    return {
        "score": score,
        "reputation": reputation,
        "action": scoring.determine_action(reputation, thresholds(settings)),
    }


def score_record(
    *,
    model_id: str,
    metrics: dict,
    penalties: list[str],
    previous_score: int | None,
    now: datetime,
    actor,
    run_key: str | None = None,
    settings: GovernanceSettings | None = None,
) -> dict:
    """Score a worker and apply the action the Accountant's guards allow. The previous score is the stored
    reputation: a `previous_score` that differs from it is refused, so no caller can reset a reputation.
    Keyed by run_key, which names one request: a repeat returns the stored result and changes nothing; the key
    reused for another body or another worker is a 422."""
    actor = actor_require(actor, "score")
    worker = Worker.objects.filter(model_id=model_id).first()
    if worker is None:
        raise NotFound(f"no worker {model_id!r}", field="model_id")
    run_key = run_key or f"api:{uuid.uuid4()}"
    if ScoreRecord.objects.filter(run_key=run_key).exclude(worker=worker).exists():
        raise IdempotencyConflict("this key was already used to score another worker", field="Idempotency-Key")
    stored = ScoreRecord.objects.filter(worker=worker, run_key=run_key).first()
    if stored is not None:
        return _replay(stored, metrics, penalties, previous_score)
    try:
        with acting(actor), transaction.atomic():
            return _record(
                worker, metrics, penalties, previous_score, now, run_key, settings or settings_current(), actor
            )
    except IntegrityError:
        stored = ScoreRecord.objects.filter(worker=worker, run_key=run_key).first()
        if stored is None:
            raise
        return _replay(stored, metrics, penalties, previous_score)


def _replay(stored: ScoreRecord, metrics: dict, penalties: list[str], previous_score: int | None) -> dict:
    if (
        stored.metrics != {k: str(v) for k, v in metrics.items()}
        or stored.penalties != list(penalties)
        or (previous_score is not None and previous_score != stored.previous_reputation)
    ):
        raise IdempotencyConflict("this key was already used for a different score", field="Idempotency-Key")
    return _result(stored) | {"replayed": True}


def _result(record: ScoreRecord) -> dict:
    return {
        "score": record.score,
        "reputation": record.reputation,
        "action": record.action,
        "applied_action": record.applied_action,
        "model_id": record.worker.model_id,
        "score_id": record.pk,
        "policy_version": record.settings_version,
    }


def _last_scored_at(worker: Worker):
    return (
        ScoreRecord.objects.filter(worker=worker, kind__in=[ScoreRecord.Kind.RUN, ScoreRecord.Kind.API])
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )


def _record(worker, metrics, penalties, previous_score, now, run_key, settings, actor: Actor) -> dict:
    worker = worker_lock(pk=worker.pk)
    if previous_score is not None and previous_score != worker.reputation:
        raise DomainError(
            f"the worker's reputation is {worker.reputation}; with a model_id the stored reputation is the "
            "previous score (leave previous_score out, or send the stored value)",
            field="previous_score",
        )
    previous = worker.reputation
    calc = score_calculate(metrics=metrics, penalties=penalties, previous_score=previous, settings=settings)
    worker.reputation = calc["reputation"]
    worker.scored_runs += 1
    worker.runs_since_tier_change += 1
    since = _last_scored_at(worker)
    violated = Incident.objects.filter(worker=worker).exclude(status=Incident.Status.OVERTURNED)
    violated = violated.filter(reported_at__gt=since) if since is not None else violated
    decision = scoring.applied_action(
        action=calc["action"],
        worker=scoring.ScoredWorker(
            status=worker.status,
            tier=worker.tier,
            scored_runs=worker.scored_runs,
            runs_since_tier_change=worker.runs_since_tier_change,
            probation_clean_runs=worker.probation_clean_runs,
        ),
        clean=not penalties and not violated.exists(),
        policy=run_policy(settings),
    )
    worker.probation_clean_runs = decision.probation_clean_runs
    outbox = Outbox(now)
    record = ScoreRecord.objects.create(
        worker=worker,
        score=calc["score"],
        previous_reputation=previous,
        reputation=calc["reputation"],
        action=calc["action"],
        applied_action=decision.action,
        metrics={k: str(v) for k, v in metrics.items()},
        penalties=list(penalties),
        settings_version=settings.version,
        run_key=run_key,
        kind=ScoreRecord.Kind.API,
        created_at=now,
        actor_label=actor.label,
    )
    worker._change_reason = f"scored {calc['score']}"
    worker.save()
    accountant_apply(
        worker=worker,
        decision=decision,
        reputation=calc["reputation"],
        score=calc["score"],
        settings=settings,
        now=now,
        outbox=outbox,
        actor=actor,
    )
    outbox.add(
        "score.recorded",
        model_id=worker.model_id,
        score=record.score,
        reputation=record.reputation,
        action=record.action,
        applied_action=decision.action,
        score_id=record.pk,
    )
    outbox.flush()
    return _result(record)


def accountant_apply(
    *,
    worker: Worker,
    decision: scoring.Applied,
    reputation: int,
    score: int,
    settings,
    now,
    outbox: Outbox,
    actor: Actor,
) -> None:
    """The Accountant's actions after a score: the probation's end, then the reputation's action."""
    actions = ([scoring.CONFIRM] if decision.confirm else []) + (
        [decision.action] if decision.action != scoring.NONE else []
    )
    if not actions:
        return
    reasons = {
        scoring.CONFIRM: f"probation passed: {decision.probation_clean_runs} clean scored runs",
        decision.action: f"reputation {reputation} (score {score})"
        + (f"; {decision.reason}" if decision.reason else ""),
    }
    actions_apply(
        worker=worker,
        actions=actions,
        reasons=reasons,
        actor_kind=DisciplinaryAction.Actor.ACCOUNTANT,
        actor=actor,
        settings=settings,
        now=now,
        outbox=outbox,
        guard=True,
    )
