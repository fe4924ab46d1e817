"""Batch audit runs: reports stored first, processed by a Celery worker, each report exactly once."""

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from aura_project.errors import DomainError
from governance.models import AuditRun, AuditRunItem
from governance.services.commands import body_fingerprint, command_replay, command_store
from governance.services.leases import Heartbeat, lease_expired
from governance.services.reports import ReportInput, report_submit
from workforce.domain.actor import on_behalf_of
from workforce.services.access import actor_require

log = logging.getLogger(__name__)


def audit_run_submit(
    *, reports: list[dict], actor, now: datetime, idempotency_key: str | None = None
) -> tuple[AuditRun, bool]:
    """Store the batch, then queue its processing once the rows are committed. With an idempotency key, a
    retried submission returns the first run instead of making a second one (which would count every report
    without a report_id twice). Answers (run, replayed). The run records who submitted it, and its reports
    are processed on that caller's behalf."""
    actor = actor_require(actor, "report")
    key = f"batch:{idempotency_key}" if idempotency_key else None
    fingerprint = body_fingerprint(reports)
    try:
        with transaction.atomic():
            if key and (stored := command_replay(key=key, fingerprint=fingerprint)) is not None:
                return AuditRun.objects.get(pk=stored["id"]), True
            run = AuditRun.objects.create(total=len(reports), submitted_by=actor.label[:200], created_at=now)
            AuditRunItem.objects.bulk_create(
                AuditRunItem(run=run, position=i, payload=payload) for i, payload in enumerate(reports)
            )
            if key:
                command_store(key=key, fingerprint=fingerprint, response={"id": str(run.id)}, now=now)
            transaction.on_commit(lambda: audit_run_enqueue(run_id=run.id), robust=True)
    except IntegrityError:
        stored = command_replay(key=key, fingerprint=fingerprint) if key else None
        if stored is None:
            raise
        return AuditRun.objects.get(pk=stored["id"]), True
    return run, False


def audit_run_enqueue(*, run_id) -> bool:
    """Send the run to the broker. With the broker down the run just waits in the database; the sweeper
    sends it again later, and processing is idempotent, so a second delivery is harmless."""
    from governance.tasks import process_audit_run

    try:
        process_audit_run.apply_async(args=[str(run_id)], retry=False)
    except Exception as exc:  # kombu raises several types for "broker unreachable"
        log.warning("audit run %s not queued, broker unavailable: %s", run_id, exc)
        return False
    AuditRun.objects.filter(pk=run_id).update(queued_at=timezone.now())
    return True


def _item_report_id(run: AuditRun, item: AuditRunItem) -> str:
    return item.payload.get("report_id") or f"run:{run.id}:{item.position}"


def audit_run_process(*, run_id) -> AuditRun:
    """Process every pending report of the run. Safe to run twice or concurrently: each report has a
    stable id, so a repeat replays the stored answer."""
    run = AuditRun.objects.get(pk=run_id)
    if run.status in (AuditRun.Status.DONE, AuditRun.Status.FAILED):
        return run
    AuditRun.objects.filter(pk=run.pk).update(
        status=AuditRun.Status.RUNNING, started_at=run.started_at or timezone.now()
    )
    heartbeat = Heartbeat(AuditRun, run.pk)
    actor = on_behalf_of(run.submitted_by)
    for item in run.items.filter(status=AuditRunItem.Status.PENDING).order_by("position"):
        heartbeat.beat()
        fields = {k: v for k, v in item.payload.items() if k != "report_id"}
        try:
            outcome = report_submit(
                report=ReportInput(**fields), report_id=_item_report_id(run, item), now=timezone.now(), actor=actor
            )
            item.status, item.result = AuditRunItem.Status.DONE, outcome.body
        except DomainError as exc:
            item.status, item.result = AuditRunItem.Status.REJECTED, {"error": exc.as_body(), "status": exc.status_code}
        with transaction.atomic():
            updated = AuditRunItem.objects.filter(pk=item.pk, status=AuditRunItem.Status.PENDING).update(
                status=item.status, result=item.result
            )
            if updated:
                AuditRun.objects.filter(pk=run.pk).update(processed=F("processed") + 1)
    AuditRun.objects.filter(pk=run.pk).update(status=AuditRun.Status.DONE, finished_at=timezone.now(), lease_until=None)
    run.refresh_from_db()
    return run


def audit_runs_sweep(*, now: datetime, stale_after: timedelta = timedelta(minutes=2)) -> int:
    """Send again the runs that have waited too long: PENDING ones queued while the broker was down, and
    RUNNING ones whose lease has passed (lost with a crashed worker). A live run, renewing its lease, is left
    alone however long it takes."""
    waiting = Q(status=AuditRun.Status.PENDING) | (Q(status=AuditRun.Status.RUNNING) & lease_expired(now=now))
    stale = (
        AuditRun.objects.filter(waiting, created_at__lt=now - stale_after)
        .exclude(queued_at__gte=now - stale_after)
        .order_by()
    )
    return sum(1 for run_id in stale.values_list("id", flat=True) if audit_run_enqueue(run_id=run_id))
