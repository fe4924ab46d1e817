"""The first governance settings version and the seeds' HR policies."""

from django.db import migrations

POLICIES = [
    ("hallucination", 3, "STRIKE", "Hallucinated output: a strike."),
    ("timeout", 2, "WARNING", "Ran past the timeout: a warning."),
    ("scope_drift", 2, "WARNING", "Worked outside the task's scope: a warning."),
    ("format_violation", 1, "WARNING", "Broke the required output format: a warning."),
    ("repeat_offense", 4, "SUSPEND", "The same violation again within the repeat window: suspension."),
]


def seed(apps, schema_editor):
    GovernanceSettings = apps.get_model("governance", "GovernanceSettings")
    Policy = apps.get_model("governance", "Policy")
    if not GovernanceSettings.objects.exists():
        GovernanceSettings.objects.create(note="defaults from the seeds")
    for violation_type, severity, action, description in POLICIES:
        Policy.objects.get_or_create(
            violation_type=violation_type,
            defaults={"severity": severity, "action": action, "description": description},
        )


class Migration(migrations.Migration):
    dependencies = [("governance", "0005_report_links_incident")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
