from django.conf import settings
from django.db import models
from django.db.models import Q


class ScoringRun(models.Model):
    """One Accountant run over the fleet: who was scored, when, and how it ended."""

    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending"
        RUNNING = "RUNNING", "Running"
        DONE = "DONE", "Done"
        FAILED = "FAILED", "Failed"

    class Trigger(models.TextChoices):
        BEAT = "beat", "Celery beat"
        COMMAND = "command", "Management command"
        DIRECTOR = "director", "Director (admin)"

    key = models.CharField(max_length=100, unique=True, help_text="Names the run; a repeat of the key is the same run.")
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    window_end = models.DateTimeField(help_text="Evidence received up to this time is scored by the run.")
    workers_scored = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text="A RUNNING run's worker renews this as it goes; once it has passed, the sweeper re-queues the run.",
    )
    error = models.TextField(blank=True)
    actor_label = models.CharField(max_length=200, blank=True, help_text="Who started the run.")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"scoring run {self.key} ({self.status})"


class Hold(models.Model):
    """An open appeal or a Director's hold: the records it covers are never purged until it is lifted."""

    class Kind(models.TextChoices):
        APPEAL = "APPEAL", "Appeal"
        DIRECTOR = "DIRECTOR", "Director's hold"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    worker = models.ForeignKey(
        "workforce.Worker",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="holds",
        help_text="Holds every record of this worker.",
    )
    incident = models.ForeignKey(
        "governance.Incident",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="holds",
        help_text="Holds this incident with its report, actions and penalties.",
    )
    reason = models.CharField(max_length=500)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by_label = models.CharField(
        max_length=200, blank=True, help_text="Who placed the hold: user:... or key:... (a key has no user)."
    )
    created_at = models.DateTimeField()
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    lifted_by_label = models.CharField(max_length=200, blank=True, help_text="Who lifted the hold: user:... or key:...")
    lift_reason = models.CharField(max_length=500, blank=True, help_text="Why the hold was lifted.")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(worker__isnull=False) | Q(incident__isnull=False),
                name="%(app_label)s_%(class)s_covers_something",
                violation_error_message="A hold covers a worker or an incident.",
            ),
        ]

    def __str__(self) -> str:
        target = self.incident_id or self.worker_id
        return f"{self.kind} hold on {target}" + (" (lifted)" if self.lifted_at else "")


class PurgeLog(models.Model):
    """What one purge deleted, why and who ran it."""

    class Actor(models.TextChoices):
        BEAT = "beat", "Celery beat (retention)"
        COMMAND = "command", "Management command (retention)"
        DIRECTOR = "director", "Director (early purge)"

    actor_kind = models.CharField(max_length=10, choices=Actor.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    reason = models.CharField(max_length=500, blank=True)
    cutoff = models.DateTimeField(null=True, blank=True, help_text="Retention purges: records before this went.")
    retention_days = models.PositiveIntegerField(null=True, blank=True)
    counts = models.JSONField(default=dict, help_text="Rows deleted per table, history tables included.")
    dry_run = models.BooleanField(default=False)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"purge {self.started_at:%Y-%m-%d %H:%M} by {self.actor_kind}"
