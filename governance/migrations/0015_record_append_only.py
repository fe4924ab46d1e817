"""The rest of the record is append-only too: every history table, the purge log, batch items and stored answers.

0004, 0010 and 0013 guard the evidence and the history of the evidence. Five more tables keep history
(policies, governance settings, held sanctions, tasks, workers), and three more tables copy the record:
- governance_commandrecord (the stored answer to an Idempotency-Key command) and the five history tables:
  UPDATE always refused; DELETE only under a purge permit (the purge deletes a purged row's history).
- governance_purgelog: the purge writes its log first and adds its counts chunk by chunk, so a purge killed
  halfway still says what it deleted. UPDATE and DELETE are refused unless a purge permit is visible, which
  only the purge holds (and, with database roles, only the purge role may insert: manage.py db_roles).
- governance_auditrunitem: an item is written PENDING and its result set once, when the run processes it.
  Without a permit, the only UPDATE allowed is that one: a PENDING item to another status, its status and
  result changed and nothing else. The purge replaces the copy of a purged report by a stub under its permit.
The messages are 0004's ("<table> is append-only: UPDATE refused"), the errors IntegrityError on both
backends. On PostgreSQL the DELETE checks are 0013's statement triggers.

Caveat for later migrations, as in 0004 and 0010: on SQLite, a migration that rebuilds one of these tables
drops its triggers with the old table; it must end with
`RunPython(import_module("governance.migrations.0015_record_append_only").create_triggers, ...)`, which lays
every append-only trigger (0004, 0010, 0013 and these). tests/governance/test_record_append_only.py fails on
both backends if a protected table or a Historical* table is missing one.
"""

from importlib import import_module

from django.db import migrations

evidence_triggers = import_module("governance.migrations.0004_append_only_triggers")
faster_triggers = import_module("governance.migrations.0013_faster_purge_triggers")
_execute = evidence_triggers._execute

# UPDATE always refused, DELETE only under a permit.
HISTORY_TABLES = [
    "governance_historicalgovernancesettings",
    "governance_historicalpendingsanction",
    "governance_historicalpolicy",
    "workforce_historicaltask",
    "workforce_historicalworker",
]
APPEND_ONLY_TABLES = ["governance_commandrecord", *HISTORY_TABLES]
# UPDATE and DELETE only under a permit.
PERMIT_TABLES = ["governance_purgelog"]
# An item's status and result may be set once, from PENDING; anything else only under a permit.
RUN_ITEM_TABLE = "governance_auditrunitem"
RUN_ITEM_SETTABLE = ["status", "result"]
TABLES = [*APPEND_ONLY_TABLES, *PERMIT_TABLES, RUN_ITEM_TABLE]

PERMIT_UPDATE_FUNCTION = "governance_append_only_refuse_unpermitted"
RUN_ITEM_FUNCTION = "governance_auditrunitem_refuse_rewrite"
PG_FUNCTIONS = [
    f"""
    CREATE OR REPLACE FUNCTION {PERMIT_UPDATE_FUNCTION}() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF EXISTS (SELECT 1 FROM governance_purgepermit) THEN
            RETURN NULL;
        END IF;
        RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
            USING ERRCODE = 'restrict_violation',
                  HINT = 'Only the purge changes this table, under a purge permit.';
    END;
    $$
    """,
    f"""
    CREATE OR REPLACE FUNCTION {RUN_ITEM_FUNCTION}() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF OLD.status = 'PENDING' AND NEW.status <> 'PENDING'
           AND (to_jsonb(OLD) - '{{settable}}'::text[])
               IS NOT DISTINCT FROM (to_jsonb(NEW) - '{{settable}}'::text[]) THEN
            RETURN NEW;
        END IF;
        IF EXISTS (SELECT 1 FROM governance_purgepermit) THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION '% is append-only: UPDATE refused (only a pending item''s status and result are set, once)',
            TG_TABLE_NAME
            USING ERRCODE = 'restrict_violation';
    END;
    $$
    """.replace("{settable}", "{" + ",".join(RUN_ITEM_SETTABLE) + "}"),
]


