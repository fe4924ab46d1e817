"""Many reports at once, as a batch run processes them: the clean ones set-based, the rest one at a time.

A clean report changes little: its stored row (with history) and the mark on the worker's open attempt. So a
batch's clean reports are written together, a few hundred per transaction in a handful of statements, with the
very rows and answers one report at a time would have written (`reports.record_fields`, `reports.clean_body`).
Everything else (a violation, a provider fault, a repeat of a stored id, a task or worker to look up by name,
an error) goes through `report_submit`, the one-report flow, unchanged. The detectors run on every report here
too: a report in which any detector found anything, enforced or only observed, goes the one-report way, which
stores its findings; so a clean report written here has none. The latency history they may read is read once
per worker and capability for the batch, before its writes.

Order: reports on one worker keep their order. A worker's clean reports that come before its first report
needing the full flow are written first; from that report on, its reports go one at a time, in order.
"""

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from django.db import DatabaseError, connection, transaction

from aura_project.errors import DomainError
from aura_project.history import acting
from governance.domain.detection import is_provider_fault
from governance.models import AuditRecord
from governance.selectors import settings_current
from governance.selectors_detectors import detector_setup
from governance.services.reports import (
    ReportInput,
    clean_body,
    latency_history_for,
    latency_judged,
    record_fields,
    report_detect,
    report_facts,
    report_submit,
)
from governance.services.scoring_runs import _history_rows
from workforce.models import Assignment, Task, Worker
from workforce.services.access import actor_require

log = logging.getLogger(__name__)

CHUNK = 500  # clean reports per transaction


@dataclass
class BatchReport:
    """One report of a batch, and once processed its answer: (status, body) as `report_submit` would give."""

    key: object  # the caller's handle on the report (a run item's position)
    report: ReportInput
    report_id: str
    answer: tuple[str, dict] | None = None
    task: Task | None = None  # for a clean report, its task as read


def reports_process(entries: list[BatchReport], *, actor, now_fn) -> None:
    """Answer every entry, in place. `now_fn` gives the time a write is stamped with."""
    actor = actor_require(actor, "report")
    fast, slow = _split(entries, now=now_fn())
    for start in range(0, len(fast), CHUNK):
        chunk = fast[start : start + CHUNK]
        try:
            slow_again = _clean_write(chunk, actor=actor, now=now_fn())
        except DatabaseError as exc:  # a concurrent duplicate or a deadlock: one at a time decides
            log.info("batch of %d clean reports falls back to one at a time: %s", len(chunk), exc)
            slow_again = chunk
        slow.extend(slow_again)
    for entry in sorted(slow, key=lambda e: e.key):
        entry.answer = _one(entry, actor=actor, now=now_fn())


def _one(entry: BatchReport, *, actor, now: datetime) -> tuple[str, dict]:
    try:
        outcome = report_submit(report=entry.report, report_id=entry.report_id, now=now, actor=actor)
    except DomainError as exc:
        return "REJECTED", {"error": exc.as_body(), "status": exc.status_code}
    return "DONE", outcome.body


def _split(entries: list[BatchReport], *, now: datetime) -> tuple[list[BatchReport], list[BatchReport]]:
    """(clean reports to write together, reports for the one-report flow), by one read of the stored ids and
    one of the tasks (and, when latency.anomaly runs, one of each worker's latency history)."""
    if not entries:
        return [], []
    ids = Counter(e.report_id for e in entries)
    task_ids = Counter(e.report.task_id for e in entries)
    stored = set(AuditRecord.objects.filter(report_id__in=list(ids)).values_list("report_id", flat=True))
    tasks = {
        t.task_id: t
        for t in Task.objects.filter(task_id__in=list(task_ids))
        .select_related("current_worker")
        .only(
            "pk",
            "task_id",
            "capability",
            "instructions",
            "sources",
            "output_schema",
            "current_worker_id",
            "current_worker__model_id",
        )
    }
    setup = detector_setup(settings_current())
    histories: dict[tuple[int, str], object] = {}  # (worker, capability) -> its latency history

    def found_anything(entry: BatchReport, task: Task, facts) -> bool:
        history = None
        if latency_judged(setup, facts):
            key = (task.current_worker_id, task.capability)
            if key not in histories:
                histories[key] = latency_history_for(worker=task.current_worker, task=task, now=now)
            history = histories[key]
        return bool(report_detect(entry.report, task, facts, setup, history=history).findings)

    fast, slow, held_back = [], [], set()  # held_back: workers with a report in the one-report flow already
    for entry in sorted(entries, key=lambda e: e.key):
        task = tasks.get(entry.report.task_id)
        holder = task.current_worker if task is not None else None
        workers = {entry.report.model_id, holder.model_id if holder else None} - {None} or {
            ("task", entry.report.task_id)
        }
        facts = report_facts(entry.report)
        clean = (
            holder is not None
            and entry.report_id not in stored
            and ids[entry.report_id] == 1
            and task_ids[entry.report.task_id] == 1
            and entry.report.model_id in (None, holder.model_id)
            and not workers & held_back
            and not is_provider_fault(facts)
            and not found_anything(entry, task, facts)
        )
        if clean:
            entry.task = task
            fast.append(entry)
        else:
            held_back |= workers
            slow.append(entry)
    return fast, slow


