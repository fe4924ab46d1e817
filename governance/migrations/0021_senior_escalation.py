"""Escalation for senior workers (issue 11): a held sanction has a kind, SPIKE (the spike guard's, with its spike,
as before) or ESCALATION (a SENIOR's or PRINCIPAL's sanction waiting for the Director, with the time it applies
itself, and no spike); one that applied itself unanswered is APPLIED. The settings keep the wait by tier.

Existing held sanctions are all the spike guard's: the default kind SPIKE describes them, and the check
constraint holds for them (each names its spike, none has a deadline).

On SQLite, adding a NOT NULL column with a default rebuilds the tables, which drops the history tables'
append-only triggers with the old tables: the migration ends by laying every trigger again (0019's
create_triggers), and, reversed, lays them again once the tables are back as they were.
"""

from importlib import import_module

import django.db.models.deletion
from django.db import migrations, models

import governance.models.settings

detector_triggers = import_module("governance.migrations.0019_findings_detector_settings")

STATUS = models.CharField(
    choices=[
        ("PENDING", "Pending review"),
        ("CONFIRMED", "Confirmed"),
        ("DISMISSED", "Dismissed"),
        ("APPLIED", "Applied itself"),
    ],
    default="PENDING",
    max_length=10,
)
KIND = models.CharField(
    choices=[("SPIKE", "Held in a spike"), ("ESCALATION", "Senior escalation")], default="SPIKE", max_length=10
)
APPLY_AT = models.DateTimeField(
    blank=True, help_text="An escalation applies itself then if the Director has not answered.", null=True
)
ESCALATION_MINUTES = models.JSONField(
    blank=True,
    default=governance.models.settings._default_escalation_minutes,
    editable=False,
    help_text='Minutes a SENIOR or PRINCIPAL sanction waits for the Director: {"SENIOR": 30}; 0 or absent: none.',
)


def create_triggers(apps, schema_editor) -> None:
    detector_triggers.create_triggers(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0020_detector_oversight_settings"),
    ]

    operations = [
        # Reversed, this runs last, once the tables are back as they were: the triggers are laid again.
        migrations.RunPython(migrations.RunPython.noop, create_triggers, elidable=False),
        *[
            migrations.AddField(model_name=model, name="escalation_minutes", field=ESCALATION_MINUTES.clone())
            for model in ("governancesettings", "historicalgovernancesettings")
        ],
        *[
            migrations.AddField(model_name=model, name=name, field=field.clone())
            for model in ("pendingsanction", "historicalpendingsanction")
            for name, field in (("kind", KIND), ("apply_at", APPLY_AT))
        ],
        *[
            migrations.AlterField(model_name=model, name="status", field=STATUS.clone())
            for model in ("pendingsanction", "historicalpendingsanction")
        ],
        migrations.AlterField(
            model_name="pendingsanction",
            name="spike",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="sanctions",
                to="governance.spike",
            ),
        ),
        migrations.AddIndex(
            model_name="pendingsanction",
            # The per-minute timers' "escalations whose time is up": pending ones by deadline.
            index=models.Index(fields=["status", "apply_at"], name="governance_pending_due_idx"),
        ),
        migrations.AddConstraint(
            model_name="pendingsanction",
            constraint=models.CheckConstraint(
                condition=models.Q(kind="SPIKE", spike__isnull=False, apply_at__isnull=True)
                | models.Q(kind="ESCALATION", spike__isnull=True, apply_at__isnull=False),
                name="governance_pendingsanction_kind_fields",
                violation_error_message="A spike hold names its spike; a senior escalation, when it applies itself.",
            ),
        ),
        migrations.RunPython(create_triggers, migrations.RunPython.noop, elidable=False),
    ]
