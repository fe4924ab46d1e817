"""latency.anomaly: a report's duration, and its retries, judged against what is normal for this work. Pure.

The seed judged every duration by one fixed limit (60 s, kept as `timeout.fixed`), whatever the work. Here a
duration is compared with the worker's own recent durations for the same capability, or, while the worker has
too few of them, with the fleet's. The statistics are robust, so a few earlier outliers do not move the yardstick:

1. the reference is the worker's history when it has at least `min_history` points, else the fleet's; with
   fewer than that in both, the detector says nothing;
2. durations are compared as logarithms: work varies by a share of itself, so twice the median is as far out for
   a 5 s task as for a 50 s one, and a long right tail (a few answers at three times the median) stays normal;
3. the logs' median and median absolute deviation (MAD) give Iglewicz and Hoaglin's modified z-score,
   0.6745 * (x - median) / MAD; 0.6745 makes the MAD comparable with a normal standard deviation, and 3.5 is
   their usual cut-off;
4. the MAD has a floor, the log of (1 + 100 ms / median) and of 1.05, so a perfectly constant history does not
   make a one-millisecond, or a 5%, difference an anomaly;
5. only the slow side counts: an answer faster than usual is no misconduct;
6. the retries are judged the same way against the same reference's retries, on their own scale (counts, mostly
   zero), with a floor of one retry.

So a 40 s answer among 5 s ones scores far above 3.5, and among 50 s ones it scores below zero: no finding. The
labelled set in tests/governance/domain/test_latency_labelled.py measures it (docs/governance.md has the figures).
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import median

from governance.domain.detectors.base import DetectorConfig, DetectorInput, FindingDraft

NAME = "latency.anomaly"
LATENCY_VERSION = "1"
VIOLATION_TYPE = "latency_anomaly"

# One source for the defaults: the settings' per-detector threshold overrides only the z cut-off.
DEFAULT_THRESHOLD_Z = 3.5  # Iglewicz and Hoaglin's cut-off for the modified z-score
DEFAULT_MIN_HISTORY = 20  # fewer points than this and a median says little
DEFAULT_MAD_FLOOR_MS = 100  # network jitter: differences of this order are never an anomaly on their own
DEFAULT_MAD_FLOOR_SHARE = 0.05  # 5% of the median: a constant 50 s history still tolerates a few seconds
DEFAULT_RETRY_MAD_FLOOR = 1.0  # retries are small whole numbers, usually all zero
# What the history read (governance.selectors_latency) fetches: the newest points, within a recent window.
HISTORY_LIMIT = 200
WORKER_HISTORY_DAYS = 14
FLEET_HISTORY_HOURS = 24

Z_FACTOR = 0.6745


@dataclass(frozen=True)
class LatencyHistory:
    """What a report is judged against (governance.selectors_latency reads it), newest first: durations in ms
    and retries (None where a report gave none), the worker's own and the fleet's for the task's capability."""

    worker: list[int] = field(default_factory=list)
    worker_retries: list[int | None] = field(default_factory=list)
    fleet: list[int] = field(default_factory=list)
    fleet_retries: list[int | None] = field(default_factory=list)


@dataclass(frozen=True)
class LatencyConfig:
    threshold_z: float = DEFAULT_THRESHOLD_Z
    min_history: int = DEFAULT_MIN_HISTORY
    mad_floor_ms: float = DEFAULT_MAD_FLOOR_MS
    mad_floor_share: float = DEFAULT_MAD_FLOOR_SHARE
    retry_mad_floor: float = DEFAULT_RETRY_MAD_FLOOR

    def __post_init__(self):
        # A cut-off of 0 (the settings allow it) flags every answer slower than the median: odd, not wrong.
        if self.threshold_z < 0 or self.min_history < 1 or self.mad_floor_ms <= 0 or self.retry_mad_floor <= 0:
            raise ValueError("latency config: the cut-off is zero or more, the history and floors positive")


def latency_config(config: "LatencyConfig | float | int | None" = None) -> LatencyConfig:
    """The config the rule runs with: a LatencyConfig as given, a bare number as the z cut-off (the settings'
    per-detector threshold), or the defaults."""
    if isinstance(config, LatencyConfig):
        return config
    if config is None:
        return LatencyConfig()
    return LatencyConfig(threshold_z=float(config))


