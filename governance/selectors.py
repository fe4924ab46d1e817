"""Reads for governance: configuration rows turned into the rules' dataclasses, and a worker's record."""

import copy
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from governance.domain.detection import DetectionConfig
from governance.domain.ladder import LadderConfig, PolicyRule, PriorAction, PriorViolation
from governance.domain.scoring import RunPolicy, Thresholds
from governance.domain.spike import ScopeFigures, SpikeConfig, baseline_share
from governance.models import (
    Action,
    AuditRecord,
    DisciplinaryAction,
    GovernanceSettings,
    Incident,
    PendingSanction,
    Policy,
    Spike,
)
from workforce.domain.lifecycle import GONE, LifecycleConfig, RecordedAction
from workforce.models import Assignment, Worker

# The settings version in force and its policies, cached in this process by version. Every read asks the
# database which version is newest (one index-only query), so a version published by any process is seen at
# once; the policies are read again with it, and a policy edit always publishes a version (policy_update).
# Tests reset the cache between tests (tests/conftest.py), whose rollbacks leave the version number alone.
_config_cache: dict[str, object] = {}


def config_cache_clear() -> None:
    _config_cache.clear()


def settings_current(*, version: int | None = None) -> GovernanceSettings:
    """The settings version in force: the newest row (a copy: callers may draft a new version from it). The
    first is made by a data migration. A caller that has just read the newest version number passes it."""
    if version is None:
        version = GovernanceSettings.objects.order_by("-version").values_list("version", flat=True).first()
    if version is None:  # a database flushed by a test; fall back to the defaults, stored
        version = GovernanceSettings.objects.create(note="defaults").version
    cached = _config_cache.get("settings")
    if cached is None or cached.version != version:
        _config_cache.clear()
        cached = _config_cache["settings"] = GovernanceSettings.objects.get(version=version)
    return copy.copy(cached)


def policies_for(s: GovernanceSettings) -> dict[str, PolicyRule]:
    """The active policies under settings version `s` (read once per version in this process)."""
    key = f"policies:{s.version}"
    if key not in _config_cache:
        _config_cache[key] = {
            p.violation_type: PolicyRule(p.violation_type, p.severity, p.action)
            for p in Policy.objects.filter(active=True)
        }
    return dict(_config_cache[key])


def detection_config(s: GovernanceSettings) -> DetectionConfig:
    known = dict(DetectionConfig().severities)
    known.update({vtype: rule.severity for vtype, rule in policies_for(s).items()})
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


def run_policy(s: GovernanceSettings) -> RunPolicy:
    return RunPolicy(
        provisional_runs=s.provisional_runs,
        min_runs_for_promotion=s.min_runs_for_promotion,
        probation_clean_runs=s.probation_clean_runs,
    )


def spike_config(s: GovernanceSettings) -> SpikeConfig:
    return SpikeConfig(
        window=timedelta(minutes=s.spike_window_minutes),
        share_pct=s.spike_share_pct,
        min_workers=s.spike_min_workers,
        baseline=timedelta(days=s.spike_baseline_days),
        baseline_factor=s.spike_baseline_factor,
        min_reports=s.spike_min_reports,
        report_share_pct=s.spike_report_share_pct,
    )


def weights(s: GovernanceSettings) -> dict[str, Decimal]:
    return {name: Decimal(str(value)) for name, value in s.weights.items()}


def thresholds(s: GovernanceSettings) -> Thresholds:
    return Thresholds(promotion=s.promotion_threshold, warning=s.warning_threshold, termination=s.termination_threshold)


def policies_current() -> dict[str, PolicyRule]:
    return policies_for(settings_current())


def _overturned_action_ids(worker: Worker) -> set[int]:
    return set(
        DisciplinaryAction.objects.filter(worker=worker, action=Action.OVERTURN).values_list("overturns_id", flat=True)
    )


def _standing_action_on(incident_ref) -> Exists:
    return Exists(
        DisciplinaryAction.objects.filter(incident=incident_ref, overturned_by__isnull=True).exclude(
            action=Action.OVERTURN
        )
    )


