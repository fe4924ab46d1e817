"""On PostgreSQL, the append-only DELETE check runs once per statement, not once per row.

0004 and 0010 refuse a DELETE on the evidence tables and their Historical* tables unless a purge permit is
visible, with a FOR EACH ROW trigger that runs a PL/pgSQL function, and its look-up of the permit table, for
every row. At a million rows that was a quarter of the purge's time. The check is the same for every row of a
statement, so it now runs once, BEFORE the statement:
- the same function body (a permit visible to this transaction, or a refusal), the same trigger names, the
  same error (23001 restrict_violation, "<table> is append-only: DELETE refused");
- a DELETE without a permit is refused even when it matches no row, which is stricter, not looser: only the
  purge deletes evidence, and it always holds its permit.
The UPDATE triggers stay per row (the incident's compares each row's old and new evidence). SQLite has no
statement triggers; its per-row check (a WHEN clause, no function call) is cheap and stays as it is.

Caveat for later migrations: 0004's and 0010's create functions lay the per-row DELETE triggers again. A
migration that must re-create the triggers (a table rebuilt on SQLite) ends with this module's
`create_triggers`, which lays theirs and then these.
"""

from importlib import import_module

from django.db import migrations

evidence_triggers = import_module("governance.migrations.0004_append_only_triggers")
history_triggers = import_module("governance.migrations.0010_history_append_only")

TABLES = [*evidence_triggers.DELETE_GUARDED_TABLES, *history_triggers.HISTORY_TABLES]
FUNCTION = "governance_append_only_refuse_delete_statement"
PG_FUNCTION = f"""
    CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        -- READ COMMITTED: a permit is visible only to the purge transaction that inserted it.
        IF EXISTS (SELECT 1 FROM governance_purgepermit) THEN
            RETURN NULL;
        END IF;
        RAISE EXCEPTION '% is append-only: DELETE refused', TG_TABLE_NAME
            USING ERRCODE = 'restrict_violation',
                  HINT = 'Only the retention purge deletes evidence, under a purge permit.';
    END;
    $$
"""


def _statement_triggers(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    evidence_triggers._execute(schema_editor, PG_FUNCTION)
    for table in TABLES:
        name = f"{table}_append_only_delete"
        evidence_triggers._execute(schema_editor, f"DROP TRIGGER IF EXISTS {name} ON {table}")
        evidence_triggers._execute(
            schema_editor,
            f"CREATE TRIGGER {name} BEFORE DELETE ON {table} FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()",
        )


def create_triggers(apps, schema_editor) -> None:
    """Every append-only trigger, as the migrations up to this one lay them; idempotent."""
    evidence_triggers.create_triggers(apps, schema_editor)
    history_triggers.create_history_triggers(apps, schema_editor)
    _statement_triggers(apps, schema_editor)


def row_triggers(apps, schema_editor) -> None:
    """Unapplying: the per-row DELETE triggers of 0004 and 0010 again (idempotent), then this function goes."""
    if schema_editor.connection.vendor != "postgresql":
        return
    evidence_triggers.create_triggers(apps, schema_editor)
    history_triggers.create_history_triggers(apps, schema_editor)
    evidence_triggers._execute(schema_editor, f"DROP FUNCTION IF EXISTS {FUNCTION}()")


class Migration(migrations.Migration):
    dependencies = [("governance", "0012_admin_indexes")]

    operations = [migrations.RunPython(create_triggers, row_triggers, elidable=False)]
