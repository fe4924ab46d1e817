"""Append-only evidence, enforced by the database itself on PostgreSQL and SQLite.

Evidence tables refuse every UPDATE, and every DELETE unless a governance_purgepermit row is visible to the
deleting transaction. Only the retention purge inserts one, inside its own transaction, so raw SQL, a shell
or a buggy service cannot rewrite or erase the record. An incident's status and resolved_at may still move;
its evidence columns may not.

Both backends raise an integrity error (PostgreSQL SQLSTATE 23001 restrict_violation, SQLite's
RAISE(ABORT)), which Django surfaces as django.db.IntegrityError, with a message such as
"governance_auditrecord is append-only: UPDATE refused".

Caveats for later migrations:
- On SQLite, a migration that rebuilds one of these tables (AddField of a unique or foreign key column,
  most AlterField and RemoveField) drops its triggers with the old table; it must re-create them (call
  `create_triggers`). tests/governance/test_append_only.py fails on SQLite if they go missing. PostgreSQL
  keeps triggers through ALTER TABLE, and its incident check names no columns.
- TRUNCATE fires no row trigger. Django's test flush on PostgreSQL relies on that; SQLite's flush uses
  DELETE, so a transactional_db test there must not leave evidence rows behind without a permit.
- The Historical* tables of these models get the same triggers in 0010_history_append_only; the purge deletes
  their rows under its permit too.
"""

from django.db import migrations

# Every UPDATE and every DELETE without a permit is refused.
APPEND_ONLY_TABLES = [
    "governance_auditrecord",
    "governance_disciplinaryaction",
    "governance_scorerecord",
    "governance_penalty",
    "workforce_event",
]
# governance_incident refuses DELETE without a permit, and an UPDATE that changes any column but these.
INCIDENT_MUTABLE_COLUMNS = ["status", "resolved_at"]
DELETE_GUARDED_TABLES = [*APPEND_ONLY_TABLES, "governance_incident"]

# --- PostgreSQL ---------------------------------------------------------------------------------------------
# 23001 restrict_violation: psycopg maps it to IntegrityError, as SQLite's RAISE(ABORT) is; RAISE's default
# P0001 would surface as InternalError on one backend only.
PG_FUNCTIONS = [
    """
    CREATE OR REPLACE FUNCTION governance_append_only_refuse_update() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '% is append-only: UPDATE refused', TG_TABLE_NAME
            USING ERRCODE = 'restrict_violation',
                  HINT = 'Record a correction as a new row that points at the old one.';
    END;
    $$
    """,
    """
    CREATE OR REPLACE FUNCTION governance_append_only_refuse_delete() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        -- READ COMMITTED: a permit is visible only to the purge transaction that inserted it.
        IF EXISTS (SELECT 1 FROM governance_purgepermit) THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION '% is append-only: DELETE refused', TG_TABLE_NAME
            USING ERRCODE = 'restrict_violation',
                  HINT = 'Only the retention purge deletes evidence, under a purge permit.';
    END;
    $$
    """,
    # Compares the whole row but the mutable columns, so a column added or dropped later stays covered;
    # jsonb compares by value, so re-saving the same evidence through the ORM is no change.
    """
    CREATE OR REPLACE FUNCTION governance_incident_refuse_evidence_update() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF (to_jsonb(OLD) - '{mutable}'::text[]) IS DISTINCT FROM (to_jsonb(NEW) - '{mutable}'::text[]) THEN
            RAISE EXCEPTION '% is append-only: UPDATE refused (only status and resolved_at may change)',
                TG_TABLE_NAME
                USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN NEW;
    END;
    $$
    """.replace("{mutable}", "{" + ",".join(INCIDENT_MUTABLE_COLUMNS) + "}"),
]
PG_FUNCTION_NAMES = [
    "governance_append_only_refuse_update",
    "governance_append_only_refuse_delete",
    "governance_incident_refuse_evidence_update",
]


def _trigger(name: str, table: str, sql: str) -> tuple[str, str, str]:
    return name, table, sql


