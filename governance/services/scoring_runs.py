"""Accountant scoring runs: every worker with new evidence gets a score, a reputation move and its action.

Set-based: a run reads candidates, reports, penalties and recent scores in a handful of queries whatever the
fleet size, and writes scores and workers in bulk (with history). Safe to repeat: a run has a key, scores are
unique per (worker, run), and a worker is only scored for evidence newer than what it was last scored on,
checked again under the row lock, so a duplicate delivery or an overlapping run scores nobody twice.

At scale (10,000 workers x 100 reports: a million reports) the costs were per report and per row written, so
each is paid once: a report's row is read without its timestamp and sorted into per-worker columns in C
(`_evidence`), a measured value becomes a Decimal once per chunk (`metrics.Conversions`), workers are updated
by one UPDATE ... FROM (VALUES ...) and history rows are copied by one INSERT ... SELECT per chunk.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import compress, groupby
from operator import itemgetter

from django.conf import settings as django_settings
from django.db import connection, transaction
from django.db.models import BooleanField, Case, Exists, ExpressionWrapper, F, Max, OuterRef, Q, QuerySet, When
from django.utils import timezone

from aura_project.bulk import rows_update
from aura_project.history import acting, history_attrs
from governance.domain import scoring
from governance.domain.metrics import Conversions, Measurements, metrics_of
from governance.models import AuditRecord, Incident, ScoreRecord, ScoringRun
from governance.selectors import run_policy, settings_current, thresholds, weights
from governance.services.leases import Heartbeat, lease_expired, lease_length
from governance.services.scoring import accountant_apply
from workforce.domain.actor import ACCOUNTANT
from workforce.models import Worker
from workforce.services.access import actor_require
from workforce.services.events import Outbox

log = logging.getLogger(__name__)
CHUNK = 500  # workers per transaction
RECENT_SCORES = 10  # scores the consistency spread looks at


def scoring_run_start(
    *, trigger: str, now: datetime, actor, key: str | None = None, enqueue: bool = True
) -> tuple[ScoringRun, bool]:
    """Create the run (or find it, for a repeated key) and, unless the caller runs it, queue it after commit.
    `actor` started it (beat, a command, the Director); the Accountant does the scoring."""
    actor = actor_require(actor, "score")
    key = key or f"{trigger}:{now.isoformat(timespec='seconds')}"
    with transaction.atomic():
        run, created = ScoringRun.objects.get_or_create(
            key=key, defaults={"trigger": trigger, "window_end": now, "created_at": now, "actor_label": actor.label}
        )
        if created and enqueue:
            transaction.on_commit(lambda: _enqueue(run.pk), robust=True)
    return run, created


def _enqueue(run_pk: int) -> bool:
    from governance.tasks import process_scoring_run

    try:
        process_scoring_run.apply_async(args=[run_pk], retry=False)
    except Exception as exc:  # broker down: the run waits in the database and scoring_runs_sweep sends it again
        log.warning("scoring run %s not queued: %s", run_pk, exc)
        return False
    return True


def scoring_runs_sweep(*, now: datetime, stale_after: timedelta = timedelta(minutes=2)) -> int:
    """Send again the runs still PENDING after `stale_after` (queued while the broker was down, or lost), and
    the RUNNING runs whose lease has passed (their worker died: see governance.services.leases).
    A run delivered twice is harmless: a DONE run is not run again, and scores are unique per run."""
    pending = ScoringRun.objects.filter(status=ScoringRun.Status.PENDING, created_at__lt=now - stale_after)
    pks = list(pending.values_list("pk", flat=True))
    dead = ScoringRun.objects.filter(lease_expired(now=now), status=ScoringRun.Status.RUNNING)
    for pk in dead.values_list("pk", flat=True):
        # Claimed by moving the lease on: a second sweeper, or the next sweep while this delivery waits in
        # the queue, finds the lease running and sends nothing.
        claimed = ScoringRun.objects.filter(lease_expired(now=now), pk=pk, status=ScoringRun.Status.RUNNING)
        if claimed.update(lease_until=now + lease_length()):
            log.warning("scoring run %s lost its worker (its lease passed): queued again", pk)
            pks.append(pk)
    for pk in pks:
        _enqueue(pk)
    return len(pks)


def scoring_run_execute(*, run_id: int) -> ScoringRun:
    """Score the fleet for this run. A finished run is not run again."""
    run = ScoringRun.objects.get(pk=run_id)
    if run.status == ScoringRun.Status.DONE:
        return run
    ScoringRun.objects.filter(pk=run.pk).update(
        status=ScoringRun.Status.RUNNING, started_at=run.started_at or timezone.now()
    )
    heartbeat = Heartbeat(ScoringRun, run.pk)
    heartbeat.beat()
    try:
        with acting(ACCOUNTANT):
            _score_fleet(run, heartbeat)
        # Count the run's scores, not this execution's: a run redelivered after a crash (acks_late) finds the
        # workers it already scored and skips them, and must still report them.
        scored = ScoreRecord.objects.filter(run_key=f"run:{run.key}").count()
    except Exception as exc:
        ScoringRun.objects.filter(pk=run.pk).update(
            status=ScoringRun.Status.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:5000],
            finished_at=timezone.now(),
            lease_until=None,
        )
        raise
    ScoringRun.objects.filter(pk=run.pk).update(
        status=ScoringRun.Status.DONE, workers_scored=scored, finished_at=timezone.now(), error="", lease_until=None
    )
    run.refresh_from_db()
    return run


def _candidates(window_end: datetime) -> list[int]:
    """Workers in service with reports newer than the evidence they were last scored on: one query."""
    latest = Max("audit_records__received_at", filter=Q(audit_records__received_at__lte=window_end))
    rows = (
        Worker.objects.exclude(status__in=[Worker.Status.TERMINATED, Worker.Status.BLACKLISTED])
        .annotate(latest=latest)
        .filter(latest__isnull=False)
        .filter(Q(evidence_scored_until__isnull=True) | Q(latest__gt=F("evidence_scored_until")))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return list(rows)


def _score_fleet(run: ScoringRun, heartbeat: Heartbeat) -> int:
    settings = settings_current()
    scored = 0
    ids = _candidates(run.window_end)
    for start in range(0, len(ids), CHUNK):
        with transaction.atomic():
            scored += _score_chunk(run, ids[start : start + CHUNK], settings)
        heartbeat.beat()  # still alive: the sweeper leaves the run alone
    return scored


def _score_chunk(run: ScoringRun, ids: list[int], settings) -> int:
    now = timezone.now()
    window_end = run.window_end
    window_start = window_end - timedelta(days=settings.scoring_window_days)
    run_key = f"run:{run.key}"
    # 1. Lock the chunk's workers in id order, then ask again, under the lock, which still have evidence newer
    #    than what they were last scored on: an overlapping run (another key, a later window) may have scored
    #    them since the candidates were read, and must not score the same reports twice.
    locked = list(Worker.objects.select_for_update(no_key=True).filter(pk__in=ids).order_by("pk"))
    latest = dict(
        AuditRecord.objects.filter(worker_id__in=ids, received_at__lte=window_end)
        .values("worker_id")
        .annotate(newest=Max("received_at"))
        .values_list("worker_id", "newest")
    )
    workers = [
        w
        for w in locked
        if w.pk in latest and (w.evidence_scored_until is None or latest[w.pk] > w.evidence_scored_until)
    ]
    already = set(ScoreRecord.objects.filter(run_key=run_key, worker__in=workers).values_list("worker_id", flat=True))
    workers = [w for w in workers if w.pk not in already]
    if not workers:
        return 0
    pks = [w.pk for w in workers]
    # 2. The window's evidence for all of them, in two queries. An overturned incident counts nowhere: its
    #    report is scored as clean. Penalties are not subtracted here: they acted once, at report time.
    evidence = _evidence(pks, {w.pk: w.evidence_scored_until for w in workers}, window_start, window_end, settings)
    recent = defaultdict(list)
    for worker_id, score in (
        ScoreRecord.objects.filter(worker_id__in=pks, created_at__gt=window_start, kind=ScoreRecord.Kind.RUN)
        .order_by("worker_id", "-created_at")
        .values_list("worker_id", "score")
    ):
        if len(recent[worker_id]) < RECENT_SCORES:
            recent[worker_id].append(score)
    # 3. Rules, in memory.
    records, acting_on = [], []
    w8s, points, limits, policy = weights(settings), settings.penalty_points, thresholds(settings), run_policy(settings)
    conversions = Conversions(timeout_ms=settings.timeout_ms)  # a value met again across the chunk is converted once
    for worker in workers:
        measured = evidence.measured.get(worker.pk) or Measurements()
        metrics = metrics_of(measured, conversions=conversions, recent_scores=recent[worker.pk])
        score = scoring.calculate_score(metrics, [], weights=w8s, penalty_points=points)
        previous = worker.reputation
        reputation = scoring.update_reputation(previous, score, new_weight_pct=settings.reputation_new_weight_pct)
        action = scoring.determine_action(reputation, limits)
        worker.reputation = reputation
        worker.scored_runs += 1
        worker.runs_since_tier_change += 1
        worker.evidence_scored_until = window_end
        worker.updated_at = now
        decision = scoring.applied_action(
            action=action,
            worker=scoring.ScoredWorker(
                status=worker.status,
                tier=worker.tier,
                scored_runs=worker.scored_runs,
                runs_since_tier_change=worker.runs_since_tier_change,
                probation_clean_runs=worker.probation_clean_runs,
            ),
            clean=worker.pk not in evidence.new_violation,
            policy=policy,
        )
        worker.probation_clean_runs = decision.probation_clean_runs
        records.append(
            ScoreRecord(
                worker=worker,
                score=score,
                previous_reputation=previous,
                reputation=reputation,
                action=action,
                applied_action=decision.action,
                metrics={k: str(v) for k, v in metrics.items()},
                penalties=[],
                settings_version=settings.version,
                run_key=run_key,
                kind=ScoreRecord.Kind.RUN,
                basis={"reports": measured.reports, "incidents": evidence.counted.get(worker.pk, [])},
                created_at=now,
                actor_label=ACCOUNTANT.label,
            )
        )
        if decision.action != scoring.NONE or decision.confirm:
            acting_on.append((worker, decision, reputation, score))
    # 4. Bulk writes, with history rows copied from the rows written, in SQL.
    reason = f"scoring run {run.key}"
    ScoreRecord.objects.bulk_create(records)
    # Found by (worker, run) rather than by id: an SQLite before 3.35 returns no ids from a bulk insert.
    written = ScoreRecord.objects.filter(run_key=run_key, worker_id__in=pks)
    _history_rows(written, history_type="+", reason=reason, at=now)
    rows_update(Worker, workers, WORKER_SCORED_FIELDS, evidence_scored_until=window_end, updated_at=now)
    _history_rows(Worker.objects.filter(pk__in=pks), history_type="~", reason=reason, at=now)
    # 5. Actions are the exception, not the rule: applied one worker at a time through the shared service.
    outbox = Outbox(now)
    for worker, decision, reputation, score in acting_on:
        accountant_apply(
            worker=worker,
            decision=decision,
            reputation=reputation,
            score=score,
            settings=settings,
            now=now,
            outbox=outbox,
            actor=ACCOUNTANT,
        )
    for record in records:
        outbox.add(
            "score.recorded",
            model_id=record.worker.model_id,
            score=record.score,
            reputation=record.reputation,
            action=record.action,
            applied_action=record.applied_action,
            run=run.key,
        )
    outbox.flush()
    return len(records)


@dataclass
class Evidence:
    """What a chunk's reports say, per worker."""

    measured: dict[int, Measurements] = field(default_factory=dict)
    counted: dict[int, list[str]] = field(default_factory=dict)  # the incidents each discipline dimension counts
    new_violation: set[int] = field(default_factory=set)  # a standing violation since last scored (probation)