def worker_violation_record(*, worker: Worker, since: datetime) -> list[PriorViolation]:
    """The violations that counted as a step on the worker's record: incidents not overturned that have an
    action still standing. An offence that was the same step as an earlier sanction (in flight when it was
    issued) is recorded but never counted again."""
    incidents = (
        Incident.objects.filter(worker=worker, reported_at__gte=since)
        .exclude(status=Incident.Status.OVERTURNED)
        .filter(_standing_action_on(OuterRef("pk")))
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


def worker_record(*, worker: Worker, since: datetime) -> tuple[list[PriorViolation], list[PriorAction]]:
    """The HR ladder's view of a worker's record since `since`, in two reads: its actions (overturned ones left
    out), and the incidents that counted as a step (an action on them still stands).

    Same result as worker_violation_record and worker_action_record together (tested against them), which take
    six reads between them."""
    rows = list(
        DisciplinaryAction.objects.filter(worker=worker, created_at__gte=since).values_list(
            "id", "action", "created_at", "overturns_id", "incident_id", "actor_kind", "violation_type"
        )
    )
    overturned = {overturns for _id, action, _at, overturns, *_ in rows if action == Action.OVERTURN}
    standing = [row for row in rows if row[0] not in overturned]
    actions = [PriorAction(action=action, at=at) for _id, action, at, *_ in standing]
    counted = {incident for _id, action, _at, _o, incident, *_ in standing if incident and action != Action.OVERTURN}
    from_reports = [
        PriorViolation(type=vtype, at=at)
        for violations, at in Incident.objects.filter(pk__in=counted, reported_at__gte=since)
        .exclude(status=Incident.Status.OVERTURNED)
        .values_list("violations", "reported_at")
        for vtype, _severity in violations
    ]
    # /api/enforce/ opens no incident: its violations are on the HR actions it applied, one call's actions
    # sharing their time and types.
    enforced = {
        (types, at)
        for _id, action, at, _o, incident, kind, types in standing
        if incident is None and kind == DisciplinaryAction.Actor.HR and types
    }
    from_enforcement = [PriorViolation(type=vtype, at=at) for types, at in enforced for vtype in types.split(",")]
    return from_reports + from_enforcement, actions


def worker_recorded_actions(*, worker: Worker) -> list[RecordedAction]:
    """Every standing action of the worker in the order they took effect, for the status replay after an
    overturn. That is id order, not time order: each is written under the worker's row lock, but its time is
    the caller's clock, read before the lock (a Director's SUSPEND read at 12:00:01 may land after HR's
    REINSTATE read at 12:00:02, and then it holds)."""
    rows = (
        DisciplinaryAction.objects.filter(worker=worker, overturned_by__isnull=True)
        .exclude(action=Action.OVERTURN)
        .order_by("id")
        .values_list("action", "created_at", "effective_until")
    )
    return [RecordedAction(action=a, at=at, until=until) for a, at, until in rows]


def attempt_started_at(*, task_pk: int, worker_pk: int) -> datetime | None:
    """When the worker got the task (its latest attempt at it)."""
    return (
        Assignment.objects.filter(task_id=task_pk, worker_id=worker_pk)
        .order_by("-started_at")
        .values_list("started_at", flat=True)
        .first()
    )


def spike_ongoing(*, now: datetime, config: SpikeConfig) -> Spike | None:
    """The spike still going on: one that held a sanction within the window."""
    return Spike.objects.filter(last_seen_at__gte=now - config.window).order_by("-last_seen_at").first()


def _report_counts(qs: QuerySet) -> tuple[int, int]:
    counts = qs.aggregate(total=Count("pk"), flagged=Count("pk", filter=Q(outcome=AuditRecord.Outcome.VIOLATION)))
    return counts["total"], counts["flagged"]


def spike_figures(
    *, worker: Worker, violation_types: list[str], now: datetime, config: SpikeConfig
) -> list[ScopeFigures]:
    """The guard's figures for each scope the worker is in: the fleet, its provider, its violation types.

    Workers flagged (with an incident) and reports flagged, in the window and over the baseline period: reads
    on the reported_at and received_at indexes, then counted in memory. The guard asks only when a suspension,
    termination or blacklisting is about to apply, and not at all while a spike is going on."""
    start = now - config.baseline
    window_start = now - config.window
    flagged = Incident.objects.filter(reported_at__gte=start).values_list(
        "worker_id", "worker__provider", "violations", "reported_at"
    )
    rows = [(w, provider, {v[0] for v in violations}, at) for w, provider, violations, at in flagged]
    rows.append((worker.pk, worker.provider, set(violation_types), now))  # /enforce names no incident
    on_payroll = Worker.objects.exclude(status__in=list(GONE))
    fleet = on_payroll.count()
    recent_reports = AuditRecord.objects.filter(received_at__gte=window_start)
    older_reports = AuditRecord.objects.filter(received_at__gte=start, received_at__lt=window_start)

    def figures(scope: str, keep, population: int, reports: QuerySet, baseline_reports: QuerySet) -> ScopeFigures:
        chosen = [(w, at) for w, provider, types, at in rows if keep(provider, types)]
        recent = {w for w, at in chosen if at >= window_start}
        base = baseline_share(chosen, population=population, start=start, end=window_start, window=config.window)
        total, flagged_reports = _report_counts(reports)
        if scope.startswith("violation:"):  # the reports flagged for this type: its incidents in the window
            flagged_reports = sum(1 for w, at in chosen if at >= window_start) - 1
        old_total, old_flagged = _report_counts(baseline_reports)
        return ScopeFigures(
            scope=scope,
            flagged=len(recent),
            population=population,
            baseline_share=base,
            reports=total,
            flagged_reports=flagged_reports,
            baseline_report_share=old_flagged / old_total if old_total else 0.0,
        )

    scopes = [figures("fleet", lambda provider, types: True, fleet, recent_reports, older_reports)]
    if worker.provider:
        mine = Q(worker__provider=worker.provider)
        population = on_payroll.filter(provider=worker.provider).count()
        scopes.append(
            figures(
                f"provider:{worker.provider}",
                lambda p, types: p == worker.provider,
                population,
                recent_reports.filter(mine),
                older_reports.filter(mine),
            )
        )
    for vtype in dict.fromkeys(violation_types):
        scopes.append(
            figures(f"violation:{vtype}", lambda p, types, v=vtype: v in types, fleet, recent_reports, older_reports)
        )
    return scopes


def pending_sanctions(*, status: str = PendingSanction.Status.PENDING) -> QuerySet:
    """The Director's review queue, newest first."""
    return PendingSanction.objects.filter(status=status).select_related("worker", "incident", "spike")
