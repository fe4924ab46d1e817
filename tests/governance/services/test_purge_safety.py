"""The purge's promises under stress: a purge killed halfway still says what it deleted, a hold keeps the
Manager events naming what it holds, and no copy of a purged report lives on in a batch run's items.

Records are made through the real report pipeline, with the clock passed in, so they carry the events and
the response bodies production writes.
"""

from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from governance.models import AuditRecord, AuditRun, AuditRunItem, CommandRecord, Hold, Incident, Penalty, PurgeLog
from governance.services import purge as purge_module
from governance.services.purge import REDACTED_ITEMS, purge_expired, records_purge_early
from governance.services.reports import ReportInput, report_submit
from workforce.domain.actor import MANAGER, service_key
from workforce.models import Event, Worker
from workforce.services.tasks import task_register

TEST_MANAGER = service_key("test-manager", MANAGER)  # the Manager's key, for service calls

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)
SECRET = "customer card 4111 1111 1111 1111"


@pytest.fixture
def now() -> datetime:
    return timezone.now().replace(microsecond=0)


_serial = iter(range(1_000_000))


def hire(model_id: str) -> Worker:
    return Worker.objects.create(model_id=model_id, capabilities=["code"])


def hallucinate(worker: Worker, at: datetime, *, report_id: str | None = None) -> AuditRecord:
    """A hallucination reported at `at`: report, incident, action, penalty, score and events, as production
    writes them. A spare worker must exist for the task to move on to."""
    task_id = f"{worker.model_id}/task-{next(_serial)}"
    task_register(actor=TEST_MANAGER, task_id=task_id, capability="code", priority=2, model_id=worker.model_id, now=at)
    report_id = report_id or f"r-{task_id}"
    report_submit(
        actor=TEST_MANAGER,
        report=ReportInput(task_id=task_id, model_id=worker.model_id, hallucinated=True, logs=[SECRET]),
        report_id=report_id,
        now=at,
    )
    return AuditRecord.objects.get(report_id=report_id)


def batch(*reports: AuditRecord, finished_at: datetime | None, **run_fields) -> AuditRun:
    """A batch run that carried these reports, its items holding the payload and the answer as
    audit_runs.audit_run_process stores them."""
    run_fields.setdefault("created_at", (finished_at or timezone.now()) - timedelta(minutes=5))
    run = AuditRun.objects.create(
        total=len(reports),
        processed=len(reports),
        finished_at=finished_at,
        status=AuditRun.Status.DONE if finished_at else AuditRun.Status.RUNNING,
        **run_fields,
    )
    for position, report in enumerate(reports):
        AuditRunItem.objects.create(
            run=run,
            position=position,
            payload={"report_id": report.report_id, "task_id": report.task.task_id, "logs": report.logs},
            status=AuditRunItem.Status.DONE,
            result=report.response,
        )
    return run


def stub(report_id: str) -> dict:
    return {"purged": True, "report_id": report_id}


def events_of(worker: Worker):
    return Event.objects.filter(model_id=worker.model_id)


# --- A purge killed halfway ---------------------------------------------------------------------------------


def test_a_purge_killed_in_its_second_chunk_has_logged_what_its_first_chunk_deleted(now, monkeypatch):
    monkeypatch.setattr(purge_module, "CHUNK", 2)
    hire("spare")
    for n in range(3):
        hallucinate(hire(f"doomed-{n}"), now - 400 * DAY)
    real_delete, calls = purge_module._delete_rows, []

    def killed_on_the_second_chunk(model, ids):
        calls.append(model)
        if len(calls) == 2:
            raise TimeoutError("the worker hit its time limit")
        return real_delete(model, ids)

    monkeypatch.setattr(purge_module, "_delete_rows", killed_on_the_second_chunk)

    with pytest.raises(TimeoutError):
        purge_expired(now=now)

    log = PurgeLog.objects.get()
    assert log.finished_at is None  # it never finished, and says so
    assert log.cutoff == now - 365 * DAY
    assert log.counts == {"governance_penalty": 2, "governance_historicalpenalty": 2}
    assert Penalty.objects.count() == 1  # the first chunk's deletes stand, and are the ones logged


