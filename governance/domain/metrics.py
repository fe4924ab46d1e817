"""From evidence to the Accountant's six dimensions, pure.

Each worker's reports in the scoring window become six numbers on 0-100 (docs/metrics.md has the worked
example). A dimension with no measurement in the window takes the neutral value, so missing data neither
rewards nor punishes. Everything is Decimal, rounded to hundredths, so the score's truncation is exact.

A scoring run reads a whole fleet's reports (a million at 10,000 workers), so the arithmetic is laid out for
that: the run hands over each worker's measurements as plain columns (`Measurements`), and the Decimals that
stand for a measurement (the text of a float, the productivity of a duration) are made once per value and
remembered in `Conversions`, which a run shares between its workers. The sums are Decimal sums in report
order, as they always were, so the results are the same to the last digit.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from statistics import pstdev

NEUTRAL = Decimal(50)
HUNDRED = Decimal(100)
RETRY_COST = Decimal(15)  # consistency points one retry per report costs
CENT = Decimal("0.01")
ZERO = Decimal(0)


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


@dataclass
class Measurements:
    """One worker's reports in the window, newest first, provider faults already left out: each column holds
    the values that were measured (no None), in report order."""

    reports: int = 0  # reports that are the worker's own (not provider faults)
    clean: int = 0  # of which the Auditor found no violation
    durations: list[int] = field(default_factory=list)  # > 0 only: 0 means "not measured"
    retries: list[int] = field(default_factory=list)
    test_pass_rates: list[float] = field(default_factory=list)
    confidences: list[float] = field(default_factory=list)
    manager_satisfactions: list[float] = field(default_factory=list)


class _DecimalText(dict):
    """float -> Decimal(str(float)), each made once."""

    def __missing__(self, value: float) -> Decimal:
        decimal = self[value] = Decimal(str(value))
        return decimal


class _Productivity(dict):
    """duration_ms -> how much of the timeout the attempt left unused, on 0-100 (0 at or past the timeout),
    each made once."""

    def __init__(self, timeout_ms: int):
        super().__init__()
        self.timeout = Decimal(timeout_ms)

    def __missing__(self, duration: int) -> Decimal:
        value = self[duration] = max(ZERO, 1 - Decimal(duration) / self.timeout) * HUNDRED
        return value


class Conversions:
    """The Decimal of each measured value, made once: the decimal text of a float (not its binary value) and
    a duration's productivity. Shared by the workers of a run, or of one chunk of it, so a value repeated
    across the fleet is converted once; one instance per timeout."""

    def __init__(self, *, timeout_ms: int):
        self.decimal = _DecimalText()
        self.productivity = _Productivity(timeout_ms)


def _clamp(value: Decimal) -> Decimal:
    return max(Decimal(0), min(HUNDRED, value)).quantize(CENT, rounding=ROUND_HALF_EVEN)


def _mean(values: Sequence[Decimal]) -> Decimal | None:
    return sum(values, Decimal(0)) / len(values) if values else None


def _rate(values: Sequence[float], decimal: dict) -> Decimal | None:
    """The mean of 0-1 measurements, on 0-100; None when nothing was measured."""
    mean = _mean([decimal[v] for v in values])
    return None if mean is None else mean * HUNDRED


def measurements(samples: Sequence[ReportSample]) -> Measurements:
    """The columns of these reports (provider faults are the provider's, not the worker's, so they are left
    out of everything)."""
    own = [s for s in samples if not s.provider_fault]
    return Measurements(
        reports=len(own),
        clean=sum(1 for s in own if not s.violated),
        durations=[s.duration_ms for s in own if s.duration_ms > 0],
        retries=[s.retries for s in own if s.retries is not None],
        test_pass_rates=[s.test_pass_rate for s in own if s.test_pass_rate is not None],
        confidences=[s.confidence for s in own if s.confidence is not None],
        manager_satisfactions=[s.manager_satisfaction for s in own if s.manager_satisfaction is not None],
    )


def compute_metrics(samples: Sequence[ReportSample], *, timeout_ms: int, recent_scores: Sequence[int] = ()) -> dict:
    """The six dimensions from a worker's reports in the window (provider faults are the provider's, not the
    worker's, so they are left out of everything but nothing else)."""
    return metrics_of(
        measurements(samples), conversions=Conversions(timeout_ms=timeout_ms), recent_scores=recent_scores
    )


def metrics_of(measured: Measurements, *, conversions: Conversions, recent_scores: Sequence[int] = ()) -> dict:
    """The six dimensions from one worker's measurements."""
    decimal = conversions.decimal

    # accuracy: the mean test pass rate.
    accuracy = _rate(measured.test_pass_rates, decimal)

    # productivity: how much of the timeout each attempt left unused; 0 at or past the timeout.
    productivity = _mean([conversions.productivity[d] for d in measured.durations])

    # consistency: 100, less RETRY_COST per mean retry, less the spread of the recent scores. Whole retries
    # sum exactly, so their mean is the sum's Decimal over the count.
    retries = measured.retries
    consistency = None
    if retries or len(recent_scores) >= 2:
        consistency = HUNDRED
        if retries:
            consistency -= RETRY_COST * (Decimal(sum(retries)) / len(retries))
        if len(recent_scores) >= 2:
            consistency -= Decimal(str(pstdev(recent_scores))).quantize(CENT)

    # discipline: the share of clean reports.
    discipline = None if not measured.reports else Decimal(measured.clean) / measured.reports * HUNDRED

    confidence = _rate(measured.confidences, decimal)
    initiative = _rate(measured.manager_satisfactions, decimal)

    raw = {
        "confidence": confidence,
        "consistency": consistency,
        "accuracy": accuracy,
        "productivity": productivity,
        "initiative": initiative,
        "discipline": discipline,
    }
    return {name: _clamp(NEUTRAL if value is None else value) for name, value in raw.items()}
