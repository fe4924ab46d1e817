"""The database itself refuses to rewrite or erase evidence, whoever asks: the ORM, raw SQL or a shell.

Runs on whichever backend DATABASE_URL selects. Each refused statement runs in its own savepoint so the
test transaction stays usable on PostgreSQL.
"""

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.db import DatabaseError, IntegrityError, connection, models, transaction
from django.utils import timezone

from governance.models import AuditRecord, DisciplinaryAction, Incident, Penalty, PurgePermit, ScoreRecord
from governance.services.permits import purge_permit
from workforce.models import Event, Task, Worker

# --- Builders -----------------------------------------------------------------------------------------------


def make_worker(model_id: str = "openai/gpt-4o") -> Worker:
    return Worker.objects.create(model_id=model_id)


def make_task(task_id: str = "task-1") -> Task:
    return Task.objects.create(task_id=task_id, capability="code")


def make_audit_record(report_id: str = "report-1") -> AuditRecord:
    return AuditRecord.objects.create(
        report_id=report_id,
        request_hash="0" * 64,
        task=make_task(f"task-of-{report_id}"),
        worker=make_worker(f"worker-of-{report_id}"),
        outcome=AuditRecord.Outcome.CLEAN,
        settings_version=1,
        received_at=timezone.now(),
    )


def make_disciplinary_action() -> DisciplinaryAction:
    return DisciplinaryAction.objects.create(
        worker=make_worker(),
        action="WARNING",
        reason="first hallucination",
        actor_kind=DisciplinaryAction.Actor.HR,
        policy_version=1,
        created_at=timezone.now(),
    )


def make_score_record() -> ScoreRecord:
    return ScoreRecord.objects.create(
        worker=make_worker(),
        score=70,
        previous_reputation=60,
        reputation=63,
        action="NONE",
        metrics={"accuracy": "0.7"},
        settings_version=1,
        created_at=timezone.now(),
    )


def make_penalty() -> Penalty:
    return Penalty.objects.create(
        worker=make_worker(),
        reason="hallucination",
        severity=3,
        points=-30,
        settings_version=1,
        created_at=timezone.now(),
    )


def make_event() -> Event:
    return Event.objects.create(
        kind=Event.Kind.INCIDENT_OPENED, model_id="openai/gpt-4o", payload={"n": 1}, created_at=timezone.now()
    )


def make_incident() -> Incident:
    return Incident.objects.create(
        worker=make_worker("worker-of-incident"),
        task=make_task("task-of-incident"),
        severity=3,
        violations=[["hallucination", 3]],
        evidence=[{"line": "the model made it up"}],
        settings_version=1,
        reported_at=timezone.now(),
    )


@dataclass(frozen=True)
class Evidence:
    """A protected model, how to build a row, and one field change to attempt on it."""

    model: type[models.Model]
    build: Callable[[], models.Model]
    field: str
    new_value: object
    raw_set: str  # the same change as a raw SQL SET clause

    @property
    def table(self) -> str:
        return self.model._meta.db_table

    def __str__(self) -> str:
        return self.model.__name__


APPEND_ONLY = [
    Evidence(AuditRecord, make_audit_record, "outcome", "violation", "outcome = 'violation'"),
    Evidence(DisciplinaryAction, make_disciplinary_action, "reason", "rewritten", "reason = 'rewritten'"),
    Evidence(ScoreRecord, make_score_record, "score", 99, "score = 99"),
    Evidence(Penalty, make_penalty, "points", 0, "points = 0"),
    Evidence(Event, make_event, "kind", Event.Kind.SCORE_RECORDED, "kind = 'score.recorded'"),
]
DELETE_GUARDED = [*APPEND_ONLY, Evidence(Incident, make_incident, "severity", 1, "severity = 1")]


def assert_refused(statement: Callable[[], object], *, table: str, operation: str) -> None:
    with pytest.raises(DatabaseError) as refused, transaction.atomic():
        statement()
    assert f"{table} is append-only: {operation} refused" in str(refused.value)


