"""Reads for governance: configuration rows turned into the rules' dataclasses, and a worker's record."""

from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import QuerySet

from governance.domain.detection import DetectionConfig
from governance.domain.ladder import LadderConfig, PolicyRule, PriorAction, PriorViolation
from governance.domain.scoring import Thresholds
from governance.models import Action, DisciplinaryAction, GovernanceSettings, Incident, Policy
from workforce.domain.lifecycle import LifecycleConfig
from workforce.models import Worker


def settings_current() -> GovernanceSettings:
    """The settings version in force: the newest row. The first is made by a data migration."""
    current = GovernanceSettings.objects.order_by("-version").first()
    if current is None:  # a database flushed by a test; fall back to the defaults, stored
        current = GovernanceSettings.objects.create(note="defaults")
    return current


def detection_config(s: GovernanceSettings) -> DetectionConfig:
    severities = tuple((p.violation_type, p.severity) for p in Policy.objects.filter(active=True))
    known = dict(DetectionConfig().severities)
    known.update(dict(severities))
    return DetectionConfig(timeout_ms=s.timeout_ms, severities=tuple(known.items()))


def ladder_config(s: GovernanceSettings) -> LadderConfig:
    return LadderConfig(
        repeat_window=timedelta(days=s.repeat_window_days),
        repeat_terminate_count=s.repeat_terminate_count,
        strikes_to_terminate=s.strikes_to_terminate,
        strike_active=timedelta(days=s.strike_active_days),
        warning_active=timedelta(days=s.warning_active_days),
    )


def lifecycle_config(s: GovernanceSettings) -> LifecycleConfig:
    return LifecycleConfig(
        cooldown=timedelta(minutes=s.cooldown_minutes),
        suspension=timedelta(hours=s.suspension_hours),
        tier_budgets=dict(s.tier_budgets),
    )


def weights(s: GovernanceSettings) -> dict[str, Decimal]:
    return {name: Decimal(str(value)) for name, value in s.weights.items()}


def thresholds(s: GovernanceSettings) -> Thresholds:
    return Thresholds(promotion=s.promotion_threshold, warning=s.warning_threshold, termination=s.termination_threshold)


def policies_current() -> dict[str, PolicyRule]:
    return {
        p.violation_type: PolicyRule(p.violation_type, p.severity, p.action) for p in Policy.objects.filter(active=True)
    }


def _overturned_action_ids(worker: Worker) -> set[int]:
    return set(
        DisciplinaryAction.objects.filter(worker=worker, action=Action.OVERTURN).values_list("overturns_id", flat=True)
    )


def worker_violation_record(*, worker: Worker, since: datetime) -> list[PriorViolation]:
    """The violations on the worker's record (incidents not overturned), newest first."""
    incidents = Incident.objects.filter(worker=worker, reported_at__gte=since).exclude(
        status=Incident.Status.OVERTURNED
    )
    from_reports = [
        PriorViolation(type=vtype, at=incident.reported_at)
        for incident in incidents.only("violations", "reported_at")
        for vtype, _severity in incident.violations
    ]
    # /api/enforce/ opens no incident (it names no task); its violations are on the HR actions it applied,
    # one call's actions sharing their time and types. Left out, enforcing twice would never be a repeat.
    enforced = (
        DisciplinaryAction.objects.filter(
            worker=worker, incident__isnull=True, actor_kind=DisciplinaryAction.Actor.HR, created_at__gte=since
        )
        .exclude(violation_type="")
        .exclude(id__in=_overturned_action_ids(worker))
        .order_by()
        .values_list("violation_type", "created_at")
        .distinct()
    )
    from_enforcement = [PriorViolation(type=vtype, at=at) for types, at in enforced for vtype in types.split(",")]
    return from_reports + from_enforcement


def worker_action_record(*, worker: Worker, since: datetime) -> list[PriorAction]:
    overturned = _overturned_action_ids(worker)
    rows = DisciplinaryAction.objects.filter(worker=worker, created_at__gte=since).only("id", "action", "created_at")
    return [PriorAction(action=a.action, at=a.created_at) for a in rows if a.id not in overturned]


def worker_standing(*, worker: Worker, now: datetime, s: GovernanceSettings) -> dict:
    """Active strikes and warnings, for the worker's page and the Manager."""
    record = worker_action_record(
        worker=worker, since=now - timedelta(days=max(s.strike_active_days, s.warning_active_days))
    )
    strikes = sum(1 for a in record if a.action == Action.STRIKE and now - a.at < timedelta(days=s.strike_active_days))
    warnings = sum(
        1 for a in record if a.action == Action.WARNING and now - a.at < timedelta(days=s.warning_active_days)
    )
    return {"active_strikes": strikes, "active_warnings": warnings}


def incidents_list(
    *,
    worker: str | None = None,
    status: str | None = None,
    severity: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet:
    qs = Incident.objects.select_related("worker", "task")
    if worker:
        qs = qs.filter(worker__model_id=worker)
    if status:
        qs = qs.filter(status=status)
    if severity is not None:
        qs = qs.filter(severity=severity)
    if since:
        qs = qs.filter(reported_at__gte=since)
    if until:
        qs = qs.filter(reported_at__lt=until)
    return qs.order_by("-reported_at", "-id")
