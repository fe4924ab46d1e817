"""One report, start to finish: the seeds' incident flow in one transaction.

Auditor detects -> evidence report -> HR decides by policy -> actions applied -> the task is repaired onto
another worker -> the Accountant moves the reputation -> the Manager's inbox is told.
"""

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, OperationalError, transaction
from django.db.models import OuterRef, Subquery

from aura_project.errors import DomainError, IdempotencyConflict, NotFound
from aura_project.history import acting
from governance.domain.detection import ReportFacts, correlate, is_provider_fault
from governance.domain.detectors import (
    READS_LATENCY_HISTORY,
    REGISTRY,
    DetectionResult,
    DetectorInput,
    DetectorSetup,
    Mode,
    detectors_run,
    enforced_violations,
)
from governance.domain.detectors.latency import LatencyHistory
from governance.domain.scoring import update_reputation
from governance.models import (
    AuditRecord,
    DisciplinaryAction,
    Finding,
    GovernanceSettings,
    Incident,
    Penalty,
    ScoreRecord,
)
from governance.selectors import detection_config, settings_current
from governance.selectors_detectors import detector_setup
from governance.selectors_latency import latency_history
from governance.services.discipline import actions_apply, hr_decide
from workforce.domain.actor import Actor
from workforce.domain.routing import provider_cooldown_due
from workforce.models import Assignment, Task, Worker
from workforce.services.access import actor_require
from workforce.services.events import Outbox
from workforce.services.tasks import attempt_mark, task_repair

log = logging.getLogger(__name__)

DEADLOCK_DETECTED = "40P01"  # PostgreSQL's SQLSTATE
DEADLOCK_ATTEMPTS = 5


OMITTED_WHEN_ABSENT = ("output",)