def raw(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def db_pk(obj: models.Model):
    """The primary key as the backend stores it (SQLite keeps UUIDs as hex)."""
    return obj._meta.pk.get_db_prep_value(obj.pk, connection)


# --- UPDATE -------------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("evidence", APPEND_ONLY, ids=str)
def test_saving_a_changed_record_is_refused(evidence):
    obj = evidence.build()
    setattr(obj, evidence.field, evidence.new_value)

    assert_refused(obj.save, table=evidence.table, operation="UPDATE")

    obj.refresh_from_db()
    assert getattr(obj, evidence.field) != evidence.new_value


@pytest.mark.django_db
@pytest.mark.parametrize("evidence", APPEND_ONLY, ids=str)
def test_saving_an_unchanged_record_is_refused_too(evidence):
    obj = evidence.build()

    assert_refused(obj.save, table=evidence.table, operation="UPDATE")


@pytest.mark.django_db
@pytest.mark.parametrize("evidence", APPEND_ONLY, ids=str)
def test_queryset_update_is_refused(evidence):
    obj = evidence.build()

    assert_refused(
        lambda: evidence.model.objects.filter(pk=obj.pk).update(**{evidence.field: evidence.new_value}),
        table=evidence.table,
        operation="UPDATE",
    )


@pytest.mark.django_db
@pytest.mark.parametrize("evidence", APPEND_ONLY, ids=str)
def test_raw_sql_update_is_refused(evidence):
    obj = evidence.build()

    assert_refused(
        lambda: raw(f"UPDATE {evidence.table} SET {evidence.raw_set} WHERE id = %s", [db_pk(obj)]),
        table=evidence.table,
        operation="UPDATE",
    )


@pytest.mark.django_db
def test_refusal_is_an_integrity_error_on_every_backend():
    record = make_audit_record()

    with pytest.raises(IntegrityError), transaction.atomic():
        AuditRecord.objects.filter(pk=record.pk).update(outcome="violation")


# --- DELETE -------------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("evidence", DELETE_GUARDED, ids=str)
def test_orm_delete_is_refused(evidence):
    obj = evidence.build()
    pk = obj.pk

    assert_refused(obj.delete, table=evidence.table, operation="DELETE")
    assert_refused(evidence.model.objects.filter(pk=pk).delete, table=evidence.table, operation="DELETE")

    assert evidence.model.objects.filter(pk=pk).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("evidence", DELETE_GUARDED, ids=str)
def test_raw_sql_delete_is_refused(evidence):
    obj = evidence.build()

    assert_refused(
        lambda: raw(f"DELETE FROM {evidence.table} WHERE id = %s", [db_pk(obj)]),
        table=evidence.table,
        operation="DELETE",
    )

    assert evidence.model.objects.filter(pk=obj.pk).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("evidence", DELETE_GUARDED, ids=str)
def test_delete_under_a_purge_permit_succeeds(evidence):
    obj = evidence.build()
    pk = obj.pk  # delete() clears obj.pk

    with transaction.atomic(), purge_permit(reason="retention test"):
        obj.delete()

    assert not evidence.model.objects.filter(pk=pk).exists()
    assert not PurgePermit.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("evidence", DELETE_GUARDED, ids=str)
def test_raw_sql_delete_under_a_purge_permit_succeeds(evidence):
    obj = evidence.build()

    with transaction.atomic(), purge_permit(reason="retention test"):
        raw(f"DELETE FROM {evidence.table} WHERE id = %s", [db_pk(obj)])

    assert not evidence.model.objects.filter(pk=obj.pk).exists()


@pytest.mark.django_db
def test_the_permit_ends_with_its_block():
    event = make_event()

    with transaction.atomic():
        with purge_permit(reason="retention test"):
            pass
        assert_refused(event.delete, table="workforce_event", operation="DELETE")

    assert Event.objects.filter(pk=event.pk).exists()


@pytest.mark.django_db
def test_a_caught_failure_inside_the_permit_leaves_no_permit_behind():
    with transaction.atomic():
        try:
            with purge_permit(reason="retention test"):
                raise RuntimeError("the purge failed half-way")
        except RuntimeError:
            pass
        assert not PurgePermit.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_permit_outside_a_transaction_is_refused():
    with pytest.raises(transaction.TransactionManagementError, match="transaction.atomic"):
        with purge_permit(reason="retention test"):
            pass

    assert not PurgePermit.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_another_transactions_uncommitted_permit_does_not_license_a_delete():
    event = make_event()
    permit_held, release = threading.Event(), threading.Event()

    def hold_a_permit():
        try:
            with transaction.atomic():
                PurgePermit.objects.create(reason="someone else's purge, not yet committed")
                permit_held.set()
                release.wait(timeout=10)
                transaction.set_rollback(True)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_a_permit)
    holder.start()
    try:
        assert permit_held.wait(timeout=10)
        assert_refused(event.delete, table="workforce_event", operation="DELETE")
    finally:
        release.set()
        holder.join(timeout=10)

    assert Event.objects.filter(pk=event.pk).exists()
    assert not PurgePermit.objects.exists()


