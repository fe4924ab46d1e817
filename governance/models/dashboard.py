from django.db import models


class BeatJobRun(models.Model):
    """When a beat job last finished without error: one row per Celery task, overwritten on each success, so
    the dashboard can show a stalled beat. A bookmark, not evidence: it keeps no history."""

    name = models.CharField(max_length=200, unique=True, help_text="The Celery task's name.")
    last_success_at = models.DateTimeField()
    actor_label = models.CharField(max_length=200, help_text="Who ran it: system:beat.")

    class Meta:
        ordering = ["name"]  # served by the unique index

    def __str__(self) -> str:
        return f"{self.name} at {self.last_success_at:%Y-%m-%d %H:%M}"


class IncidentDayCount(models.Model):
    """Incidents reported on one closed day, per violation type: the dashboard's 30-day chart reads these
    instead of a month of incidents. Derived from the incidents, never evidence: recomputed after a purge.
    The row with an empty violation type holds the day's total and marks the day as counted."""

    day = models.DateField()
    violation_type = models.CharField(max_length=50, blank=True)
    incidents = models.PositiveIntegerField()
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["day", "violation_type"]  # served by the unique index
        constraints = [
            models.UniqueConstraint(fields=["day", "violation_type"], name="%(app_label)s_%(class)s_once_per_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.violation_type or 'all'}: {self.incidents}"
