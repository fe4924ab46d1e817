"""The inbox's kind for a detector's mode changed (issue 11): detector.mode_changed, by the Director by hand (the
control room, the API) or by the oversight's automatic switch. Choices only: nothing changes in the database."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("workforce", "0011_event_detector_auto_observe"),
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
                    ("detector.mode_changed", "Detector's mode changed"),
                ],
                max_length=32,
            ),
        ),
    ]