def _pg_triggers() -> list[tuple[str, str, str]]:
    """(trigger, table, CREATE statement) for every trigger on PostgreSQL."""
    triggers = [
        _trigger(
            f"{table}_append_only_update",
            table,
            f"CREATE TRIGGER {table}_append_only_update BEFORE UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION governance_append_only_refuse_update()",
        )
        for table in APPEND_ONLY_TABLES
    ]
    triggers.append(
        _trigger(
            "governance_incident_append_only_update",
            "governance_incident",
            "CREATE TRIGGER governance_incident_append_only_update BEFORE UPDATE ON governance_incident "
            "FOR EACH ROW EXECUTE FUNCTION governance_incident_refuse_evidence_update()",
        )
    )
    triggers += [
        _trigger(
            f"{table}_append_only_delete",
            table,
            f"CREATE TRIGGER {table}_append_only_delete BEFORE DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION governance_append_only_refuse_delete()",
        )
        for table in DELETE_GUARDED_TABLES
    ]
    return triggers


# --- SQLite -------------------------------------------------------------------------------------------------
# SQLite has one writer at a time, and a reader never sees another connection's uncommitted rows, so the
# permit check holds there too.
def _sqlite_triggers(incident_model) -> list[tuple[str, str, str]]:
    """(trigger, table, CREATE statement) for every trigger on SQLite.

    SQLite triggers must name the incident's columns; they come from the migration state of the model.
    """

    def differs(field) -> str:
        column = field.column
        # JSON is stored as text; json() normalises whitespace so an ORM re-save of equal evidence passes.
        if field.get_internal_type() == "JSONField":
            return f"json(OLD.{column}) IS NOT json(NEW.{column})"
        return f"OLD.{column} IS NOT NEW.{column}"

    evidence_changed = " OR ".join(
        differs(field) for field in incident_model._meta.concrete_fields if field.column not in INCIDENT_MUTABLE_COLUMNS
    )
    triggers = [
        _trigger(
            f"{table}_append_only_update",
            table,
            f"CREATE TRIGGER {table}_append_only_update BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: UPDATE refused'); END",
        )
        for table in APPEND_ONLY_TABLES
    ]
    triggers.append(
        _trigger(
            "governance_incident_append_only_update",
            "governance_incident",
            "CREATE TRIGGER governance_incident_append_only_update BEFORE UPDATE ON governance_incident "
            f"WHEN {evidence_changed} "
            "BEGIN SELECT RAISE(ABORT, 'governance_incident is append-only: UPDATE refused "
            "(only status and resolved_at may change)'); END",
        )
    )
    triggers += [
        _trigger(
            f"{table}_append_only_delete",
            table,
            f"CREATE TRIGGER {table}_append_only_delete BEFORE DELETE ON {table} "
            "WHEN NOT EXISTS (SELECT 1 FROM governance_purgepermit) "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: DELETE refused'); END",
        )
        for table in DELETE_GUARDED_TABLES
    ]
    return triggers


def _execute(schema_editor, sql: str) -> None:
    # params=None: the PL/pgSQL bodies contain '%' placeholders that are not query parameters.
    schema_editor.execute(sql, params=None)


def drop_triggers(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for name, table, _ in _pg_triggers():
            _execute(schema_editor, f"DROP TRIGGER IF EXISTS {name} ON {table}")
        for function in PG_FUNCTION_NAMES:
            _execute(schema_editor, f"DROP FUNCTION IF EXISTS {function}()")
    elif vendor == "sqlite":
        for name, _, _ in _sqlite_triggers(apps.get_model("governance", "Incident")):
            _execute(schema_editor, f"DROP TRIGGER IF EXISTS {name}")


def create_triggers(apps, schema_editor) -> None:
    """Create (or re-create) every trigger; idempotent.

    A later migration that rebuilds one of these tables on SQLite ends with
    `RunPython(import_module("governance.migrations.0004_append_only_triggers").create_triggers, ...)`.
    """
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for sql in PG_FUNCTIONS:
            _execute(schema_editor, sql)
        for name, table, create in _pg_triggers():
            _execute(schema_editor, f"DROP TRIGGER IF EXISTS {name} ON {table}")
            _execute(schema_editor, create)
    elif vendor == "sqlite":
        for name, _, create in _sqlite_triggers(apps.get_model("governance", "Incident")):
            _execute(schema_editor, f"DROP TRIGGER IF EXISTS {name}")
            _execute(schema_editor, create)
    else:
        raise NotImplementedError(f"append-only triggers are not written for {vendor}")


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0003_purge_permit"),
        ("workforce", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(create_triggers, drop_triggers, elidable=False),
    ]
