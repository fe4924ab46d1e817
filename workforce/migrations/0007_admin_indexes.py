"""The index behind the admin's event list filtered by kind, newest first (aura_project.admin_scale). Built
concurrently on PostgreSQL, so the Manager's inbox keeps filling meanwhile."""

from django.db import migrations, models

from aura_project.migration_operations import AddIndexOnline


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY runs outside a transaction

    dependencies = [
        ("workforce", "0006_handover"),
    ]

    operations = [
        AddIndexOnline(
            model_name="event",
            index=models.Index(fields=["kind", "id"], name="workforce_event_kind_idx"),
        ),
    ]
