"""The system mode's history (workforce_historicalsystemmode: every halt and resume, who and why) is append-only,
like every other history table (0015): UPDATE always refused, DELETE only under a purge permit. Its triggers are
governance's, laid here because governance owns the append-only machinery and workforce never imports it."""

from importlib import import_module

from django.db import migrations

evidence_triggers = import_module("governance.migrations.0004_append_only_triggers")
faster_triggers = import_module("governance.migrations.0013_faster_purge_triggers")
_execute = evidence_triggers._execute

HISTORY_TABLES = ["workforce_historicalsystemmode"]


def _pg_triggers() -> list[tuple[str, str, str]]:
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
                f"FOR EACH STATEMENT EXECUTE FUNCTION {faster_triggers.FUNCTION}()",
            ),
        ]
    return triggers


def _sqlite_triggers() -> list[tuple[str, str, str]]:
    no_permit = "NOT EXISTS (SELECT 1 FROM governance_purgepermit)"
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
                f"CREATE TRIGGER {table}_append_only_delete BEFORE DELETE ON {table} WHEN {no_permit} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: DELETE refused'); END",
            ),
        ]
    return triggers


def create_triggers(apps, schema_editor) -> None:
    """This migration's triggers (the functions are 0004's and 0013's); idempotent."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for sql in [*evidence_triggers.PG_FUNCTIONS, faster_triggers.PG_FUNCTION]:
            _execute(schema_editor, sql)
        triggers = _pg_triggers()
    elif vendor == "sqlite":
        triggers = _sqlite_triggers()
    else:
        raise NotImplementedError(f"append-only triggers are not written for {vendor}")
    for name, table, create in triggers:
        _execute(schema_editor, f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if vendor == "postgresql" else ""))
        _execute(schema_editor, create)


def drop_triggers(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    for name, table, _ in _pg_triggers() if vendor == "postgresql" else _sqlite_triggers():
        _execute(schema_editor, f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if vendor == "postgresql" else ""))


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0016_dashboard"),
        ("workforce", "0008_system_mode"),
    ]

    operations = [migrations.RunPython(create_triggers, drop_triggers, elidable=False)]
