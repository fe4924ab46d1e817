from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from aura_project.history import ActorHistory, history_user
from governance.domain import oversight, scoring
from governance.domain.escalation import DEFAULT_ESCALATION_MINUTES
from workforce.domain.lifecycle import DEFAULT_TIER_BUDGETS

# One source for each default: the rules' own constants, stored as the JSON the settings keep.
DEFAULT_WEIGHTS = {name: str(weight) for name, weight in scoring.DEFAULT_WEIGHTS.items()}
DEFAULT_PENALTY_POINTS = dict(scoring.DEFAULT_PENALTY_POINTS)


def _default_weights() -> dict:
    return dict(DEFAULT_WEIGHTS)


def _default_penalty_points() -> dict:
    return dict(DEFAULT_PENALTY_POINTS)


def _default_tier_budgets() -> dict:
    return dict(DEFAULT_TIER_BUDGETS)


def _default_escalation_minutes() -> dict:
    return dict(DEFAULT_ESCALATION_MINUTES)


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
    min_runs_for_promotion = models.PositiveSmallIntegerField(
        default=5, help_text="Scored runs since the last tier change before a PROMOTE applies."
    )
    provisional_runs = models.PositiveSmallIntegerField(
        default=5, help_text="Below this many scored runs a reputation is provisional: no PROMOTE, no TERMINATE."
    )
    probation_clean_runs = models.PositiveSmallIntegerField(
        default=5, help_text="Clean scored runs that end a probation."
    )
    scoring_window_days = models.PositiveSmallIntegerField(default=30)
    scoring_window_cap = models.PositiveIntegerField(default=200)
    tier_budgets = models.JSONField(default=_default_tier_budgets)
    # Auditor
    timeout_ms = models.PositiveIntegerField(default=60000)
    evidence_entries = models.PositiveSmallIntegerField(default=5)
    # Only the Director's choices are stored; a detector not named runs with its registry default (one source:
    # governance.domain.detectors.REGISTRY).
    detector_modes = models.JSONField(default=dict, blank=True, help_text="{detector: enforce|observe|off}.")
    detector_thresholds = models.JSONField(default=dict, blank=True, help_text="{detector: threshold}.")
    # The auditors are audited (governance.services.oversight): a detector in enforce mode whose sanctions the
    # Director overturns this often is switched to observe.
    overturn_observe_pct = models.PositiveSmallIntegerField(
        default=oversight.DEFAULT_OBSERVE_PCT, help_text="Overturn rate, in percent, above which a detector observes."
    )
    overturn_observe_min_sanctions = models.PositiveIntegerField(
        default=oversight.DEFAULT_MIN_SANCTIONS, help_text="Sanctions in the window before the rate is judged."
    )
    overturn_window_days = models.PositiveSmallIntegerField(
        default=oversight.DEFAULT_WINDOW_DAYS, help_text="The rolling window of the overturn rate, in days."
    )
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
    # The spike guard: a fleet-wide jump in sanctions is held for the Director, not applied
    spike_window_minutes = models.PositiveIntegerField(default=60)
    spike_share_pct = models.PositiveSmallIntegerField(
        default=33, help_text="Share of the scope's workers sanctioned within the window that makes a spike."
    )
    spike_min_workers = models.PositiveSmallIntegerField(
        default=3, help_text="A spike needs at least this many workers sanctioned in the window."
    )
    spike_baseline_days = models.PositiveSmallIntegerField(default=7)
    spike_baseline_factor = models.PositiveSmallIntegerField(
        default=3, help_text="A spike is also this many times the scope's usual hourly share."
    )
    spike_min_reports = models.PositiveSmallIntegerField(
        default=5, help_text="Flagged reports in the window that can make a spike before many workers are flagged."
    )
    spike_report_share_pct = models.PositiveSmallIntegerField(
        default=50, help_text="Share of the scope's reports flagged within the window that makes a spike."
    )
    # Senior escalation: a senior's suspension or termination waits this long for the Director, by tier
    # (not editable: the admin's form would take a mapping as raw JSON; like the tier budgets it wants one field per
    # tier there, until then the version in force carries it over)
    escalation_minutes = models.JSONField(
        default=_default_escalation_minutes,
        blank=True,
        editable=False,
        help_text='Minutes a SENIOR or PRINCIPAL sanction waits for the Director: {"SENIOR": 30}; 0 or absent: none.',
    )
    # Retention
    retention_days = models.PositiveIntegerField(default=365)

    note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(get_user=history_user, bases=[ActorHistory])

    class Meta:
        ordering = ["-version"]
        verbose_name = "governance settings"
        verbose_name_plural = "governance settings"

    def __str__(self) -> str:
        return f"settings v{self.version}"
