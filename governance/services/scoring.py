"""The Accountant's writes: a score recorded for a worker, with its action's effects."""

import uuid
from datetime import datetime

from django.db import IntegrityError, transaction

from aura_project.errors import IdempotencyConflict, NotFound
from governance.domain import scoring
from governance.models import DisciplinaryAction, GovernanceSettings, ScoreRecord
from governance.selectors import settings_current, thresholds, weights
from governance.services.discipline import actions_apply
from workforce.domain.lifecycle import GONE
from workforce.models import Worker
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
    run_key: str | None = None,
    settings: GovernanceSettings | None = None,
) -> dict:
    """Score a worker and apply the action (PROMOTE only past the guards). Keyed by run_key, which names one
    request: a repeat returns the stored result and changes nothing; the key reused for another body or another
    worker is a 422."""
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
        with transaction.atomic():
            return _record(worker, metrics, penalties, previous_score, now, run_key, settings or settings_current())
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


def _record(worker, metrics, penalties, previous_score, now, run_key, settings) -> dict:
    worker = worker_lock(pk=worker.pk)
    previous = worker.reputation if previous_score is None else previous_score
    calc = score_calculate(metrics=metrics, penalties=penalties, previous_score=previous, settings=settings)
    worker.reputation = calc["reputation"]
    worker.scored_runs += 1
    worker.runs_since_tier_change += 1
    applied = calc["action"]
    if worker.status in GONE:
        applied = scoring.NONE  # a terminated worker is not sanctioned, nor terminated, again
    elif applied == scoring.PROMOTE and worker.tier == Worker.Tier.PRINCIPAL:
        applied = scoring.NONE  # already at the top
    elif applied == scoring.PROMOTE and not scoring.promotion_allowed(
        runs_since_tier_change=worker.runs_since_tier_change,
        status=worker.status,
        min_runs=settings.min_runs_for_promotion,
    ):
        applied = scoring.NONE  # one lucky run never promotes
    outbox = Outbox(now)
    record = ScoreRecord.objects.create(
        worker=worker,
        score=calc["score"],
        previous_reputation=previous,
        reputation=calc["reputation"],
        action=calc["action"],
        applied_action=applied,
        metrics={k: str(v) for k, v in metrics.items()},
        penalties=list(penalties),
        settings_version=settings.version,
        run_key=run_key,
        created_at=now,
    )
    worker._change_reason = f"scored {calc['score']}"
    worker.save()
    if applied != scoring.NONE:
        actions_apply(
            worker=worker,
            actions=[applied],
            reasons={applied: f"reputation {calc['reputation']} (score {calc['score']})"},
            actor_kind=DisciplinaryAction.Actor.ACCOUNTANT,
            settings=settings,
            now=now,
            outbox=outbox,
        )
    outbox.add(
        "score.recorded",
        model_id=worker.model_id,
        score=record.score,
        reputation=record.reputation,
        action=record.action,
        applied_action=applied,
        score_id=record.pk,
    )
    outbox.flush()
    return _result(record)
