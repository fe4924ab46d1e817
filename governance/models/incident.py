import uuid

from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from aura_project.history import ActorHistory, history_user


class Incident(models.Model):
    """A violation with its evidence. The evidence is append-only; only the status moves."""

    class Status(models.TextChoices):
        OPEN = "OPEN", "Open"
        ACTIONED = "ACTIONED", "Actioned"
        OVERTURNED = "OVERTURNED", "Overturned"
        CLOSED = "CLOSED", "Closed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    worker = models.ForeignKey("workforce.Worker", on_delete=models.PROTECT, related_name="incidents")
    task = models.ForeignKey("workforce.Task", on_delete=models.PROTECT, related_name="incidents")
    severity = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    violations = models.JSONField(help_text="[[type, severity], ...]")
    evidence = models.JSONField(help_text="The last log entries of the attempt.")
    settings_version = models.BigIntegerField()
    reported_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    actor_label = models.CharField(max_length=200, blank=True, help_text="Who acted: user:..., key:... or system:....")

    history = HistoricalRecords(get_user=history_user, bases=[ActorHistory])

    class Meta:
        ordering = ["-reported_at", "-id"]
        indexes = [
            # GET /api/incidents/?worker=...: a worker's incidents, newest first.
            models.Index(fields=["worker", "-reported_at"], name="governance_incident_worker_idx"),
            # The retention purge and the date filter.
            models.Index(fields=["reported_at"], name="governance_incident_time_idx"),
            # The admin's incident list filtered by status or by severity, newest first, with its bounded count
            # and date hierarchy (aura_project.admin_scale): without them a rare value scans the whole table.
            models.Index(fields=["status", "reported_at"], name="governance_incident_status_idx"),
            models.Index(fields=["severity", "reported_at"], name="governance_incident_sev_idx"),
            # The dashboard's incident queue (open ones, most severe then newest) and its open count. Only open
            # incidents are in it, so it stays small and actioned ones cost it nothing.
            models.Index(
                fields=["severity", "reported_at"],
                condition=Q(status="OPEN"),
                name="governance_incident_open_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"incident {self.id} ({self.status})"


class Penalty(models.Model):
    """Reputation points a violation cost a Worker (the seed's model_penalties). Append-only."""

    worker = models.ForeignKey("workforce.Worker", on_delete=models.PROTECT, related_name="penalties")
    incident = models.ForeignKey(Incident, null=True, blank=True, on_delete=models.PROTECT, related_name="penalties")
    reason = models.CharField(max_length=50, help_text="The violation type.")
    severity = models.PositiveSmallIntegerField()
    points = models.IntegerField(help_text="Negative: what the violation takes off a score.")
    settings_version = models.BigIntegerField()
    created_at = models.DateTimeField()
    actor_label = models.CharField(max_length=200, blank=True, help_text="Who acted: user:..., key:... or system:....")

    history = HistoricalRecords(get_user=history_user, bases=[ActorHistory])

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "penalties"
        indexes = [
            # Scoring: a worker's penalties in the window.
            models.Index(fields=["worker", "created_at"], name="governance_penalty_worker_idx"),
            models.Index(fields=["created_at"], name="governance_penalty_time_idx"),
            # The admin's penalty list filtered by violation type or severity, newest first.
            models.Index(fields=["reason", "created_at"], name="governance_penalty_reason_idx"),
            models.Index(fields=["severity", "created_at"], name="governance_penalty_sev_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.reason} ({self.points})"
