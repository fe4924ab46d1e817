"""The history of evidence is append-only too.

django-simple-history keeps a copy of every evidence row (and of every incident's status change) in its
Historical* table. Unprotected, those copies could be rewritten or erased by raw SQL or a shell while the
evidence itself is guarded, and the history would no longer tell what the record said. Their tables now refuse
every UPDATE, and every DELETE unless a purge permit is visible, exactly like the evidence tables of 0004, with
the same functions on PostgreSQL and the same messages ("governance_historicalincident is append-only: UPDATE
refused"). History rows are only ever inserted; the retention purge and the Director's early purge delete them
under their permit.

Caveat for later migrations, as in 0004: on SQLite, a migration that rebuilds one of these tables (AddField of
a NOT NULL or defaulted column on the historical model, most AlterField and RemoveField) drops its triggers
with the old table; it must end with
`RunPython(import_module("governance.migrations.0010_history_append_only").create_history_triggers, ...)`.
tests/governance/test_append_only.py fails on SQLite if they go missing.
"""

from importlib import import_module

from django.db import migrations

append_only = import_module("governance.migrations.0004_append_only_triggers")

# The Historical* tables of the evidence models that 0004 protects (workforce_event keeps no history).
HISTORY_TABLES = [
    "governance_historicalauditrecord",
    "governance_historicaldisciplinaryaction",
    "governance_historicalincident",
    "governance_historicalpenalty",
    "governance_historicalscorerecord",
]


def _pg_triggers() -> list[tuple[str, str, str]]:
    """(trigger, table, CREATE statement); the functions are 0004's."""
    triggers = []
    for table in HISTORY_TABLES:
        triggers += [
            (
                f"{table}_append_only_update",
                table,
                f"CREATE TRIGGER {table}_append_only_update BEFORE UPDATE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION governance_append_only_refuse_update()",
            ),
            (
                f"{table}_append_only_delete",
                table,
                f"CREATE TRIGGER {table}_append_only_delete BEFORE DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION governance_append_only_refuse_delete()",
            ),
        ]
    return triggers


def _sqlite_triggers() -> list[tuple[str, str, str]]:
    triggers = []
    for table in HISTORY_TABLES:
        triggers += [
            (
                f"{table}_append_only_update",
                table,
                f"CREATE TRIGGER {table}_append_only_update BEFORE UPDATE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: UPDATE refused'); END",
            ),
            (
                f"{table}_append_only_delete",
                table,
                f"CREATE TRIGGER {table}_append_only_delete BEFORE DELETE ON {table} "
                "WHEN NOT EXISTS (SELECT 1 FROM governance_purgepermit) "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: DELETE refused'); END",
            ),
        ]
    return triggers


def create_history_triggers(apps, schema_editor) -> None:
    """Create (or re-create) the history tables' triggers; idempotent."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        # CREATE OR REPLACE: the same bodies as 0004's, so the triggers never point at a missing function.
        for sql in append_only.PG_FUNCTIONS:
            append_only._execute(schema_editor, sql)
        for name, table, create in _pg_triggers():
            append_only._execute(schema_editor, f"DROP TRIGGER IF EXISTS {name} ON {table}")
            append_only._execute(schema_editor, create)
    elif vendor == "sqlite":
        for name, _, create in _sqlite_triggers():
            append_only._execute(schema_editor, f"DROP TRIGGER IF EXISTS {name}")
            append_only._execute(schema_editor, create)
    else:
        raise NotImplementedError(f"append-only triggers are not written for {vendor}")


def drop_history_triggers(apps, schema_editor) -> None:
    """Drop only this migration's triggers: the functions belong to 0004, which stays applied."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for name, table, _ in _pg_triggers():
            append_only._execute(schema_editor, f"DROP TRIGGER IF EXISTS {name} ON {table}")
    elif vendor == "sqlite":
        for name, _, _ in _sqlite_triggers():
            append_only._execute(schema_editor, f"DROP TRIGGER IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("governance", "0009_command_records")]

    operations = [migrations.RunPython(create_history_triggers, drop_history_triggers, elidable=False)]
