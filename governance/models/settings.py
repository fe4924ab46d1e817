from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from aura_project.history import history_user

DEFAULT_WEIGHTS = {
    "confidence": "0.25",
    "consistency": "0.20",
    "accuracy": "0.20",
    "productivity": "0.15",
    "initiative": "0.10",
    "discipline": "0.10",
}
DEFAULT_PENALTY_POINTS = {"hallucination": -30, "timeout": -20, "scope_drift": -15, "format_violation": -10}
DEFAULT_TIER_BUDGETS = {"JUNIOR": 1000, "MID": 2000, "SENIOR": 4000, "PRINCIPAL": 8000}


def _default_weights() -> dict:
    return dict(DEFAULT_WEIGHTS)


def _default_penalty_points() -> dict:
    return dict(DEFAULT_PENALTY_POINTS)


def _default_tier_budgets() -> dict:
    return dict(DEFAULT_TIER_BUDGETS)


class GovernanceSettings(models.Model):
    """One version of the Director's thresholds, weights, windows and retention; the newest row is in force.

    A change is a new row, never an edit, so every decision can name the version it used.
    """

    version = models.BigAutoField(primary_key=True)
    # Accountant
    weights = models.JSONField(default=_default_weights, help_text="Metric weights; decimals as strings.")
    penalty_points = models.JSONField(default=_default_penalty_points)
    promotion_threshold = models.PositiveSmallIntegerField(default=80)
    warning_threshold = models.PositiveSmallIntegerField(default=50)
    termination_threshold = models.PositiveSmallIntegerField(default=30)
    reputation_new_weight_pct = models.PositiveSmallIntegerField(
        default=30, help_text="Share of the new score in the reputation EMA, in percent."
    )
    min_runs_for_promotion = models.PositiveSmallIntegerField(default=5)
    scoring_window_days = models.PositiveSmallIntegerField(default=30)
    scoring_window_cap = models.PositiveIntegerField(default=200)
    tier_budgets = models.JSONField(default=_default_tier_budgets)
    # Auditor
    timeout_ms = models.PositiveIntegerField(default=60000)
    evidence_entries = models.PositiveSmallIntegerField(default=5)
    # HR
    repeat_window_days = models.PositiveSmallIntegerField(default=90)
    repeat_terminate_count = models.PositiveSmallIntegerField(default=3)
    strikes_to_terminate = models.PositiveSmallIntegerField(default=3)
    strike_active_days = models.PositiveSmallIntegerField(default=180)
    warning_active_days = models.PositiveSmallIntegerField(default=90)
    suspension_hours = models.PositiveSmallIntegerField(default=24)
    cooldown_minutes = models.PositiveIntegerField(default=60)
    # Routing health and timers
    provider_fault_limit = models.PositiveSmallIntegerField(default=3)
    provider_fault_window_seconds = models.PositiveIntegerField(default=300)
    provider_cooldown_seconds = models.PositiveIntegerField(default=120)
    silent_timeout_minutes = models.PositiveIntegerField(default=30)
    # Retention
    retention_days = models.PositiveIntegerField(default=365)

    note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(get_user=history_user)

    class Meta:
        ordering = ["-version"]
        verbose_name = "governance settings"
        verbose_name_plural = "governance settings"

    def __str__(self) -> str:
        return f"settings v{self.version}"
