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


CONFIRM = "CONFIRM"
GONE = ("TERMINATED", "BLACKLISTED")
OUT_OF_SERVICE = ("SUSPENDED", *GONE)
TOP_TIER = "PRINCIPAL"


@dataclass(frozen=True)
class ScoredWorker:
    """A worker as the Accountant sees it after this score was counted (scored_runs includes it)."""

    status: str
    tier: str
    scored_runs: int
    runs_since_tier_change: int
    probation_clean_runs: int = 0


@dataclass(frozen=True)
class RunPolicy:
    provisional_runs: int = 5
    min_runs_for_promotion: int = 5
    probation_clean_runs: int = 5


@dataclass(frozen=True)
class Applied:
    """What the Accountant applies after its guards, and the worker's probation count after this score."""

    action: str
    reason: str
    probation_clean_runs: int
    confirm: bool = False  # the probation is passed: a CONFIRM action ends it


def applied_action(*, action: str, worker: ScoredWorker, clean: bool, policy: RunPolicy = RunPolicy()) -> Applied:
    """The one place that decides what a score does (the single-score API and the scoring runs both call it).

    1. A terminated or blacklisted worker is not sanctioned, nor terminated, again.
    2. A probation ends after `probation_clean_runs` clean scores in a row; a score with a violation restarts
       the count.
    3. A provisional reputation (fewer than `provisional_runs` scores) is a guess: it neither promotes nor
       terminates; a TERMINATE is applied as a WARNING.
    4. PROMOTE needs `min_runs_for_promotion` scores since the last tier change, a worker in service, not in
       cooldown or on probation, and a tier to go to.
    """
    if worker.status in GONE:
        return Applied(NONE, "terminated", worker.probation_clean_runs)
    count, confirm = worker.probation_clean_runs, False
    if worker.status == "PROBATION":
        count = count + 1 if clean else 0
        confirm = count >= policy.probation_clean_runs
    provisional = worker.scored_runs < policy.provisional_runs
    if action == TERMINATE and provisional:
        return Applied(WARNING, "provisional: a TERMINATE applies as a WARNING", count, confirm)
    if action == PROMOTE:
        status = "ACTIVE" if confirm and worker.status == "PROBATION" else worker.status
        if worker.tier == TOP_TIER:
            return Applied(NONE, "already at the top tier", count, confirm)
        if provisional:
            return Applied(NONE, "provisional", count, confirm)
        if status in OUT_OF_SERVICE or not promotion_allowed(
            runs_since_tier_change=worker.runs_since_tier_change, status=status, min_runs=policy.min_runs_for_promotion
        ):
            return Applied(
                NONE, f"not yet ({worker.runs_since_tier_change} runs since tier change, {status})", count, confirm
            )
    return Applied(action, "", count, confirm)


@dataclass(frozen=True)
class Move:
    """One stored move of the reputation, replayed by `replay_reputation`."""

    score: int
    new_weight_pct: int


def replay_reputation(start: int, moves: Sequence[Move]) -> int:
    """The reputation the moves give from `start`, in order: the evidence that stands, replayed."""
    reputation = start
    for move in moves:
        reputation = update_reputation(reputation, move.score, new_weight_pct=move.new_weight_pct)
    return reputation


def discipline_without(*, reports: int, violations: int) -> Decimal:
    """The discipline dimension again, once some of the run's violations no longer stand."""
    if reports <= 0:
        return Decimal(50)
    clean = max(0, reports - max(0, violations))
    return (Decimal(clean) / reports * 100).quantize(Decimal("0.01"))
