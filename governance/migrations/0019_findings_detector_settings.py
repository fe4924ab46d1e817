"""Detectors (issue 11): the report's output, the Director's detector modes and thresholds, and the findings.

- governance_finding is evidence: UPDATE always refused, DELETE only under a purge permit (0004's and 0013's
  functions, as 0017 lays them for its table).
- On SQLite, adding the settings' two JSON fields (they have a default) rebuilds the settings' history table, which
  drops its append-only triggers with the old table: the migration ends by laying every trigger again (0015's
  create_triggers, then 0017's), as 0015's caveat asks. The output columns are nullable and are added in place.
"""

from importlib import import_module

import django.db.models.deletion
from django.db import migrations, models

evidence_triggers = import_module("governance.migrations.0004_append_only_triggers")
faster_triggers = import_module("governance.migrations.0013_faster_purge_triggers")
record_triggers = import_module("governance.migrations.0015_record_append_only")
mode_triggers = import_module("governance.migrations.0017_system_mode_history_append_only")
_execute = evidence_triggers._execute

APPEND_ONLY_TABLES = ["governance_finding"]


def _pg_triggers() -> list[tuple[str, str, str]]:
    triggers = []
    for table in APPEND_ONLY_TABLES:
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
    for table in APPEND_ONLY_TABLES:
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


def create_finding_triggers(apps, schema_editor) -> None:
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


def drop_finding_triggers(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    for name, table, _ in _pg_triggers() if vendor == "postgresql" else _sqlite_triggers():
        _execute(schema_editor, f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if vendor == "postgresql" else ""))


def create_triggers(apps, schema_editor) -> None:
    """Every append-only trigger, as the migrations up to this one lay them; idempotent."""
    record_triggers.create_triggers(apps, schema_editor)
    mode_triggers.create_triggers(apps, schema_editor)
    create_finding_triggers(apps, schema_editor)


def relay_earlier_triggers(apps, schema_editor) -> None:
    """Unapplying on SQLite rebuilds the settings' history table again: its triggers are laid again."""
    record_triggers.create_triggers(apps, schema_editor)
    mode_triggers.create_triggers(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0018_hold_actor_labels_policy_severity_range"),
        ("workforce", "0008_system_mode"),
    ]

    operations = [
        # Reversed, this runs last, once the tables are back as they were: the earlier triggers are laid again.
        migrations.RunPython(migrations.RunPython.noop, relay_earlier_triggers, elidable=False),
        migrations.AddField(
            model_name="auditrecord",
            name="output",
            field=models.JSONField(blank=True, help_text="The worker's output, text or JSON, as reported.", null=True),
        ),
        migrations.AddField(
            model_name="governancesettings",
            name="detector_modes",
            field=models.JSONField(blank=True, default=dict, help_text="{detector: enforce|observe|off}."),
        ),
        migrations.AddField(
            model_name="governancesettings",
            name="detector_thresholds",
            field=models.JSONField(blank=True, default=dict, help_text="{detector: threshold}."),
        ),
        migrations.AddField(
            model_name="historicalauditrecord",
            name="output",
            field=models.JSONField(blank=True, help_text="The worker's output, text or JSON, as reported.", null=True),
        ),
        migrations.AddField(
            model_name="historicalgovernancesettings",
            name="detector_modes",
            field=models.JSONField(blank=True, default=dict, help_text="{detector: enforce|observe|off}."),
        ),
        migrations.AddField(
            model_name="historicalgovernancesettings",
            name="detector_thresholds",
            field=models.JSONField(blank=True, default=dict, help_text="{detector: threshold}."),
        ),
        migrations.CreateModel(
            name="Finding",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("detector", models.CharField(max_length=64)),
                ("detector_version", models.CharField(max_length=16)),
                ("mode", models.CharField(choices=[("enforce", "Enforce"), ("observe", "Observe")], max_length=8)),
                ("violation_type", models.CharField(max_length=50)),
                ("score", models.FloatField()),
                ("evidence", models.JSONField()),
                ("settings_version", models.BigIntegerField()),
                ("created_at", models.DateTimeField()),
                (
                    "audit_record",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="findings",
                        to="governance.auditrecord",
                    ),
                ),
                (
                    "incident",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="findings",
                        to="governance.incident",
                    ),
                ),
                (
                    "task",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="findings", to="workforce.task"
                    ),
                ),
                (
                    "worker",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="findings", to="workforce.worker"
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
                "indexes": [
                    models.Index(fields=["detector", "created_at"], name="governance_finding_det_idx"),
                    models.Index(fields=["worker", "created_at"], name="governance_finding_worker_idx"),
                ],
            },
        ),
        migrations.RunPython(create_triggers, drop_finding_triggers, elidable=False),
    ]
