"""The dashboard's reads (governance/dashboard_selectors.py): beat's last success per job, incidents per closed
day and violation type (the 30-day chart), and a partial index over open incidents only (the incident queue
and the open count). The index is built concurrently on PostgreSQL, so reports keep arriving meanwhile."""

from django.db import migrations, models

from aura_project.migration_operations import AddIndexOnline


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY runs outside a transaction

    dependencies = [
        ("governance", "0015_record_append_only"),
    ]

    operations = [
        migrations.CreateModel(
            name="BeatJobRun",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(help_text="The Celery task's name.", max_length=200, unique=True)),
                ("last_success_at", models.DateTimeField()),
                ("actor_label", models.CharField(help_text="Who ran it: system:beat.", max_length=200)),
            ],
            options={"ordering": ["name"]},
        ),
        migrations.CreateModel(
            name="IncidentDayCount",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField()),
                ("violation_type", models.CharField(blank=True, max_length=50)),
                ("incidents", models.PositiveIntegerField()),
                ("computed_at", models.DateTimeField()),
            ],
            options={"ordering": ["day", "violation_type"]},
        ),
        migrations.AddConstraint(
            model_name="incidentdaycount",
            constraint=models.UniqueConstraint(
                fields=("day", "violation_type"), name="governance_incidentdaycount_once_per_day"
            ),
        ),
        # Open incidents, most severe then newest: only OPEN rows are in it.
        AddIndexOnline(
            model_name="incident",
            index=models.Index(
                condition=models.Q(("status", "OPEN")),
                fields=["severity", "reported_at"],
                name="governance_incident_open_idx",
            ),
        ),
    ]