def _evidence(pks: list[int], scored_until: dict, window_start: datetime, window_end: datetime, settings) -> Evidence:
    """The window's reports of these workers, newest first, read once and turned into columns of measurements.

    Each worker's newest `scoring_window_cap` reports are measured (provider faults count towards the cap but
    measure nothing); any violation in the window newer than its last scored evidence ends a clean streak. The
    database says which reports are violations that stand, and gives a report's time only for those: a million
    rows are then read and sorted into columns at C speed (zip, compress), not report by report."""
    cap = settings.scoring_window_cap
    overturned = Incident.objects.filter(pk=OuterRef("incident_id"), status=Incident.Status.OVERTURNED)
    rows = (
        AuditRecord.objects.filter(worker_id__in=pks, received_at__gt=window_start, received_at__lte=window_end)
        .annotate(
            fault=ExpressionWrapper(Q(outcome=AuditRecord.Outcome.PROVIDER_FAULT), output_field=BooleanField()),
            # An overturned incident counts nowhere: its report is scored as clean.
            violated=ExpressionWrapper(
                Q(outcome=AuditRecord.Outcome.VIOLATION) & ~Exists(overturned), output_field=BooleanField()
            ),
            violation_at=Case(When(outcome=AuditRecord.Outcome.VIOLATION, then=F("received_at"))),
        )
        .order_by("worker_id", "-received_at")
        .values_list(
            "worker_id",
            "fault",
            "violated",
            "violation_at",
            "incident_id",
            "duration_ms",
            "retries",
            "test_pass_rate",
            "confidence",
            "manager_satisfaction",
        )
    )
    if connection.vendor == "postgresql":
        # The planner prices a chunk's 50,000 index reads high enough to compile the query (JIT), which costs
        # more than it saves here; for this transaction only.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
    evidence = Evidence()
    for worker_id, reports in groupby(rows, key=itemgetter(0)):
        _, faults, violated, times, incidents, *measures = zip(*reports, strict=True)
        until = scored_until[worker_id]
        if any(v and (until is None or at > until) for v, at in zip(violated, times, strict=True)):
            evidence.new_violation.add(worker_id)
        own = [not fault for fault in faults[:cap]]  # compress() stops where `own` does: at the cap
        violated = list(compress(violated, own))
        durations, retries, rates, confidences, satisfactions = (list(compress(m, own)) for m in measures)
        evidence.measured[worker_id] = Measurements(
            reports=len(violated),
            clean=len(violated) - sum(map(bool, violated)),
            durations=[d for d in durations if d > 0],
            retries=[r for r in retries if r is not None],
            test_pass_rates=[r for r in rates if r is not None],
            confidences=[c for c in confidences if c is not None],
            manager_satisfactions=[s for s in satisfactions if s is not None],
        )
        evidence.counted[worker_id] = [str(i) for i, v in zip(compress(incidents, own), violated, strict=True) if v]
    return evidence


