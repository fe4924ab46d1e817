from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from aura_project.history import ActorHistory, history_user

NEW_HIRE_REPUTATION = 60


class Worker(models.Model):
    """A model worker (an LLM agent) on the payroll, with its tier, status and reputation."""

    class Tier(models.TextChoices):
        JUNIOR = "JUNIOR", "Junior"
        MID = "MID", "Mid"
        SENIOR = "SENIOR", "Senior"
        PRINCIPAL = "PRINCIPAL", "Principal"

    class Status(models.TextChoices):
        ACTIVE = "ACTIVE", "Active"
        COOLDOWN = "COOLDOWN", "Cooldown"
        PROBATION = "PROBATION", "Probation"
        SUSPENDED = "SUSPENDED", "Suspended"
        TERMINATED = "TERMINATED", "Terminated"
        BLACKLISTED = "BLACKLISTED", "Blacklisted"

    model_id = models.CharField(max_length=200, unique=True, help_text="The Manager's id, e.g. openai/gpt-4o.")
    name = models.CharField(max_length=200, blank=True)
    provider = models.CharField(max_length=100, blank=True)
    capabilities = models.JSONField(default=list, blank=True, help_text='Capability tags, e.g. ["code"].')
    tier = models.CharField(max_length=12, choices=Tier.choices, default=Tier.JUNIOR)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    priority = models.IntegerField(default=0)
    budget = models.PositiveIntegerField(default=0, help_text="Budget units granted by the worker's tier.")
    reputation = models.PositiveSmallIntegerField(default=NEW_HIRE_REPUTATION)
    scored_runs = models.PositiveIntegerField(default=0, help_text="Scoring runs behind the reputation.")
    runs_since_tier_change = models.PositiveIntegerField(
        default=0, help_text="Scored runs since the last tier change; hiring is not a run."
    )
    probation_clean_runs = models.PositiveIntegerField(
        default=0, help_text="Clean scored runs since the probation began (or since its last violation)."
    )
    cooldown_until = models.DateTimeField(null=True, blank=True)
    suspended_until = models.DateTimeField(null=True, blank=True)
    unhealthy_until = models.DateTimeField(
        null=True, blank=True, help_text="Routing health: provider faults keep the worker out until then."
    )
    evidence_scored_until = models.DateTimeField(
        null=True, blank=True, help_text="Reports received up to here are in the reputation; newer ones are new."
    )
    hired_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(get_user=history_user, bases=[ActorHistory])

    class Meta:
        ordering = ["model_id"]  # served by the unique index on model_id
        constraints = [
            models.CheckConstraint(
                condition=Q(reputation__gte=0) & Q(reputation__lte=100),
                name="%(app_label)s_%(class)s_reputation_range",
                violation_error_message="Reputation must lie between 0 and 100.",
            ),
        ]

    def __str__(self) -> str:
        return self.model_id

    def is_provisional(self, provisional_runs: int) -> bool:
        """A reputation from fewer than the configured scored runs is still the new-hire guess."""
        return self.scored_runs < provisional_runs