@dataclass(frozen=True)
class Robust:
    """A sample's median, its raw MAD and the MAD the score divides by (after the floor)."""

    median: float
    mad: float
    scale: float

    def z(self, x: float) -> float:
        return Z_FACTOR * (x - self.median) / self.scale


def robust(values: Sequence[float], *, floor: float, floor_share: float = 0.0) -> Robust:
    """Median and MAD of a non-empty sample, the MAD raised to max(floor, floor_share * |median|)."""
    m = median(values)
    mad = median(abs(v - m) for v in values)
    return Robust(median=m, mad=mad, scale=max(mad, floor, floor_share * abs(m)))


def robust_log(durations: Sequence[float], *, floor_ms: float, floor_share: float) -> Robust | None:
    """Median and MAD of the durations' natural logs, the MAD raised to log(1 + floor_ms / median) and
    log(1 + floor_share); None without a positive duration."""
    logs = [math.log(d) for d in durations if d and d > 0]
    if not logs:
        return None
    m = median(logs)
    mad = median(abs(v - m) for v in logs)
    return Robust(median=m, mad=mad, scale=max(mad, math.log1p(floor_ms / math.exp(m)), math.log1p(floor_share)))


def latency_anomaly(
    duration_ms: int,
    retries: int | None,
    *,
    worker_history: list[int],
    fleet_history: list[int],
    config: "LatencyConfig | float | None" = None,
    worker_retries: list[int] | None = None,
    fleet_retries: list[int] | None = None,
) -> tuple[float, dict] | None:
    """(score, evidence) when the duration or the retries are anomalously high for this worker's work; None when
    they are not, or when neither history is long enough to say. The score is the larger modified z-score."""
    cfg = latency_config(config)
    if worker_history is not None and len(worker_history) >= cfg.min_history:
        reference, durations, past_retries = "worker", worker_history, worker_retries
    elif fleet_history is not None and len(fleet_history) >= cfg.min_history:
        reference, durations, past_retries = "fleet", fleet_history, fleet_retries
    else:
        return None
    if not duration_ms or duration_ms <= 0:  # no duration reported: nothing to judge
        duration = None
    else:
        duration = robust_log(durations, floor_ms=cfg.mad_floor_ms, floor_share=cfg.mad_floor_share)
    retry = None
    past_retries = [r for r in past_retries or () if r is not None]
    if retries is not None and len(past_retries) >= cfg.min_history:
        retry = robust(past_retries, floor=cfg.retry_mad_floor)

    evidence: dict = {"reference": reference, "history": len(durations), "threshold_z": cfg.threshold_z}
    scores, anomalous = [], []
    if duration is not None:
        z = duration.z(math.log(duration_ms))
        scores.append(z)
        median_ms = math.exp(duration.median)
        evidence["duration"] = {
            "duration_ms": duration_ms,
            "median_ms": round(median_ms, 1),
            "ratio": round(duration_ms / median_ms, 2),
            "mad_log": round(duration.mad, 4),
            "scale_log": round(duration.scale, 4),
            "z": round(z, 2),
        }
        if z >= cfg.threshold_z:
            anomalous.append("duration")
    if retry is not None:
        z = retry.z(retries)
        scores.append(z)
        evidence["retries"] = {
            "retries": retries,
            "median": retry.median,
            "mad": retry.mad,
            "scale": retry.scale,
            "z": round(z, 2),
            "history": len(past_retries),
        }
        if z >= cfg.threshold_z:
            anomalous.append("retries")
    if not anomalous:
        return None
    evidence["anomalous"] = anomalous
    return round(max(scores), 3), evidence


def latency_detector(report: DetectorInput, config: DetectorConfig) -> list[FindingDraft]:
    """The registry's entry: one finding when the report's duration or retries are anomalous against the history
    loaded into `report.latency_history` (a LatencyHistory); none without one. The threshold is the z cut-off."""
    history = report.latency_history
    if history is None:
        return []
    found = latency_anomaly(
        report.facts.duration_ms,
        getattr(report.facts, "retries", None),
        worker_history=history.worker,
        fleet_history=history.fleet,
        worker_retries=history.worker_retries,
        fleet_retries=history.fleet_retries,
        config=config.threshold,
    )
    if found is None:
        return []
    score, evidence = found
    return [FindingDraft(NAME, LATENCY_VERSION, VIOLATION_TYPE, score, evidence)]
