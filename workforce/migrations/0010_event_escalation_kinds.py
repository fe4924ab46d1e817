"""The inbox's kinds for a senior's escalation (issue 11): sanction.escalated and sanction.applied_itself. Choices
only: nothing changes in the database."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("workforce", "0009_task_detector_inputs"),
    ]

    operations = [
        migrations.AlterField(
            model_name="event",
            name="kind",
            field=models.CharField(
                choices=[
                    ("incident.opened", "Incident opened"),
                    ("action.applied", "Action applied"),
                    ("task.assigned", "Task assigned"),
                    ("task.reassigned", "Task reassigned"),
                    ("task.waiting", "Task waiting for a worker"),
                    ("worker.status_changed", "Worker status changed"),
                    ("worker.health_changed", "Worker routing health changed"),
                    ("score.recorded", "Score recorded"),
                    ("governance.spike", "Sanctions spike: held for review"),
                    ("sanction.held", "Sanction held for the Director's review"),
                    ("sanction.reviewed", "Held sanction confirmed or dismissed"),
                    ("sanction.escalated", "Senior's sanction waiting for the Director"),
                    ("sanction.applied_itself", "Senior's sanction applied itself, unanswered"),
                    ("system.halted", "System halted by the Director"),
                    ("system.resumed", "System resumed by the Director"),
                    ("hold.placed", "Hold placed by the Director"),
                    ("hold.lifted", "Hold lifted by the Director"),
                ],
                max_length=32,
            ),
        ),
    ]
