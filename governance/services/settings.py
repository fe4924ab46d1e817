"""The Director publishes a new governance settings version. Versions are never edited: each is a new row,
and every decision names the version it used."""

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from django.contrib.auth.models import User
from django.db import transaction

from aura_project.errors import DomainError
from governance.domain.detectors import setup_problems
from governance.domain.escalation import escalation_minutes_problem
from governance.domain.oversight import oversight_problems
from governance.domain.scoring import DEFAULT_WEIGHTS
from governance.models import GovernanceSettings
from workforce.domain.lifecycle import TIERS
from workforce.services.access import is_director

# Fields below 1 would stall the rules: an empty scoring window, a zero timeout, termination on no strike.
AT_LEAST_ONE = (
    "min_runs_for_promotion",
    "scoring_window_days",
    "scoring_window_cap",
    "timeout_ms",
    "evidence_entries",
    "repeat_terminate_count",
    "strikes_to_terminate",
)


def settings_problems(values: Mapping) -> dict[str, str]:
    """What is wrong with a candidate version, by field; empty when it may be published."""
    problems: dict[str, str] = {}
    weights = values.get("weights")
    if not isinstance(weights, dict) or set(weights) != set(DEFAULT_WEIGHTS):
        problems["weights"] = "Give a weight for each of: " + ", ".join(sorted(DEFAULT_WEIGHTS)) + "."
    else:
        try:
            parsed = [Decimal(str(w)) for w in weights.values()]
        except (InvalidOperation, ValueError):
            parsed = None
        if parsed is None or any(not w.is_finite() or w < 0 for w in parsed):
            problems["weights"] = "Weights are non-negative numbers."
        elif sum(parsed) != 1:
            # Weights summing to 1 keep a score on the metrics' own 0-100 scale.
            problems["weights"] = f"Weights must add up to 1 (these add up to {sum(parsed)})."
    points = values.get("penalty_points")
    if not isinstance(points, dict) or not all(
        isinstance(p, int) and not isinstance(p, bool) and p <= 0 for p in points.values()
    ):
        problems["penalty_points"] = "Penalty points are whole numbers, zero or negative, by violation type."
    budgets = values.get("tier_budgets")
    if not isinstance(budgets, dict) or set(budgets) != set(TIERS):
        problems["tier_budgets"] = "Give a budget for each tier: " + ", ".join(TIERS) + "."
    elif not all(isinstance(b, int) and not isinstance(b, bool) and b >= 0 for b in budgets.values()):
        problems["tier_budgets"] = "Budgets are whole numbers, zero or more."
    termination, warning, promotion = (
        values.get("termination_threshold"),
        values.get("warning_threshold"),
        values.get("promotion_threshold"),
    )
    if None not in (termination, warning, promotion) and not (termination < warning < promotion <= 100):
        problems["warning_threshold"] = "Thresholds must rise: termination < warning < promotion <= 100."
    pct = values.get("reputation_new_weight_pct")
    if pct is not None and not 1 <= pct <= 100:
        problems["reputation_new_weight_pct"] = "The new score's share lies between 1 and 100 percent."
    for name in AT_LEAST_ONE:
        if values.get(name) is not None and values[name] < 1:
            problems[name] = "Must be at least 1."
    if "escalation_minutes" in values and (problem := escalation_minutes_problem(values["escalation_minutes"])):
        problems["escalation_minutes"] = problem
    problems.update(
        oversight_problems(
            observe_pct=values.get("overturn_observe_pct"),
            min_sanctions=values.get("overturn_observe_min_sanctions"),
            window_days=values.get("overturn_window_days"),
        )
    )
    if "detector_modes" in values or "detector_thresholds" in values:
        problems.update(
            setup_problems(modes=values.get("detector_modes", {}), thresholds=values.get("detector_thresholds", {}))
        )
    # HR reads a worker's record back `retention_days`: a shorter retention would forget standing strikes.
    windows = [values.get(n) or 0 for n in ("strike_active_days", "warning_active_days", "repeat_window_days")]
    retention = values.get("retention_days")
    if retention is not None and retention < max(windows):
        problems["retention_days"] = (
            f"Retention must cover the longest strike, warning or repeat window ({max(windows)} days)."
        )
    return problems


def settings_publish(*, draft: GovernanceSettings, note: str, actor: User) -> GovernanceSettings:
    """Store `draft` (unsaved) as the new version in force, with the Director's note on why."""
    if not is_director(actor):
        raise DomainError("only the Director may publish settings", field="actor", code="forbidden")
    note = (note or "").strip()
    if not note:
        raise DomainError("say why this version is published", field="note")
    problems = settings_problems({f.name: getattr(draft, f.name) for f in GovernanceSettings._meta.concrete_fields})
    if problems:
        field, message = next(iter(problems.items()))
        raise DomainError(message, field=field)
    draft.pk = None  # always a new row: an old version is never rewritten
    draft.note = note[:300]
    draft.created_by = actor
    draft._change_reason = note[:100]
    with transaction.atomic():
        draft.save(force_insert=True)
    return draft
