"""The inbox's kind for the auditors' audit (issue 11): detector.auto_observe, a detector in enforce mode
switched to observe because the Director overturns its sanctions too often. Choices only: nothing changes in the
database."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("workforce", "0010_event_escalation_kinds"),
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
                    ("detector.auto_observe", "Detector switched to observe: overturned too often"),
                ],
                max_length=32,
            ),
        ),
    ]
