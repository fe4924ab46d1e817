from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from aura_project.history import ActorHistory, history_user


class Spike(models.Model):
    """A fleet-wide jump in sanctions, seen by the spike guard: a bad detector, a bad task or a provider outage
    is likelier than every worker misbehaving at once. While one lasts, suspensions, terminations and
    blacklistings are held for the Director's review instead of applied."""

    scope = models.CharField(max_length=200, help_text="fleet, provider:<name> or violation:<type>.")
    figures = models.JSONField(help_text="Workers sanctioned, the population, shares and the baseline.")
    settings_version = models.BigIntegerField()
    started_at = models.DateTimeField()
    last_seen_at = models.DateTimeField(help_text="When it was last measured still spiking; it ends a window later.")
    held = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at"]
        indexes = [
            # The guard's "is a spike going on?": the newest by last sighting.
            models.Index(fields=["last_seen_at"], name="governance_spike_seen_idx"),
        ]

    def __str__(self) -> str:
        return f"spike {self.scope} at {self.started_at:%Y-%m-%d %H:%M}"


class PendingSanction(models.Model):
    """A suspension, termination or blacklisting held for the Director, with its evidence: by the spike guard
    (kind SPIKE, with its spike), or because the worker is senior (kind ESCALATION, with the time it applies
    itself if nobody answers: governance.domain.escalation). Confirming applies it through the same service as
    the automation; dismissing leaves the worker as it is."""

    class Kind(models.TextChoices):
        SPIKE = "SPIKE", "Held in a spike"
        ESCALATION = "ESCALATION", "Senior escalation"

    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending review"
        CONFIRMED = "CONFIRMED", "Confirmed"
        DISMISSED = "DISMISSED", "Dismissed"
        APPLIED = "APPLIED", "Applied itself"  # an escalation nobody answered in time

    worker = models.ForeignKey("workforce.Worker", on_delete=models.PROTECT, related_name="pending_sanctions")
    incident = models.ForeignKey(
        "governance.Incident", null=True, blank=True, on_delete=models.PROTECT, related_name="pending_sanctions"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.SPIKE)
    spike = models.ForeignKey(Spike, null=True, blank=True, on_delete=models.PROTECT, related_name="sanctions")
    apply_at = models.DateTimeField(
        null=True, blank=True, help_text="An escalation applies itself then if the Director has not answered."
    )
    action = models.CharField(max_length=12)
    reason = models.CharField(max_length=500)
    actor_kind = models.CharField(max_length=10, help_text="Who decided it: HR or the Accountant.")
    actor_label = models.CharField(max_length=200, blank=True)
    violation_type = models.CharField(max_length=50, blank=True)
    settings_version = models.BigIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_reason = models.CharField(max_length=500, blank=True)
    applied = models.ForeignKey(
        "governance.DisciplinaryAction", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    history = HistoricalRecords(get_user=history_user, bases=[ActorHistory])

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The Director's review queue: pending ones, newest first.
            models.Index(fields=["status", "-created_at"], name="governance_pending_status_idx"),
            # The per-minute timers' "escalations whose time is up": pending ones by deadline.
            models.Index(fields=["status", "apply_at"], name="governance_pending_due_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind="SPIKE", spike__isnull=False, apply_at__isnull=True)
                    | Q(kind="ESCALATION", spike__isnull=True, apply_at__isnull=False)
                ),
                name="%(app_label)s_%(class)s_kind_fields",
                violation_error_message="A spike hold names its spike; a senior escalation, when it applies itself.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.worker_id} ({self.status})"