def test_a_finished_purge_has_the_same_log_row_it_started_with(now):
    hire("spare")
    hallucinate(hire("old"), now - 400 * DAY)

    result = purge_expired(now=now)

    assert PurgeLog.objects.get().pk == result.log.pk
    assert result.log.finished_at is not None and result.log.counts["governance_auditrecord"] == 1


# --- Holds and the Manager's events -------------------------------------------------------------------------


def test_a_held_workers_events_are_kept_until_the_hold_is_lifted(now, director):
    held, loose = hire("held"), hire("loose")
    hire("spare")
    hallucinate(held, now - 400 * DAY)
    hallucinate(loose, now - 400 * DAY)
    hold = Hold.objects.create(
        kind=Hold.Kind.DIRECTOR, worker=held, reason="under review", created_by=director, created_at=now
    )
    held_events = events_of(held).count()
    assert held_events and events_of(loose).exists()

    purge_expired(now=now)

    assert events_of(held).count() == held_events
    assert not events_of(loose).exists()

    hold.lifted_at, hold.lifted_by = now, director
    hold.save(update_fields=["lifted_at", "lifted_by"])
    purge_expired(now=now + DAY)

    assert not events_of(held).exists()


def test_events_naming_a_held_incident_are_kept_and_events_naming_none_still_go(now, director):
    worker = hire("appeal")
    hire("spare")
    appealed = hallucinate(worker, now - 400 * DAY)
    Hold.objects.create(
        kind=Hold.Kind.APPEAL, incident=appealed.incident, reason="appeal", created_by=director, created_at=now
    )
    old = now - 400 * DAY
    naming = Event.objects.create(
        kind="incident.opened", payload={"incident_id": str(appealed.incident_id)}, created_at=old
    )
    other = Event.objects.create(kind="incident.opened", payload={"incident_id": "999999"}, created_at=old)
    # An exclude() on a JSON key is unknown where the key is missing or null; these must still be purged.
    no_key = Event.objects.create(kind="task.waiting", payload={}, created_at=old)
    null_key = Event.objects.create(kind="action.applied", payload={"incident_id": None}, created_at=old)

    purge_expired(now=now)

    remaining = set(Event.objects.values_list("pk", flat=True))
    assert naming.pk in remaining
    assert not remaining & {other.pk, no_key.pk, null_key.pk}
    assert Incident.objects.filter(pk=appealed.incident_id).exists()


# --- Batch runs and their copies of reports -----------------------------------------------------------------


def test_a_batch_run_finished_before_the_cutoff_goes_with_its_items(now):
    worker = hire("batched")
    hire("spare")
    old_report, young_report = hallucinate(worker, now - 400 * DAY), hallucinate(worker, now - 10 * DAY)
    old_run = batch(old_report, finished_at=now - 400 * DAY)
    young_run = batch(young_report, finished_at=now - 10 * DAY)
    stuck = batch(finished_at=None, created_at=now - 400 * DAY)  # unfinished: its reports are not made yet

    result = purge_expired(now=now)

    assert not AuditRun.objects.filter(pk=old_run.pk).exists()
    assert not AuditRunItem.objects.filter(run_id=old_run.pk).exists()
    assert set(AuditRun.objects.values_list("pk", flat=True)) == {young_run.pk, stuck.pk}
    assert young_run.items.get().payload["logs"] == [SECRET]  # its report is kept, so is its copy
    assert (result.counts["governance_auditrun"], result.counts["governance_auditrunitem"]) == (1, 1)
    connection.check_constraints()


def test_a_batch_run_that_carried_a_held_workers_report_stays_with_it(now, director):
    held = hire("held")
    hire("spare")
    run = batch(hallucinate(held, now - 400 * DAY), finished_at=now - 400 * DAY)
    Hold.objects.create(kind=Hold.Kind.DIRECTOR, worker=held, reason="review", created_by=director, created_at=now)

    purge_expired(now=now)

    assert AuditRun.objects.filter(pk=run.pk).exists() and run.items.exists()


