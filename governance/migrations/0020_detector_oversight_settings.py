"""The auditors are audited (issue 11): the settings' overturn rate, minimum sanctions and window that switch a
detector in enforce mode to observe (governance.services.oversight).

On SQLite, adding a NOT NULL column with a default rebuilds the settings' tables, which drops the history
table's append-only triggers with the old table: the migration ends by laying every trigger again (0019's
create_triggers), and, reversed, lays them again once the tables are back as they were.
"""

from importlib import import_module

from django.db import migrations, models

detector_triggers = import_module("governance.migrations.0019_findings_detector_settings")


def create_triggers(apps, schema_editor) -> None:
    detector_triggers.create_triggers(apps, schema_editor)


FIELDS = [
    (
        "overturn_observe_pct",
        models.PositiveSmallIntegerField(
            default=30, help_text="Overturn rate, in percent, above which a detector observes."
        ),
    ),
    (
        "overturn_observe_min_sanctions",
        models.PositiveIntegerField(default=20, help_text="Sanctions in the window before the rate is judged."),
    ),
    (
        "overturn_window_days",
        models.PositiveSmallIntegerField(default=30, help_text="The rolling window of the overturn rate, in days."),
    ),
]


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0019_findings_detector_settings"),
    ]

    operations = [
        # Reversed, this runs last, once the tables are back as they were: the triggers are laid again.
        migrations.RunPython(migrations.RunPython.noop, create_triggers, elidable=False),
        *[
            migrations.AddField(model_name=model, name=name, field=field.clone())
            for model in ("governancesettings", "historicalgovernancesettings")
            for name, field in FIELDS
        ],
        migrations.RunPython(create_triggers, migrations.RunPython.noop, elidable=False),
    ]
