"""The reputation, recomputed from the evidence that still stands (after an overturn).

The reputation is a chain of moves (ScoreRecords): incident penalties, run scores and the Manager's scores,
each an EMA step. An overturned incident counts nowhere, so the chain is replayed from its first stored value
without that incident's penalty move, and with each run score that counted the incident as a violation scored
again with the report as clean. The result is stored as a RECOMPUTE move; the moves themselves are evidence
and stay as they were.
"""

from datetime import datetime
from decimal import Decimal

from governance.domain import scoring
from governance.models import GovernanceSettings, Incident, Penalty, ScoreRecord
from governance.selectors import settings_current, weights
from workforce.domain.actor import Actor
from workforce.models import Worker
from workforce.services.events import Outbox


def reputation_replayed(*, worker: Worker) -> int:
    """What the worker's standing evidence gives, move by move."""
    moves = list(
        ScoreRecord.objects.filter(worker=worker)
        .exclude(kind=ScoreRecord.Kind.RECOMPUTE)
        .order_by("created_at", "id")
        .values("kind", "score", "previous_reputation", "incident_id", "metrics", "basis", "settings_version")
    )
    if not moves:
        return worker.reputation
    overturned = {
        str(pk)
        for pk in Incident.objects.filter(worker=worker, status=Incident.Status.OVERTURNED).values_list("pk", flat=True)
    }
    points: dict[str, int] = {}
    for incident_id, value in Penalty.objects.filter(worker=worker).values_list("incident_id", "points"):
        points[str(incident_id)] = points.get(str(incident_id), 0) + value
    versions = {
        s.version: s for s in GovernanceSettings.objects.filter(version__in={m["settings_version"] for m in moves})
    }
    current = settings_current()
    reputation = moves[0]["previous_reputation"]
    for move in moves:
        version = versions.get(move["settings_version"], current)
        score = move["score"]
        if move["kind"] == ScoreRecord.Kind.PENALTY:
            incident = str(move["incident_id"])
            if incident in overturned:
                continue
            if incident in points:  # the attempt scores the reputation as it then was, less the points
                score = max(0, min(100, reputation + points[incident]))
        elif move["kind"] == ScoreRecord.Kind.RUN and move["basis"].get("incidents"):
            counted = move["basis"]["incidents"]
            standing = [i for i in counted if i not in overturned]
            if len(standing) != len(counted) and set(move["metrics"]) == set(version.weights):
                metrics = {name: Decimal(value) for name, value in move["metrics"].items()}
                metrics["discipline"] = scoring.discipline_without(
                    reports=move["basis"].get("reports", 0), violations=len(standing)
                )
                score = scoring.calculate_score(metrics, [], weights=weights(version), penalty_points={})
        reputation = scoring.update_reputation(reputation, score, new_weight_pct=version.reputation_new_weight_pct)
    return reputation


def reputation_recompute(*, worker: Worker, reason: str, actor: Actor, now: datetime, outbox: Outbox) -> int:
    """Set a locked worker's reputation to what its standing evidence gives, recording the move."""
    new = reputation_replayed(worker=worker)
    old = worker.reputation
    if new == old:
        return old
    settings = settings_current()
    ScoreRecord.objects.create(
        worker=worker,
        score=new,
        previous_reputation=old,
        reputation=new,
        action=scoring.NONE,
        applied_action=scoring.NONE,
        metrics={},
        penalties=[],
        settings_version=settings.version,
        run_key=None,
        kind=ScoreRecord.Kind.RECOMPUTE,
        basis={"reason": reason[:300]},
        created_at=now,
        actor_label=actor.label,
    )
    worker.reputation = new
    worker._change_reason = reason[:100]
    worker.save(update_fields=["reputation", "updated_at"])
    outbox.add("score.recorded", model_id=worker.model_id, score=new, reputation=new, source="recompute", reason=reason)
    return new
