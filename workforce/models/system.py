from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from aura_project.history import ActorHistory, history_user


class SystemMode(models.Model):
    """The fleet's mode: normal, or halted by the Director. One row (id 1); no row means normal. Its history
    is the log of every halt and resume, with who did it and why."""

    SINGLETON = 1

    class Mode(models.TextChoices):
        NORMAL = "normal", "Normal"
        HALTED = "halted", "Halted"

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON, editable=False)
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.NORMAL)
    reason = models.CharField(max_length=500, blank=True, help_text="Why the Director halted or resumed.")
    actor_label = models.CharField(max_length=200, blank=True, help_text="Who halted or resumed: user:..., key:...")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(null=True, blank=True, help_text="When the mode last changed.")

    history = HistoricalRecords(get_user=history_user, bases=[ActorHistory])

    class Meta:
        verbose_name = "system mode"
        verbose_name_plural = "system mode"
        constraints = [
            models.CheckConstraint(
                condition=Q(id=1),
                name="%(app_label)s_%(class)s_one_row",
                violation_error_message="The system mode is one row.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.mode} since {self.changed_at:%Y-%m-%d %H:%M}" if self.changed_at else self.mode