def test_the_directors_early_purge_of_a_report_redacts_the_batch_item_that_carried_it(now, director):
    worker = hire("leaky")
    hire("spare")
    leaked, other = hallucinate(worker, now - 5 * DAY), hallucinate(worker, now - 5 * DAY)
    run = batch(leaked, other, finished_at=now - 5 * DAY)

    log = records_purge_early(
        model_label="governance.auditrecord", ids=[leaked.pk], reason="a secret in the logs", actor=director, now=now
    )

    item, untouched = run.items.order_by("position")
    assert (item.payload, item.result) == (stub(leaked.report_id), stub(leaked.report_id))
    assert untouched.payload["logs"] == [SECRET] and untouched.result["report_id"] == other.report_id
    assert log.counts[REDACTED_ITEMS] == 1


def test_purging_an_incident_early_redacts_the_batch_item_of_its_report(now, director):
    worker = hire("incident")
    hire("spare")
    report = hallucinate(worker, now - 5 * DAY)
    run = batch(report, finished_at=now - 5 * DAY)

    records_purge_early(
        model_label="governance.incident", ids=[report.incident_id], reason="wrongly opened", actor=director, now=now
    )

    assert run.items.get().result == stub(report.report_id)


def test_the_retention_purge_redacts_a_newer_runs_copy_of_an_expired_report(now):
    worker = hire("replayed")
    hire("spare")
    report = hallucinate(worker, now - 400 * DAY)
    kept = hallucinate(worker, now - 10 * DAY)
    run = batch(report, kept, finished_at=now - 10 * DAY)  # the Manager sent the old report id again, recently
    refused = {"error": {"task_id": ["no task 'x'"]}, "status": 404}
    AuditRunItem.objects.create(run=run, position=2, payload={"task_id": "x"}, status="REJECTED", result=refused)

    result = purge_expired(now=now)

    assert AuditRun.objects.filter(pk=run.pk).exists()
    replayed, fresh, rejected = run.items.order_by("position")
    assert (replayed.payload, replayed.result) == (stub(report.report_id), stub(report.report_id))
    assert fresh.result == kept.response and rejected.result == refused  # no report purged: untouched
    assert result.counts[REDACTED_ITEMS] == 1
    assert purge_expired(now=now).counts.get(REDACTED_ITEMS) is None  # a stub is not redacted twice


def test_a_pending_item_whose_report_is_purged_is_marked_done_not_processed_again(now, director):
    worker = hire("pending")
    hire("spare")
    run = AuditRun.objects.create(total=1, created_at=now - DAY, status=AuditRun.Status.RUNNING)
    # Its report was made, then the worker died before the item's answer was stored: the id is generated.
    report = hallucinate(worker, now - DAY, report_id=f"run:{run.pk}:0")
    AuditRunItem.objects.create(run=run, position=0, payload={"task_id": report.task.task_id, "logs": [SECRET]})

    records_purge_early(
        model_label="governance.auditrecord", ids=[report.pk], reason="a secret", actor=director, now=now
    )

    item = run.items.get()
    assert (item.status, item.payload) == (AuditRunItem.Status.DONE, stub(report.report_id))


def test_stored_command_answers_older_than_the_cutoff_go(now):
    def answer(key: str, age: timedelta) -> CommandRecord:
        return CommandRecord.objects.create(
            key=key, request_hash="0" * 64, response={"actions": ["STRIKE"]}, created_at=now - age
        )

    old, young = answer("enforce:old", 366 * DAY), answer("enforce:young", 364 * DAY)

    result = purge_expired(now=now)

    assert list(CommandRecord.objects.values_list("pk", flat=True)) == [young.pk]
    assert result.counts["governance_commandrecord"] == 1 and not CommandRecord.objects.filter(pk=old.pk).exists()


def test_the_purge_command_counts_redacted_batch_items_apart_from_deleted_records(now):
    import io

    from django.core.management import call_command

    worker = hire("counted")
    hire("spare-2")
    report = hallucinate(worker, now - 400 * DAY)
    kept = hallucinate(worker, now - 10 * DAY)
    batch(report, kept, finished_at=now - 10 * DAY)
    out = io.StringIO()

    call_command("purge_expired", stdout=out)

    log = PurgeLog.objects.get()
    deleted = sum(n for table, n in log.counts.items() if "_historical" not in table and table != REDACTED_ITEMS)
    assert log.counts[REDACTED_ITEMS] == 1
    assert f"Purge deleted {deleted} records" in out.getvalue()
    assert "redacted 1 batch items" in out.getvalue()
