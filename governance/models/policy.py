from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from aura_project.history import ActorHistory, history_user
from governance.domain.detection import SEVERITY_MAX, SEVERITY_MIN

SEVERITY_MESSAGE = f"Severity is a whole number from {SEVERITY_MIN} to {SEVERITY_MAX}."


class Action(models.TextChoices):
    """What HR, the Accountant or the Director can do to a Worker."""

    WARNING = "WARNING", "Warning"
    STRIKE = "STRIKE", "Strike"
    DEMOTE = "DEMOTE", "Demote"
    SUSPEND = "SUSPEND", "Suspend"
    TERMINATE = "TERMINATE", "Terminate"
    BLACKLIST = "BLACKLIST", "Blacklist"
    PROMOTE = "PROMOTE", "Promote"
    REHIRE = "REHIRE", "Rehire"
    REINSTATE = "REINSTATE", "Reinstate"
    CONFIRM = "CONFIRM", "Confirm (probation passed)"
    OVERTURN = "OVERTURN", "Overturn"


class Policy(models.Model):
    """HR's written policy: which action a violation type earns."""

    violation_type = models.CharField(max_length=50, unique=True)
    severity = models.PositiveSmallIntegerField(
        validators=[
            MinValueValidator(SEVERITY_MIN, message=SEVERITY_MESSAGE),
            MaxValueValidator(SEVERITY_MAX, message=SEVERITY_MESSAGE),
        ],
        help_text=f"{SEVERITY_MIN} (mildest) to {SEVERITY_MAX} (gravest), the scale of the Auditor's reports.",
    )
    action = models.CharField(max_length=12, choices=Action.choices)
    description = models.CharField(max_length=300, blank=True)
    active = models.BooleanField(default=True)

    history = HistoricalRecords(get_user=history_user, bases=[ActorHistory])

    class Meta:
        ordering = ["violation_type"]  # served by the unique index
        verbose_name_plural = "policies"
        constraints = [
            models.CheckConstraint(
                condition=Q(severity__gte=SEVERITY_MIN, severity__lte=SEVERITY_MAX),
                name="%(app_label)s_%(class)s_severity_in_range",
                violation_error_message=SEVERITY_MESSAGE,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.violation_type} (sev {self.severity}) -> {self.action}"
