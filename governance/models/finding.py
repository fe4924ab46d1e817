from django.db import models


class Finding(models.Model):
    """What one detector found in one report: its score and evidence, and whether it was enforced or only observed.

    Evidence: append-only. An enforced finding that opened an incident points at it; an observed one sanctions
    nobody and is kept so the Director can judge the detector before trusting it.
    """

    class Mode(models.TextChoices):
        ENFORCE = "enforce", "Enforce"
        OBSERVE = "observe", "Observe"

    audit_record = models.ForeignKey("governance.AuditRecord", on_delete=models.PROTECT, related_name="findings")
    incident = models.ForeignKey(
        "governance.Incident", null=True, blank=True, on_delete=models.PROTECT, related_name="findings"
    )
    worker = models.ForeignKey("workforce.Worker", on_delete=models.PROTECT, related_name="findings")
    task = models.ForeignKey("workforce.Task", on_delete=models.PROTECT, related_name="findings")
    detector = models.CharField(max_length=64)
    detector_version = models.CharField(max_length=16)
    mode = models.CharField(max_length=8, choices=Mode.choices)
    violation_type = models.CharField(max_length=50)
    score = models.FloatField()
    evidence = models.JSONField()
    settings_version = models.BigIntegerField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # A detector's findings over a rolling window: the oversight's overturn rate and the detector list.
            models.Index(fields=["detector", "created_at"], name="governance_finding_det_idx"),
            # A worker's findings, newest first: the worker's record and the retention purge by worker.
            models.Index(fields=["worker", "created_at"], name="governance_finding_worker_idx"),
        ]

    def __str__(self) -> str:
        return f"finding {self.detector} {self.violation_type} ({self.mode})"
