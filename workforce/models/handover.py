from django.db import models


class Handover(models.Model):
    """A worker left service: its open tasks are to be handed on. Written in the transaction that took the worker
    out, carried out right after it commits (set-based, in its own transaction), and by the sweeper if that
    never happened (a crash in between). Done once: a DONE handover is never run again."""

    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending"
        DONE = "DONE", "Done"

    worker = models.ForeignKey("workforce.Worker", on_delete=models.PROTECT, related_name="handovers")
    reason = models.CharField(max_length=300)
    actor_label = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    moved = models.PositiveIntegerField(default=0, help_text="Tasks handed to another worker.")
    waiting = models.PositiveIntegerField(default=0, help_text="Tasks left waiting for the Director.")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The sweeper: handovers still pending.
            models.Index(fields=["status", "created_at"], name="workforce_handover_status_idx"),
        ]

    def __str__(self) -> str:
        return f"handover of {self.worker_id} ({self.status})"