# What a score moves on each worker; the time the evidence was scored until, and the update's, are the chunk's.
WORKER_SCORED_FIELDS = ["reputation", "scored_runs", "runs_since_tier_change", "probation_clean_runs"]


def _history_rows(rows: QuerySet, *, history_type: str, reason: str, at: datetime) -> None:
    """The history row of each of these rows as it now stands, copied in one INSERT ... SELECT: what
    bulk_create_with_history and bulk_update_with_history write (the acting component's label, the reason,
    no user), without building a model instance per row."""
    if not getattr(django_settings, "SIMPLE_HISTORY_ENABLED", True):
        return
    qn = connection.ops.quote_name
    history = rows.model.history.model
    tracked = history.tracked_fields
    stamped = {"history_date": at, "history_change_reason": reason, "history_type": history_type, **history_attrs()}
    columns = [history._meta.get_field(f.name).column for f in tracked]
    columns += [history._meta.get_field(name).column for name in stamped]
    source, params = rows.order_by().values_list(*(f.attname for f in tracked)).query.sql_with_params()
    stamps = [history._meta.get_field(name).get_db_prep_save(value, connection) for name, value in stamped.items()]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {qn(history._meta.db_table)} ({', '.join(qn(c) for c in columns)}) "
            f"SELECT q.*, {', '.join(['%s'] * len(stamps))} FROM ({source}) q",
            (*stamps, *params),  # the stamps come first in the statement
        )
