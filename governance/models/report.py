import uuid

from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from aura_project.history import ActorHistory, history_user


class AuditRecord(models.Model):
    """One report on one attempt, as the Manager sent it. Evidence: append-only."""

    class Outcome(models.TextChoices):
        CLEAN = "clean", "Clean"
        VIOLATION = "violation", "Violation"
        PROVIDER_FAULT = "provider_fault", "Provider fault"

    report_id = models.CharField(max_length=200, unique=True, help_text="Idempotency key of the report.")
    request_hash = models.CharField(max_length=64, help_text="SHA-256 of the canonical body, to spot reuse.")
    task = models.ForeignKey("workforce.Task", on_delete=models.PROTECT, related_name="audit_records")
    worker = models.ForeignKey("workforce.Worker", on_delete=models.PROTECT, related_name="audit_records")
    hallucinated = models.BooleanField(default=False)
    scope_drift = models.BooleanField(default=False)
    format_violation = models.BooleanField(default=False)
    duration_ms = models.PositiveIntegerField(default=0)
    retries = models.PositiveIntegerField(null=True, blank=True)
    test_pass_rate = models.FloatField(null=True, blank=True, help_text="0-1.")
    manager_satisfaction = models.FloatField(null=True, blank=True, help_text="0-1.")
    confidence = models.FloatField(null=True, blank=True, help_text="0-1.")
    error_kind = models.CharField(max_length=30, blank=True)
    logs = models.JSONField(default=list)
    # Null when the report carried none (every seed payload): the detectors that read an output then skip it.
    output = models.JSONField(null=True, blank=True, help_text="The worker's output, text or JSON, as reported.")
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    incident = models.OneToOneField(
        "governance.Incident", null=True, blank=True, on_delete=models.PROTECT, related_name="report"
    )
    response = models.JSONField(default=dict, help_text="The answer given, replayed on a repeat.")
    settings_version = models.BigIntegerField()
    received_at = models.DateTimeField()
    actor_label = models.CharField(max_length=200, blank=True, help_text="Who acted: user:..., key:... or system:....")

    history = HistoricalRecords(get_user=history_user, bases=[ActorHistory])

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            # Scoring window and provider-fault health: a worker's reports by time.
            models.Index(fields=["worker", "received_at"], name="governance_audit_worker_idx"),
            # The retention purge.
            models.Index(fields=["received_at"], name="governance_audit_received_idx"),
            # The admin's report list filtered by outcome or by one of the detector's flags, newest first. Clean
            # reports (and unflagged ones), most of them, are found on the time index; these hold only the rest,
            # so a clean report, the common write, adds nothing to them.
            models.Index(
                fields=["outcome", "received_at"],
                condition=~Q(outcome="clean"),
                name="governance_audit_outcome_idx",
            ),
            models.Index(fields=["received_at"], condition=Q(hallucinated=True), name="governance_audit_halluc_idx"),
            models.Index(fields=["received_at"], condition=Q(scope_drift=True), name="governance_audit_drift_idx"),
            models.Index(
                fields=["received_at"], condition=Q(format_violation=True), name="governance_audit_format_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"report {self.report_id} ({self.outcome})"


class AuditRun(models.Model):
    """A batch of reports processed by a Celery audit run."""

    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending"
        RUNNING = "RUNNING", "Running"
        DONE = "DONE", "Done"
        FAILED = "FAILED", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    submitted_by = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True, help_text="Last time the run was sent to the broker.")
    lease_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text="A RUNNING run's worker renews this as it goes; once it has passed, the sweeper re-queues the run.",
    )
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The sweeper: runs still pending.
            models.Index(fields=["status", "created_at"], name="governance_auditrun_status_idx"),
        ]

    def __str__(self) -> str:
        return f"audit run {self.id} ({self.status})"


class AuditRunItem(models.Model):
    """One report of an audit run, with its result once processed."""

    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending"
        DONE = "DONE", "Done"
        REJECTED = "REJECTED", "Rejected"

    run = models.ForeignKey(AuditRun, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField()
    payload = models.JSONField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    result = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["run", "position"]
        constraints = [
            models.UniqueConstraint(fields=["run", "position"], name="%(app_label)s_%(class)s_unique_position"),
        ]

    def __str__(self) -> str:
        return f"{self.run_id}#{self.position}"