@dataclass(frozen=True)
class ReportInput:
    """A validated report, as the Manager sent it (the seed's payload plus our optional fields)."""

    task_id: str
    logs: list = field(default_factory=list)
    hallucinated: bool = False
    duration_ms: int = 0
    scope_drift: bool = False
    model_id: str | None = None
    format_violation: bool = False
    retries: int | None = None
    test_pass_rate: float | None = None
    manager_satisfaction: float | None = None
    confidence: float | None = None
    error_kind: str = ""
    output: Any = None  # the worker's output, text or JSON; None: not reported

    def fingerprint(self) -> str:
        values = {f.name: getattr(self, f.name) for f in fields(self)}  # asdict's deep copy cost a batch 15%
        # Fields added since the seed are left out while absent, so an old payload keeps its fingerprint.
        for name in OMITTED_WHEN_ABSENT:
            if values[name] is None:
                del values[name]
        canonical = json.dumps(values, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class ReportOutcome:
    body: dict
    replayed: bool
    record_id: int


def report_submit(*, report: ReportInput, report_id: str | None, now: datetime, actor) -> ReportOutcome:
    """Process a report once. A repeat of the same id returns the stored answer; a different body is a 422.
    `actor` sent the report (the Manager's key, or the sweeper for a silence); every row it writes names it."""
    actor = actor_require(actor, "report")
    with acting(actor):
        return _submit(report=report, report_id=report_id, now=now, actor=actor)


def _submit(*, report: ReportInput, report_id: str | None, now: datetime, actor: Actor) -> ReportOutcome:
    fingerprint = report.fingerprint()
    report_id = report_id or f"auto-{uuid.uuid4()}"  # a repeat of a stored id is answered in _process
    attempt = 0
    while True:
        attempt += 1
        try:
            with transaction.atomic():
                return _process(report=report, report_id=report_id, fingerprint=fingerprint, now=now, actor=actor)
        except IntegrityError:
            # A concurrent duplicate committed the same report id first: answer as it did.
            stored = AuditRecord.objects.filter(report_id=report_id).first()
            if stored is None:
                raise
            return _replay(stored, fingerprint)
        except OperationalError as exc:
            # Two workers leaving service at once, each holding a task just handed to the other, deadlock on
            # PostgreSQL (see workforce.services.tasks._lock_if_eligible). The victim's transaction wrote
            # nothing, so it runs again; inside a caller's transaction it cannot, and the error goes up.
            deadlock = getattr(exc.__cause__, "sqlstate", None) == DEADLOCK_DETECTED
            if not deadlock or attempt == DEADLOCK_ATTEMPTS or transaction.get_connection().in_atomic_block:
                raise
            log.info("report %s: deadlock, attempt %d of %d", report_id, attempt, DEADLOCK_ATTEMPTS)


def _replay(stored: AuditRecord, fingerprint: str) -> ReportOutcome:
    if stored.request_hash != fingerprint:
        raise IdempotencyConflict(f"report id {stored.report_id!r} was already used for a different report")
    return ReportOutcome(body=stored.response, replayed=True, record_id=stored.pk)


def _resolve_locked(report: ReportInput, report_id: str) -> tuple[Task, Worker | None, AuditRecord | None]:
    """The task and its worker, the worker's row locked for the rest of the transaction: reports on one worker
    run one at a time (then the task is locked, inside the repair). Or, for a report id already stored, that
    report (a repeat). Two reads in all: the task's carries the repeat check, the settings version in force and
    when the worker's latest attempt at the task began (the ladder's "told first" rule needs it)."""
    attempts = Assignment.objects.filter(task=OuterRef("pk")).order_by("-started_at")
    if report.model_id:
        attempts = attempts.filter(worker__model_id=report.model_id)
    else:
        attempts = attempts.filter(worker=OuterRef("current_worker"))
    task = (
        Task.objects.annotate(
            attempt_started_at=Subquery(attempts.values("started_at")[:1]),
            stored_report=Subquery(AuditRecord.objects.filter(report_id=report_id).values("pk")[:1]),
            settings_version=Subquery(GovernanceSettings.objects.order_by("-version").values("version")[:1]),
        )
        .filter(task_id=report.task_id)
        .first()
    )
    if task is None or task.stored_report is not None:
        stored = AuditRecord.objects.filter(report_id=report_id).first()
        if stored is not None:
            return task, None, stored
        raise NotFound(f"no task {report.task_id!r}", field="task_id")
    locked = Worker.objects.select_for_update(no_key=True)  # no key: see workforce.services.workers.worker_lock
    if report.model_id:
        worker = locked.filter(model_id=report.model_id).first()
        if worker is None:
            raise NotFound(f"no worker {report.model_id!r}", field="model_id")
    else:
        if task.current_worker_id is None:
            raise DomainError("the task has no current worker; name the worker in model_id", field="model_id")
        worker = locked.get(pk=task.current_worker_id)
    # Late reports are normal: the worker may have been suspended, or the task moved on, since.
    if task.current_worker_id != worker.pk and not Assignment.objects.filter(task=task, worker=worker).exists():
        raise DomainError(f"worker {worker.model_id!r} never held task {task.task_id!r}", field="model_id")
    return task, worker, None


def _process(*, report: ReportInput, report_id: str, fingerprint: str, now: datetime, actor: Actor) -> ReportOutcome:
    # 1. Resolve and lock. A duplicate that waited on the lock behind its original fails on the report id's
    #    unique index when it stores the report; report_submit then answers as the original did.
    task, worker, stored = _resolve_locked(report, report_id)
    if stored is not None:
        return _replay(stored, fingerprint)
    settings = settings_current(version=task.settings_version)
    outbox = Outbox(now)
    facts = report_facts(report)
    # 2. Detect: every detector not off; the enforced findings are the violations.
    setup = detector_setup(settings)
    history = latency_history_for(worker=worker, task=task, now=now) if latency_judged(setup, facts) else None
    detection = report_detect(report, task, facts, setup, history=history)
    violations = enforced_violations(detection.findings, detection_config(settings))
    base = {"report_id": report_id, "task_id": task.task_id, "model_id": worker.model_id}
    if is_provider_fault(facts):
        outcome, body = AuditRecord.Outcome.PROVIDER_FAULT, _provider_fault(task, worker, settings, now, outbox)
        body = {"status": "clean", **base, **body}
        incident = None
    elif not violations:
        # 4. A clean report: the attempt passed.
        attempt_mark(task=task, worker=worker, now=now, outcome=Assignment.Outcome.PASSED)
        outcome, body, incident = AuditRecord.Outcome.CLEAN, clean_body(report_id, task.task_id, worker.model_id), None
    else:
        outcome = AuditRecord.Outcome.VIOLATION
        incident, body = _violation(report, task, worker, violations, settings, now, outbox, base, actor)
    if detection.findings:
        body["findings"] = findings_answer(detection)
    record = AuditRecord.objects.create(
        **record_fields(
            report=report,
            report_id=report_id,
            fingerprint=fingerprint,
            task=task,
            worker=worker,
            outcome=outcome,
            incident=incident,
            body=body,
            settings_version=settings.version,
            now=now,
            actor=actor,
        )
    )
    # 5. The findings, in one statement (none for a report nothing was found in); then the Manager's inbox, last,
    #    so the event-order lock is held briefly.
    findings_write([record], [detection], incidents=[incident], settings_version=settings.version, now=now)
    outbox.flush()
    return ReportOutcome(body=body, replayed=False, record_id=record.pk)


def record_fields(
    *, report: ReportInput, report_id, fingerprint, task, worker, outcome, incident, body, settings_version, now, actor
) -> dict:
    """The stored report, as one report or a batch of clean ones writes it."""
    return {
        "report_id": report_id,
        "request_hash": fingerprint,
        "task": task,
        "worker": worker,
        "hallucinated": report.hallucinated,
        "scope_drift": report.scope_drift,
        "format_violation": report.format_violation,
        "duration_ms": report.duration_ms,
        "retries": report.retries,
        "test_pass_rate": report.test_pass_rate,
        "manager_satisfaction": report.manager_satisfaction,
        "confidence": report.confidence,
        "error_kind": report.error_kind,
        "logs": report.logs,
        "output": report.output,
        "outcome": outcome,
        "incident": incident,
        "response": body,
        "settings_version": settings_version,
        "received_at": now,
        "actor_label": actor.label,
    }


def report_facts(report: ReportInput) -> ReportFacts:
    return ReportFacts(
        hallucinated=report.hallucinated,
        scope_drift=report.scope_drift,
        format_violation=report.format_violation,
        duration_ms=report.duration_ms,
        error_kind=report.error_kind,
        retries=report.retries,
    )


def latency_judged(setup: DetectorSetup, facts: ReportFacts) -> bool:
    """Whether the latency history is to be read: a detector that reads it runs, and the report has a duration or
    retries for it to judge (a provider's fault has none that counts)."""
    if is_provider_fault(facts) or (facts.duration_ms <= 0 and facts.retries is None):
        return False
    return any(READS_LATENCY_HISTORY in d.reads and setup.mode(name) != Mode.OFF for name, d in REGISTRY.items())


def latency_history_for(*, worker: Worker, task: Task, now: datetime) -> LatencyHistory:
    """The durations latency.anomaly judges the report against: the worker's and the fleet's for the capability."""
    return latency_history(worker=worker, capability=task.capability, now=now)


def report_detect(
    report: ReportInput, task: Task, facts: ReportFacts, setup: DetectorSetup, *, history: LatencyHistory | None = None
) -> DetectionResult:
    """Run the detectors on one report, with what its task asked for. A detector that failed is logged: it cost
    its own findings, not the report."""
    detection = detectors_run(
        DetectorInput(
            facts=facts,
            output=report.output,
            instructions=task.instructions,
            sources=tuple(task.sources) if task.sources is not None else None,
            output_schema=task.output_schema,
            capability=task.capability,
            latency_history=history,
        ),
        setup,
    )
    for name, error in detection.failures:
        log.error("detector %s failed on a report on task %s: %s", name, task.task_id, error)
    return detection


def findings_answer(detection: DetectionResult) -> list[dict]:
    """What the Manager's answer says of the findings: detector, mode, violation type, score."""
    return [finding.as_answer() for finding in detection.findings]


def findings_write(
    records: list[AuditRecord],
    detections: list[DetectionResult],
    *,
    incidents: list,
    settings_version: int,
    now: datetime,
) -> list[Finding]:
    """Store the findings of these reports, in one statement; nothing when none was found. An enforced finding
    of a report that opened an incident points at it."""
    rows = [
        Finding(
            audit_record=record,
            incident=incident if judged.enforced else None,
            worker_id=record.worker_id,
            task_id=record.task_id,
            detector=judged.draft.detector,
            detector_version=judged.draft.version,
            mode=judged.mode.value,
            violation_type=judged.draft.violation_type,
            score=judged.draft.score,
            evidence=judged.draft.evidence,
            settings_version=settings_version,
            created_at=now,
        )
        for record, detection, incident in zip(records, detections, incidents, strict=True)
        for judged in detection.findings
    ]
    return Finding.objects.bulk_create(rows) if rows else []


def clean_body(report_id: str, task_id: str, model_id: str) -> dict:
    return {"status": "clean", "report_id": report_id, "task_id": task_id, "model_id": model_id}


def _violation(report, task, worker, violations, settings: GovernanceSettings, now, outbox: Outbox, base: dict, actor):
    """3. Open the incident, record penalties, run HR, apply, repair the task, move the reputation."""
    correlation = correlate(task.task_id, violations, report.logs, settings.evidence_entries)
    assigned_at = task.attempt_started_at
    decision = hr_decide(worker=worker, violations=violations, settings=settings, now=now, assigned_at=assigned_at)
    incident = Incident.objects.create(
        worker=worker,
        task=task,
        severity=decision.severity,
        status=Incident.Status.ACTIONED if decision.actions else Incident.Status.OPEN,
        violations=[v.as_pair() for v in decision.violations],
        evidence=correlation["evidence"],
        settings_version=settings.version,
        reported_at=now,
        actor_label=actor.label,
    )
    outbox.add(
        "incident.opened",
        model_id=worker.model_id,
        task_id=task.task_id,
        incident_id=str(incident.pk),
        severity=incident.severity,
        violations=incident.violations,
    )
    points = settings.penalty_points
    penalties = [
        Penalty.objects.create(
            worker=worker,
            incident=incident,
            reason=v.type,
            severity=v.severity,
            points=int(points[v.type]),
            settings_version=settings.version,
            created_at=now,
            actor_label=actor.label,
        )
        for v in violations
        if v.type in points
    ]
    # The repair comes first, while the worker still holds the task, so it is reassigned once and the
    # failed worker is excluded; the actions may then hand on the worker's other tasks.
    reason = ", ".join(v.type for v in violations)
    reassigned = task_repair(task=task, failed_worker=worker, now=now, outbox=outbox, reason=reason)
    # The reputation moves before the actions, so the worker is saved once, with both.
    reputation = _reputation_penalise(
        worker, incident, penalties, settings, now, outbox, run_key=_penalty_run_key(base), actor=actor
    )
    applied = actions_apply(
        worker=worker,
        actions=decision.actions,
        reasons=decision.reasons,
        actor_kind=DisciplinaryAction.Actor.HR,
        actor=actor,
        settings=settings,
        now=now,
        outbox=outbox,
        incident=incident,
        violation_type=",".join(v.type for v in violations),
        guard=True,
    )
    if not applied.records:  # actions_apply saved the worker, reputation included, when it recorded any
        worker._change_reason = "penalty points"
        worker.save(update_fields=["reputation", "updated_at"])
    body = {
        "status": "violation",
        "report": correlation | {"violations": [v.as_pair() for v in decision.violations]},
        "incident_id": str(incident.pk),
        "severity": incident.severity,
        "actions": [a for a in decision.actions if a not in {h.action for h in applied.held}],
        "held_for_review": [h.action for h in applied.held],
        "same_step": decision.same_step,
        "reassigned_to": reassigned.model_id if reassigned else None,
        "task_status": task.status,
        "worker_status": worker.status,
        "reputation": reputation,
        "policy_version": settings.version,
        **base,
    }
    return incident, body


def _penalty_run_key(base: dict) -> str:
    """ScoreRecord.run_key holds 200 characters and a report id may use all 200: a long one is hashed."""
    key = f"report:{base['report_id']}"
    return key if len(key) <= 200 else f"report:sha256:{hashlib.sha256(base['report_id'].encode()).hexdigest()}"


def _reputation_penalise(
    worker: Worker, incident, penalties: list[Penalty], settings, now, outbox: Outbox, run_key: str, actor: Actor
) -> int:
    """The Accountant's part of the flow, and the one place a penalty acts (docs/metrics.md): the attempt
    scores the reputation minus its penalty points, and the reputation moves by the usual EMA. Recorded as a
    PENALTY ScoreRecord tied to the incident, so an overturn can take exactly this move back."""
    old = worker.reputation
    attempt_score = max(0, min(100, old + sum(p.points for p in penalties)))
    new = update_reputation(old, attempt_score, new_weight_pct=settings.reputation_new_weight_pct)
    ScoreRecord.objects.create(
        worker=worker,
        score=attempt_score,
        previous_reputation=old,
        reputation=new,
        action="NONE",
        metrics={},
        penalties=[p.reason for p in penalties],
        settings_version=settings.version,
        run_key=run_key,
        kind=ScoreRecord.Kind.PENALTY,
        incident=incident,
        created_at=now,
        actor_label=actor.label,
    )
    worker.reputation = new  # saved by the caller, with the actions' changes
    outbox.add("score.recorded", model_id=worker.model_id, score=attempt_score, reputation=new, source="incident")
    return new


def _provider_fault(task: Task, worker: Worker, settings: GovernanceSettings, now, outbox: Outbox) -> dict:
    """Not misconduct: counts toward routing health only. Enough faults in the window cool the worker down."""
    attempt_mark(task=task, worker=worker, now=now, outcome=Assignment.Outcome.PROVIDER_FAULT)
    window = timedelta(seconds=settings.provider_fault_window_seconds)
    earlier = list(
        AuditRecord.objects.filter(
            worker=worker, outcome=AuditRecord.Outcome.PROVIDER_FAULT, received_at__gte=now - window
        ).values_list("received_at", flat=True)
    )
    body = {"provider_fault": True, "provider_faults_in_window": len(earlier) + 1}
    if provider_cooldown_due([*earlier, now], now=now, limit=settings.provider_fault_limit, window=window):
        until = now + timedelta(seconds=settings.provider_cooldown_seconds)
        if worker.unhealthy_until is None or worker.unhealthy_until < until:
            worker.unhealthy_until = until
            worker._change_reason = "provider faults"
            worker.save(update_fields=["unhealthy_until", "updated_at"])
            outbox.add(
                "worker.health_changed",
                model_id=worker.model_id,
                unhealthy_until=until.isoformat(),
                faults=len(earlier) + 1,
            )
        body["unhealthy_until"] = worker.unhealthy_until.isoformat()
    return body
