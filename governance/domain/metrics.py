"""From evidence to the Accountant's six dimensions, pure.

Each worker's reports in the scoring window become six numbers on 0-100 (docs/metrics.md has the worked
example). A dimension with no measurement in the window takes the neutral value, so missing data neither
rewards nor punishes. Everything is Decimal, rounded to hundredths, so the score's truncation is exact.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from statistics import pstdev

NEUTRAL = Decimal(50)
HUNDRED = Decimal(100)
RETRY_COST = Decimal(15)  # consistency points one retry per report costs
CENT = Decimal("0.01")


@dataclass(frozen=True)
class ReportSample:
    """The measurements of one report that scoring reads."""

    duration_ms: int = 0
    retries: int | None = None
    test_pass_rate: float | None = None
    manager_satisfaction: float | None = None
    confidence: float | None = None
    violated: bool = False
    provider_fault: bool = False


def _clamp(value: Decimal) -> Decimal:
    return max(Decimal(0), min(HUNDRED, value)).quantize(CENT, rounding=ROUND_HALF_EVEN)


def _mean(values: Sequence[Decimal]) -> Decimal | None:
    return sum(values, Decimal(0)) / len(values) if values else None


def _rate(values) -> Decimal | None:
    """The mean of 0-1 measurements, on 0-100; None when nothing was measured."""
    present = [Decimal(str(v)) for v in values if v is not None]
    mean = _mean(present)
    return None if mean is None else mean * HUNDRED


def compute_metrics(samples: Sequence[ReportSample], *, timeout_ms: int, recent_scores: Sequence[int] = ()) -> dict:
    """The six dimensions from a worker's reports in the window (provider faults are the provider's, not the
    worker's, so they are left out of everything but nothing else)."""
    own = [s for s in samples if not s.provider_fault]

    # accuracy: the mean test pass rate.
    accuracy = _rate(s.test_pass_rate for s in own)

    # productivity: how much of the timeout each attempt left unused; 0 at or past the timeout.
    timed = [Decimal(s.duration_ms) for s in own if s.duration_ms > 0]
    productivity = _mean([max(Decimal(0), 1 - d / Decimal(timeout_ms)) * HUNDRED for d in timed])

    # consistency: 100, less RETRY_COST per mean retry, less the spread of the recent scores.
    retries = [Decimal(s.retries) for s in own if s.retries is not None]
    consistency = None
    if retries or len(recent_scores) >= 2:
        consistency = HUNDRED
        if retries:
            consistency -= RETRY_COST * _mean(retries)
        if len(recent_scores) >= 2:
            consistency -= Decimal(str(pstdev(recent_scores))).quantize(CENT)

    # discipline: the share of clean reports.
    discipline = None if not own else Decimal(sum(1 for s in own if not s.violated)) / len(own) * HUNDRED

    confidence = _rate(s.confidence for s in own)
    initiative = _rate(s.manager_satisfaction for s in own)

    raw = {
        "confidence": confidence,
        "consistency": consistency,
        "accuracy": accuracy,
        "productivity": productivity,
        "initiative": initiative,
        "discipline": discipline,
    }
    return {name: _clamp(NEUTRAL if value is None else value) for name, value in raw.items()}
