from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from aura_project.history import ActorHistory, history_user

LOW_PRIORITY_MAX = 3


class Task(models.Model):
    """The Manager's unit of work, known by the Manager's own task_id."""

    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending"
        ASSIGNED = "ASSIGNED", "Assigned"
        WAITING = "WAITING", "Waiting for a worker"
        COMPLETED = "COMPLETED", "Completed"

    task_id = models.CharField(max_length=300, unique=True)
    capability = models.CharField(max_length=100)
    priority = models.PositiveSmallIntegerField(default=5, help_text="1 (lowest) to 10 (highest); 1-3 are low.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    current_worker = models.ForeignKey(
        "workforce.Worker", null=True, blank=True, on_delete=models.PROTECT, related_name="current_tasks"
    )
    attempts = models.PositiveIntegerField(default=0)
    needs_director = models.BooleanField(default=False, help_text="Nobody eligible is left; the Director must act.")
    # What the Auditor's detectors read (governance.domain.detectors). Null when the Manager gave none, which
    # differs from an empty text or list, and lets the columns be added in place (no table rebuild on SQLite,
    # which would drop the history table's append-only triggers).
    instructions = models.TextField(null=True, blank=True, help_text="The task's instructions to the worker.")
    sources = models.JSONField(null=True, blank=True, help_text="Reference texts the worker was given.")
    output_schema = models.JSONField(null=True, blank=True, help_text="The JSON Schema the output must follow.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(get_user=history_user, bases=[ActorHistory])

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(priority__gte=1) & Q(priority__lte=10),
                name="%(app_label)s_%(class)s_priority_range",
                violation_error_message="Priority runs from 1 to 10.",
            ),
        ]
        indexes = [
            # The Director's "waiting for a worker" list.
            models.Index(fields=["status", "-created_at"], name="workforce_task_status_idx"),
        ]

    def __str__(self) -> str:
        return self.task_id

    @property
    def low_priority(self) -> bool:
        return self.priority <= LOW_PRIORITY_MAX


class Assignment(models.Model):
    """One attempt of one worker at one task."""

    class Outcome(models.TextChoices):
        OPEN = "OPEN", "Open"
        PASSED = "PASSED", "Passed"
        FAILED = "FAILED", "Failed"
        PROVIDER_FAULT = "PROVIDER_FAULT", "Provider fault"
        RELEASED = "RELEASED", "Released"
        COMPLETED = "COMPLETED", "Completed"

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="assignments")
    worker = models.ForeignKey("workforce.Worker", on_delete=models.PROTECT, related_name="assignments")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    reported_at = models.DateTimeField(null=True, blank=True, help_text="When the last report on it arrived.")
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.OPEN)
    reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["task"],
                condition=Q(ended_at__isnull=True),
                name="%(app_label)s_%(class)s_one_open_per_task",
                violation_error_message="A task has at most one open assignment.",
            ),
        ]
        indexes = [
            # Routing's load count and the silent-worker sweep: open assignments by worker.
            models.Index(fields=["worker", "ended_at"], name="workforce_assign_worker_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.task_id} -> {self.worker_id} ({self.outcome})"
