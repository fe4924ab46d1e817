from django.db import models


class Event(models.Model):
    """One consequence the Manager must react to, in its inbox. The id is the cursor."""

    class Kind(models.TextChoices):
        INCIDENT_OPENED = "incident.opened", "Incident opened"
        ACTION_APPLIED = "action.applied", "Action applied"
        TASK_ASSIGNED = "task.assigned", "Task assigned"
        TASK_REASSIGNED = "task.reassigned", "Task reassigned"
        TASK_WAITING = "task.waiting", "Task waiting for a worker"
        WORKER_STATUS_CHANGED = "worker.status_changed", "Worker status changed"
        WORKER_HEALTH_CHANGED = "worker.health_changed", "Worker routing health changed"
        SCORE_RECORDED = "score.recorded", "Score recorded"
        GOVERNANCE_SPIKE = "governance.spike", "Sanctions spike: held for review"
        SANCTION_HELD = "sanction.held", "Sanction held for the Director's review"
        SANCTION_REVIEWED = "sanction.reviewed", "Held sanction confirmed or dismissed"
        SANCTION_ESCALATED = "sanction.escalated", "Senior's sanction waiting for the Director"
        SANCTION_APPLIED_ITSELF = "sanction.applied_itself", "Senior's sanction applied itself, unanswered"
        SYSTEM_HALTED = "system.halted", "System halted by the Director"
        SYSTEM_RESUMED = "system.resumed", "System resumed by the Director"
        HOLD_PLACED = "hold.placed", "Hold placed by the Director"
        HOLD_LIFTED = "hold.lifted", "Hold lifted by the Director"
        DETECTOR_AUTO_OBSERVE = "detector.auto_observe", "Detector switched to observe: overturned too often"
        DETECTOR_MODE_CHANGED = "detector.mode_changed", "Detector's mode changed"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    model_id = models.CharField(max_length=200, blank=True)
    task_id = models.CharField(max_length=300, blank=True)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]  # the cursor order; served by the primary key
        indexes = [
            # The retention purge: events older than the cutoff.
            models.Index(fields=["created_at"], name="workforce_event_created_idx"),
            # The admin's event list filtered by kind, newest first (aura_project.admin_scale): a rare kind
            # would otherwise scan the whole inbox.
            models.Index(fields=["kind", "id"], name="workforce_event_kind_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind}"
