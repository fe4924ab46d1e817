"""The run's fast path to the six dimensions gives, to the last digit, what the per-report arithmetic gave.

`reference_metrics` is compute_metrics as it was before runs measured whole fleets (a Decimal made for every
report's every measurement): random windows of reports must come out identical, through compute_metrics and
through the columns a scoring run builds, with one Conversions shared by many workers as a run shares it.
"""

import random
from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from statistics import pstdev

import pytest

from governance.domain.metrics import Conversions, ReportSample, compute_metrics, measurements, metrics_of

HUNDRED, CENT = Decimal(100), Decimal("0.01")


def reference_metrics(samples: Sequence[ReportSample], *, timeout_ms: int, recent_scores: Sequence[int] = ()) -> dict:
    def clamp(value):
        return max(Decimal(0), min(HUNDRED, value)).quantize(CENT, rounding=ROUND_HALF_EVEN)

    def mean(values):
        return sum(values, Decimal(0)) / len(values) if values else None

    def rate(values):
        m = mean([Decimal(str(v)) for v in values if v is not None])
        return None if m is None else m * HUNDRED

    own = [s for s in samples if not s.provider_fault]
    timed = [Decimal(s.duration_ms) for s in own if s.duration_ms > 0]
    retries = [Decimal(s.retries) for s in own if s.retries is not None]
    consistency = None
    if retries or len(recent_scores) >= 2:
        consistency = HUNDRED
        if retries:
            consistency -= Decimal(15) * mean(retries)
        if len(recent_scores) >= 2:
            consistency -= Decimal(str(pstdev(recent_scores))).quantize(CENT)
    raw = {
        "confidence": rate(s.confidence for s in own),
        "consistency": consistency,
        "accuracy": rate(s.test_pass_rate for s in own),
        "productivity": mean([max(Decimal(0), 1 - d / Decimal(timeout_ms)) * HUNDRED for d in timed]),
        "initiative": rate(s.manager_satisfaction for s in own),
        "discipline": None if not own else Decimal(sum(1 for s in own if not s.violated)) / len(own) * HUNDRED,
    }
    return {name: clamp(Decimal(50) if value is None else value) for name, value in raw.items()}


def a_measure(rng: random.Random) -> float | None:
    """Floats as Managers send them: rounded, ratios, or any binary value, and sometimes nothing."""
    kind = rng.random()
    if kind < 0.1:
        return None
    if kind < 0.3:
        return round(rng.random(), 2)
    if kind < 0.4:
        return rng.randint(0, 20_000) / 20_000  # 0.12345: a half-cent tie in its decimal text, not in binary
    if kind < 0.6:
        return rng.randint(0, 9) / rng.randint(1, 9)
    if kind < 0.65:
        return rng.random() * 1e-12  # digits far below the hundredths
    return rng.random()


def a_window(rng: random.Random) -> list[ReportSample]:
    return [
        ReportSample(
            duration_ms=rng.choice([0, rng.randint(1, 90_000), 60_000, rng.randint(1, 10) * 6_000]),
            retries=rng.choice([None, rng.randint(0, 4)]),
            test_pass_rate=a_measure(rng),
            manager_satisfaction=a_measure(rng),
            confidence=a_measure(rng),
            violated=rng.random() < 0.2,
            provider_fault=rng.random() < 0.05,
        )
        for _ in range(rng.randint(0, 120))
    ]


@pytest.mark.parametrize("timeout_ms", [60_000, 45_000, 7])
def test_random_windows_score_exactly_as_report_by_report_arithmetic(timeout_ms):
    rng = random.Random(timeout_ms)
    shared = Conversions(timeout_ms=timeout_ms)  # as a run shares it between the workers of a chunk
    for _ in range(400):
        window = a_window(rng)
        recent = [rng.randint(0, 100) for _ in range(rng.choice([0, 1, 2, 10]))]
        expected = reference_metrics(window, timeout_ms=timeout_ms, recent_scores=recent)

        assert compute_metrics(window, timeout_ms=timeout_ms, recent_scores=recent) == expected
        by_run = metrics_of(measurements(window), conversions=shared, recent_scores=recent)
        assert by_run == expected
        assert [str(v) for v in by_run.values()] == [str(v) for v in expected.values()]
