"""The Accountant's score, reputation and action rules (seed batch 10, with its bugs fixed), pure.

Everything is exact: metrics and weights are Decimals and the reputation is integer arithmetic, so float
error never moves a truncated result (six metrics at 40 score exactly 40).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from aura_project.errors import DomainError

PROMOTE = "PROMOTE"
WARNING = "WARNING"
TERMINATE = "TERMINATE"
NONE = "NONE"

DEFAULT_WEIGHTS: Mapping[str, Decimal] = {
    "confidence": Decimal("0.25"),
    "consistency": Decimal("0.20"),
    "accuracy": Decimal("0.20"),
    "productivity": Decimal("0.15"),
    "initiative": Decimal("0.10"),
    "discipline": Decimal("0.10"),
}
DEFAULT_PENALTY_POINTS: Mapping[str, int] = {
    "hallucination": -30,
    "timeout": -20,
    "scope_drift": -15,
    "format_violation": -10,
}


@dataclass(frozen=True)
class Thresholds:
    promotion: int = 80
    warning: int = 50
    termination: int = 30


def _as_decimal(value, field: str) -> Decimal:
    if isinstance(value, bool):
        raise DomainError("must be a number", field=field)
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise DomainError("must be a number", field=field) from None
    if not number.is_finite():
        raise DomainError("must be a finite number", field=field)
    return number


def calculate_score(
    metrics: Mapping[str, object],
    penalties: Sequence[str],
    *,
    weights: Mapping[str, Decimal] = DEFAULT_WEIGHTS,
    penalty_points: Mapping[str, int] = DEFAULT_PENALTY_POINTS,
) -> int:
    """clamp(int(Σ weight·metric + Σ penalty points), 0, 100). All six metrics are required, each 0-100."""
    total = Decimal(0)
    for name, weight in weights.items():
        if name not in metrics:
            raise DomainError("this metric is required", field=f"metrics.{name}")
        value = _as_decimal(metrics[name], f"metrics.{name}")
        if not 0 <= value <= 100:
            raise DomainError("must lie between 0 and 100", field=f"metrics.{name}")
        total += weight * value
    unknown = sorted(set(metrics) - set(weights))
    if unknown:
        raise DomainError(f"unknown metric {unknown[0]!r}", field=f"metrics.{unknown[0]}")
    for penalty in penalties:
        if penalty not in penalty_points:
            raise DomainError(f"unknown penalty {penalty!r}", field="penalties")
        total += penalty_points[penalty]
    return max(min(int(total), 100), 0)


def update_reputation(old: int, new: int, *, new_weight_pct: int = 30) -> int:
    """int(0.7·old + 0.3·new), in integers."""
    return ((100 - new_weight_pct) * old + new_weight_pct * new) // 100


def determine_action(reputation: int, thresholds: Thresholds = Thresholds()) -> str:
    """The seed tested < 50 before < 30, so TERMINATE could never happen; the termination test comes first."""
    if reputation >= thresholds.promotion:
        return PROMOTE
    if reputation < thresholds.termination:
        return TERMINATE
    if reputation < thresholds.warning:
        return WARNING
    return NONE


def promotion_allowed(*, runs_since_tier_change: int, status: str, min_runs: int = 5) -> bool:
    """One lucky run never promotes, nor does a worker in cooldown or on probation."""
    return runs_since_tier_change >= min_runs and status not in ("COOLDOWN", "PROBATION")