# --- Incident: the status moves, the evidence does not --------------------------------------------------------


@pytest.mark.django_db
def test_incident_status_and_resolution_may_change():
    incident = make_incident()

    incident.status = Incident.Status.CLOSED
    incident.resolved_at = timezone.now()
    incident.save()
    Incident.objects.filter(pk=incident.pk).update(status=Incident.Status.ACTIONED)

    incident.refresh_from_db()
    assert incident.status == Incident.Status.ACTIONED
    assert incident.resolved_at is not None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "new_value"),
    [
        ("evidence", ["tampered"]),
        ("violations", [["scope_drift", 1]]),
        ("severity", 1),
        ("settings_version", 2),
        ("reported_at", timezone.now() - timedelta(days=1)),
    ],
)
def test_changing_incident_evidence_is_refused(field, new_value):
    incident = make_incident()
    setattr(incident, field, new_value)

    assert_refused(incident.save, table="governance_incident", operation="UPDATE")
    assert_refused(
        lambda: Incident.objects.filter(pk=incident.pk).update(**{field: new_value}),
        table="governance_incident",
        operation="UPDATE",
    )


@pytest.mark.django_db
def test_moving_an_incident_to_another_worker_is_refused():
    incident = make_incident()
    incident.worker = make_worker("someone-else")
    incident.task = make_task("another-task")

    assert_refused(incident.save, table="governance_incident", operation="UPDATE")


@pytest.mark.django_db
def test_raw_sql_rewrite_of_incident_evidence_is_refused():
    incident = make_incident()

    assert_refused(
        lambda: raw("UPDATE governance_incident SET evidence = '[\"tampered\"]' WHERE id = %s", [db_pk(incident)]),
        table="governance_incident",
        operation="UPDATE",
    )
    incident.refresh_from_db()
    assert incident.evidence == [{"line": "the model made it up"}]


# --- The history of evidence --------------------------------------------------------------------------------

HISTORY_OF_EVIDENCE = [evidence for evidence in DELETE_GUARDED if hasattr(evidence.model, "history")]


def history_rows(evidence: Evidence) -> tuple[models.QuerySet, str]:
    """A fresh record's history rows, and the history table's name."""
    obj = evidence.build()
    history_model = evidence.model.history.model
    rows = history_model.objects.filter(id=obj.pk)
    assert rows.exists()
    return rows, history_model._meta.db_table


def test_every_evidence_model_with_a_history_is_covered():
    assert {str(evidence) for evidence in HISTORY_OF_EVIDENCE} == {
        "AuditRecord",
        "DisciplinaryAction",
        "ScoreRecord",
        "Penalty",
        "Incident",
    }


@pytest.mark.django_db
@pytest.mark.parametrize("evidence", HISTORY_OF_EVIDENCE, ids=str)
def test_rewriting_a_history_row_is_refused(evidence):
    rows, table = history_rows(evidence)
    row = rows.get()

    assert_refused(lambda: rows.update(history_change_reason="rewritten"), table=table, operation="UPDATE")
    row.history_change_reason = "rewritten"
    assert_refused(row.save, table=table, operation="UPDATE")
    assert_refused(
        lambda: raw(f"UPDATE {table} SET history_change_reason = 'rewritten' WHERE history_id = %s", [row.pk]),
        table=table,
        operation="UPDATE",
    )

    assert rows.get().history_change_reason != "rewritten"


@pytest.mark.django_db
@pytest.mark.parametrize("evidence", HISTORY_OF_EVIDENCE, ids=str)
def test_erasing_a_history_row_is_refused(evidence):
    rows, table = history_rows(evidence)
    row = rows.get()

    assert_refused(rows.delete, table=table, operation="DELETE")
    assert_refused(lambda: raw(f"DELETE FROM {table} WHERE history_id = %s", [row.pk]), table=table, operation="DELETE")

    assert rows.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("evidence", HISTORY_OF_EVIDENCE, ids=str)
def test_a_history_row_may_be_deleted_under_a_purge_permit(evidence):
    rows, table = history_rows(evidence)

    with transaction.atomic(), purge_permit(reason="retention test"):
        raw(f"DELETE FROM {table} WHERE history_id = %s", [rows.get().pk])

    assert not rows.exists()
