"""Batch audit runs: reports stored first, processed by a Celery worker, each report exactly once."""

import logging
import zlib
from datetime import datetime, timedelta

from django.conf import settings as django_settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from aura_project.bulk import rows_update
from governance.models import AuditRun, AuditRunItem
from governance.services.commands import body_fingerprint, command_replay, command_store
from governance.services.leases import Heartbeat, lease_expired
from governance.services.report_batches import BatchReport, reports_process
from governance.services.reports import ReportInput
from workforce.domain.actor import on_behalf_of
from workforce.models import Task
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


def audit_run_process(*, run_id, positions: list[int] | None = None, queue: str | None = None) -> AuditRun:
    """Process the run's pending reports: all of them, or those at `positions` (one part of a run split by
    worker). A large run is split by worker into parts that Celery processes in parallel, each part keeping its
    workers' reports in order. Clean reports are written set-based (governance.services.report_batches).
    Safe to run twice or concurrently: each report has a stable id, so a repeat replays the stored answer,
    and each item's answer is stored and counted once. The parts go to `queue` (the one this run came on)."""
    run = AuditRun.objects.get(pk=run_id)
    if run.status in (AuditRun.Status.DONE, AuditRun.Status.FAILED):
        return run
    AuditRun.objects.filter(pk=run.pk).update(
        status=AuditRun.Status.RUNNING, started_at=run.started_at or timezone.now()
    )
    heartbeat = Heartbeat(AuditRun, run.pk)
    heartbeat.beat()
    items = run.items.filter(status=AuditRunItem.Status.PENDING).order_by("position")
    if positions is not None:
        items = items.filter(position__in=positions)
    items = list(items)
    if positions is None:
        items = _hand_out_parts(run, items, queue=queue)
    actor = on_behalf_of(run.submitted_by)
    for start in range(0, len(items), SLICE):
        heartbeat.beat()
        chunk = items[start : start + SLICE]
        entries = [
            BatchReport(
                key=item.position,
                report=ReportInput(**{k: v for k, v in item.payload.items() if k != "report_id"}),
                report_id=_item_report_id(run, item),
            )
            for item in chunk
        ]
        reports_process(entries, actor=actor, now_fn=timezone.now)
        _answers_store(run, chunk, [entry.answer for entry in entries])
    if not run.items.filter(status=AuditRunItem.Status.PENDING).exists():
        AuditRun.objects.filter(pk=run.pk, status=AuditRun.Status.RUNNING).update(
            status=AuditRun.Status.DONE, finished_at=timezone.now(), lease_until=None
        )
    run.refresh_from_db()
    return run


SLICE = 1000  # reports whose answers are stored together


def _answers_store(run: AuditRun, items: list[AuditRunItem], answers: list[tuple[str, dict]]) -> None:
    """Store each item's answer once: an item another process answered meanwhile is neither written again
    nor counted twice."""
    with transaction.atomic():
        pending = set(
            AuditRunItem.objects.select_for_update()
            .filter(pk__in=[item.pk for item in items], status=AuditRunItem.Status.PENDING)
            .values_list("pk", flat=True)
        )
        answered = []
        for item, (status, result) in zip(items, answers, strict=True):
            if item.pk in pending:
                item.status, item.result = status, result
                answered.append(item)
        rows_update(AuditRunItem, answered, ["status", "result"])
        AuditRun.objects.filter(pk=run.pk).update(processed=F("processed") + len(answered))


def _hand_out_parts(run: AuditRun, items: list[AuditRunItem], *, queue: str | None) -> list[AuditRunItem]:
    """Split a large run by worker into parts, send all but the first to the broker, and answer the items
    this process keeps: the first part, and any part the broker would not take."""
    parts = django_settings.AURA_BATCH_PARTS
    if parts < 2 or len(items) < PART_MIN:
        return items
    holders = dict(
        Task.objects.filter(task_id__in={item.payload.get("task_id") for item in items}).values_list(
            "task_id", "current_worker__model_id"
        )
    )
    split: list[list[AuditRunItem]] = [[] for _ in range(parts)]
    for item in items:
        task_id = item.payload.get("task_id")
        worker = item.payload.get("model_id") or holders.get(task_id) or f"task:{task_id}"
        split[zlib.crc32(str(worker).encode()) % parts].append(item)
    from governance.tasks import process_audit_run_part

    kept = split[0]
    for part in split[1:]:
        if not part:
            continue
        try:
            process_audit_run_part.apply_async(
                args=[str(run.id), [item.position for item in part]], queue=queue, retry=False
            )
        except Exception as exc:  # kombu raises several types for "broker unreachable"
            log.warning("audit run %s: a part stays with this worker, broker unavailable: %s", run.id, exc)
            kept += part
    return sorted(kept, key=lambda item: item.position)


PART_MIN = 200  # a smaller run is not worth splitting


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
