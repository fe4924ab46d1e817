"""Every history table, the purge log, batch items and stored command answers are append-only (migration 0015),
on whichever backend DATABASE_URL selects: the triggers refuse, whoever asks, with or without database roles.
"""

import uuid

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from governance import record_tables
from governance.models import AuditRun, AuditRunItem, CommandRecord, Policy, PurgeLog
from governance.services.permits import purge_permit
from workforce.models import Task, Worker

pytestmark = pytest.mark.django_db


def raw(sql: str, params: list | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])


def assert_refused(sql: str, params: list, *, table: str, operation: str) -> None:
    with pytest.raises(DatabaseError) as refused, transaction.atomic():
        raw(sql, params)
    assert f"{table} is append-only: {operation} refused" in str(refused.value)


def count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")
        return cursor.fetchone()[0]


def history_rows() -> dict[str, tuple[str, object]]:
    """A history row in each table 0015 covers, written the way production writes them: by saving."""
    worker = Worker.objects.create(model_id="history/worker")
    Task.objects.create(task_id="history-task", capability="code", current_worker=worker)
    Policy.objects.first().save()  # the seeded policies and settings have history rows already
    rows = {}
    for table in ("workforce_historicalworker", "workforce_historicaltask", "governance_historicalpolicy"):
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT history_id FROM {table} ORDER BY history_id DESC LIMIT 1")
            rows[table] = ("history_id", cursor.fetchone()[0])
    return rows


def test_every_history_table_of_every_app_is_append_only():
    assert record_tables.history_tables()
    assert set(record_tables.history_tables()) <= set(record_tables.APPEND_ONLY)


def test_every_guarded_table_has_its_update_and_delete_triggers():
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        names = {name for (name,) in cursor.fetchall()}
    missing = {
        f"{table}_append_only_{operation}" for table in record_tables.GUARDED for operation in ("update", "delete")
    } - names
    assert missing == set()


@pytest.mark.parametrize(
    "table", ["workforce_historicalworker", "workforce_historicaltask", "governance_historicalpolicy"]
)
def test_a_history_row_cannot_be_rewritten_or_erased_without_a_permit(table):
    column, key = history_rows()[table]

    assert_refused(
        f"UPDATE {table} SET history_change_reason = 'forged' WHERE {column} = %s",
        [key],
        table=table,
        operation="UPDATE",
    )
    assert_refused(f"DELETE FROM {table} WHERE {column} = %s", [key], table=table, operation="DELETE")
    with transaction.atomic(), purge_permit(reason="retention test"):
        raw(f"DELETE FROM {table} WHERE {column} = %s", [key])


def test_a_stored_command_answer_cannot_be_rewritten_or_erased():
    stored = CommandRecord.objects.create(
        key="enforce:k1", request_hash="0" * 64, response={}, created_at=timezone.now()
    )
    table = CommandRecord._meta.db_table

    assert_refused(f"UPDATE {table} SET status_code = 500 WHERE id = %s", [stored.pk], table=table, operation="UPDATE")
    assert_refused(f"DELETE FROM {table} WHERE id = %s", [stored.pk], table=table, operation="DELETE")
    assert CommandRecord.objects.get(pk=stored.pk).status_code == 200


def test_the_purge_log_changes_only_under_a_permit():
    log = PurgeLog.objects.create(actor_kind=PurgeLog.Actor.COMMAND, reason="retention", started_at=timezone.now())
    table = PurgeLog._meta.db_table

    assert_refused(
        f"UPDATE {table} SET reason = 'nothing happened' WHERE id = %s", [log.pk], table=table, operation="UPDATE"
    )
    assert_refused(f"DELETE FROM {table} WHERE id = %s", [log.pk], table=table, operation="DELETE")
    with transaction.atomic(), purge_permit(reason="retention"):
        PurgeLog.objects.filter(pk=log.pk).update(counts={"governance_auditrecord": 3})

    assert PurgeLog.objects.get(pk=log.pk).counts == {"governance_auditrecord": 3}


@pytest.fixture
def item() -> AuditRunItem:
    run = AuditRun.objects.create(id=uuid.uuid4(), total=1, created_at=timezone.now())
    return AuditRunItem.objects.create(run=run, position=0, payload={"report_id": "r-1", "task_id": "t"})


def test_a_pending_batch_item_gets_its_result_once(item):
    table = AuditRunItem._meta.db_table
    done = AuditRunItem.objects.filter(pk=item.pk, status=AuditRunItem.Status.PENDING).update(
        status=AuditRunItem.Status.DONE, result={"report_id": "r-1"}
    )

    assert done == 1
    with pytest.raises(DatabaseError, match=f"{table} is append-only: UPDATE refused"), transaction.atomic():
        AuditRunItem.objects.filter(pk=item.pk).update(status=AuditRunItem.Status.REJECTED, result={"forged": True})
    assert AuditRunItem.objects.get(pk=item.pk).result == {"report_id": "r-1"}


@pytest.mark.parametrize(
    "change",
    [{"payload": {"report_id": "r-2"}}, {"position": 7}, {"status": AuditRunItem.Status.PENDING, "result": {}}],
    ids=["payload", "position", "still-pending"],
)
def test_a_batch_item_refuses_any_other_update_without_a_permit(item, change):
    with pytest.raises(DatabaseError, match="append-only: UPDATE refused"), transaction.atomic():
        AuditRunItem.objects.filter(pk=item.pk).update(**change)


def test_the_purge_stubs_a_batch_item_and_deletes_it_under_its_permit(item):
    table = AuditRunItem._meta.db_table
    assert_refused(f"DELETE FROM {table} WHERE id = %s", [item.pk], table=table, operation="DELETE")

    with transaction.atomic(), purge_permit(reason="retention"):
        AuditRunItem.objects.filter(pk=item.pk).update(payload={"purged": True}, status=AuditRunItem.Status.DONE)
    assert AuditRunItem.objects.get(pk=item.pk).payload == {"purged": True}
    with transaction.atomic(), purge_permit(reason="retention"):
        raw(f"DELETE FROM {table} WHERE id = %s", [item.pk])
    assert count(table) == 0