def _pg_triggers() -> list[tuple[str, str, str]]:
    """(trigger, table, CREATE statement)."""
    triggers = [
        (
            f"{table}_append_only_update",
            table,
            f"CREATE TRIGGER {table}_append_only_update BEFORE UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION governance_append_only_refuse_update()",
        )
        for table in APPEND_ONLY_TABLES
    ]
    triggers += [
        (
            f"{table}_append_only_update",
            table,
            f"CREATE TRIGGER {table}_append_only_update BEFORE UPDATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {PERMIT_UPDATE_FUNCTION}()",
        )
        for table in PERMIT_TABLES
    ]
    triggers.append(
        (
            f"{RUN_ITEM_TABLE}_append_only_update",
            RUN_ITEM_TABLE,
            f"CREATE TRIGGER {RUN_ITEM_TABLE}_append_only_update BEFORE UPDATE ON {RUN_ITEM_TABLE} "
            f"FOR EACH ROW EXECUTE FUNCTION {RUN_ITEM_FUNCTION}()",
        )
    )
    triggers += [
        (
            f"{table}_append_only_delete",
            table,
            f"CREATE TRIGGER {table}_append_only_delete BEFORE DELETE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {faster_triggers.FUNCTION}()",
        )
        for table in TABLES
    ]
    return triggers


def _sqlite_triggers(run_item_model) -> list[tuple[str, str, str]]:
    no_permit = "NOT EXISTS (SELECT 1 FROM governance_purgepermit)"

    def differs(field) -> str:
        if field.get_internal_type() == "JSONField":
            return f"json(OLD.{field.column}) IS NOT json(NEW.{field.column})"
        return f"OLD.{field.column} IS NOT NEW.{field.column}"

    item_rewritten = " OR ".join(
        ["OLD.status IS NOT 'PENDING'", "NEW.status IS 'PENDING'"]
        + [differs(f) for f in run_item_model._meta.concrete_fields if f.column not in RUN_ITEM_SETTABLE]
    )
    triggers = [
        (
            f"{table}_append_only_update",
            table,
            f"CREATE TRIGGER {table}_append_only_update BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: UPDATE refused'); END",
        )
        for table in APPEND_ONLY_TABLES
    ]
    triggers += [
        (
            f"{table}_append_only_update",
            table,
            f"CREATE TRIGGER {table}_append_only_update BEFORE UPDATE ON {table} WHEN {no_permit} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: UPDATE refused'); END",
        )
        for table in PERMIT_TABLES
    ]
    triggers.append(
        (
            f"{RUN_ITEM_TABLE}_append_only_update",
            RUN_ITEM_TABLE,
            f"CREATE TRIGGER {RUN_ITEM_TABLE}_append_only_update BEFORE UPDATE ON {RUN_ITEM_TABLE} "
            f"WHEN ({item_rewritten}) AND {no_permit} "
            f"BEGIN SELECT RAISE(ABORT, '{RUN_ITEM_TABLE} is append-only: UPDATE refused "
            "(only a pending item''s status and result are set, once)'); END",
        )
    )
    triggers += [
        (
            f"{table}_append_only_delete",
            table,
            f"CREATE TRIGGER {table}_append_only_delete BEFORE DELETE ON {table} WHEN {no_permit} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: DELETE refused'); END",
        )
        for table in TABLES
    ]
    return triggers


def create_record_triggers(apps, schema_editor) -> None:
    """This migration's triggers; idempotent."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for sql in [*evidence_triggers.PG_FUNCTIONS, faster_triggers.PG_FUNCTION, *PG_FUNCTIONS]:
            _execute(schema_editor, sql)
        triggers = _pg_triggers()
    elif vendor == "sqlite":
        triggers = _sqlite_triggers(apps.get_model("governance", "AuditRunItem"))
    else:
        raise NotImplementedError(f"append-only triggers are not written for {vendor}")
    for name, table, create in triggers:
        _execute(schema_editor, f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if vendor == "postgresql" else ""))
        _execute(schema_editor, create)


def drop_record_triggers(apps, schema_editor) -> None:
    """Only this migration's triggers and functions: the others belong to 0004 and 0013, which stay applied."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for name, table, _ in _pg_triggers():
            _execute(schema_editor, f"DROP TRIGGER IF EXISTS {name} ON {table}")
        for function in (PERMIT_UPDATE_FUNCTION, RUN_ITEM_FUNCTION):
            _execute(schema_editor, f"DROP FUNCTION IF EXISTS {function}()")
    elif vendor == "sqlite":
        for name, _, _ in _sqlite_triggers(apps.get_model("governance", "AuditRunItem")):
            _execute(schema_editor, f"DROP TRIGGER IF EXISTS {name}")


def create_triggers(apps, schema_editor) -> None:
    """Every append-only trigger, as the migrations up to this one lay them; idempotent."""
    faster_triggers.create_triggers(apps, schema_editor)
    create_record_triggers(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0014_run_leases"),
        ("workforce", "0007_admin_indexes"),
    ]

    operations = [migrations.RunPython(create_record_triggers, drop_record_triggers, elidable=False)]