def _clean_write(chunk: list[BatchReport], *, actor, now: datetime) -> list[BatchReport]:
    """Write these clean reports in one transaction, under their workers' locks (taken in id order, so two
    batches never wait on each other in a circle). Answers the reports that must go the one-report way after
    all: their task changed hands since it was read."""
    settings = settings_current()
    with acting(actor), transaction.atomic():
        worker_ids = sorted({e.task.current_worker_id for e in chunk})
        workers = {
            w.pk: w
            for w in Worker.objects.select_for_update(no_key=True)
            .filter(pk__in=worker_ids)
            .order_by("pk")
            .only("pk", "model_id")
        }
        holders = dict(Task.objects.filter(pk__in=[e.task.pk for e in chunk]).values_list("pk", "current_worker_id"))
        moved = [e for e in chunk if holders.get(e.task.pk) != e.task.current_worker_id]
        chunk = [e for e in chunk if holders.get(e.task.pk) == e.task.current_worker_id]
        if not chunk:
            return moved
        _attempts_passed([(e.task.pk, e.task.current_worker_id) for e in chunk], now=now)
        rows = []
        for entry in chunk:
            worker = workers[entry.task.current_worker_id]
            body = clean_body(entry.report_id, entry.task.task_id, worker.model_id)
            fields = record_fields(
                report=entry.report,
                report_id=entry.report_id,
                fingerprint=entry.report.fingerprint(),
                task=entry.task,
                worker=worker,
                outcome=AuditRecord.Outcome.CLEAN,
                incident=None,
                body=body,
                settings_version=settings.version,
                now=now,
                actor=actor,
            )
            rows.append(AuditRecord(**fields))
            entry.answer = ("DONE", body)
        AuditRecord.objects.bulk_create(rows)
        _history_rows(
            AuditRecord.objects.filter(report_id__in=[e.report_id for e in chunk]),
            history_type="+",
            reason=None,
            at=now,
        )
    return moved


def _attempts_passed(pairs: list[tuple[int, int]], *, now: datetime) -> None:
    """`tasks.attempt_mark(outcome=PASSED)` for many (task, worker) pairs in one UPDATE, joined on the pairs
    (a row-value IN list made PostgreSQL scan every open attempt)."""
    qn = connection.ops.quote_name
    field = Assignment._meta.get_field
    table = qn(Assignment._meta.db_table)
    task, worker = qn(field("task").column), qn(field("worker").column)
    values = ", ".join(["(%s, %s)"] * len(pairs))
    params = [field("reported_at").get_db_prep_save(now, connection), Assignment.Outcome.PASSED]
    params += [value for pair in pairs for value in pair]
    assign = f"UPDATE {table} SET {qn(field('reported_at').column)} = %s, {qn(field('outcome').column)} = %s"
    open_attempt = f"{table}.{qn(field('ended_at').column)} IS NULL"
    if connection.vendor == "sqlite" and connection.Database.sqlite_version_info < (3, 33):
        sql = f"{assign} WHERE {open_attempt} AND ({task}, {worker}) IN (VALUES {values})"
    else:
        sql = (
            f"{assign} FROM (VALUES {values}) AS v "
            f"WHERE {table}.{task} = v.column1 AND {table}.{worker} = v.column2 AND {open_attempt}"
        )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
