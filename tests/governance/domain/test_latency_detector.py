"""latency.anomaly, without a database: durations and retries against the worker's or the fleet's history."""

import pytest

from governance.domain.detection import ReportFacts
from governance.domain.detectors.base import DetectorConfig, DetectorInput
from governance.domain.detectors.latency import (
    DEFAULT_MIN_HISTORY,
    DEFAULT_THRESHOLD_Z,
    LATENCY_VERSION,
    NAME,
    VIOLATION_TYPE,
    LatencyConfig,
    LatencyHistory,
    latency_anomaly,
    latency_config,
    latency_detector,
    robust_log,
)

# Thirty answers around 5 s and around 50 s, with ordinary jitter.
FIVE_SECONDS = [4600, 4800, 5000, 5200, 5400, 4900, 5100, 5300, 4700, 5000] * 3
FIFTY_SECONDS = [46000, 48000, 50000, 52000, 54000, 49000, 51000, 53000, 47000, 50000] * 3


def test_a_40_second_answer_among_5_second_ones_is_an_anomaly():
    found = latency_anomaly(40_000, None, worker_history=FIVE_SECONDS, fleet_history=[], config=None)
    assert found is not None
    score, evidence = found
    assert score > DEFAULT_THRESHOLD_Z * 5  # far beyond the cut-off, not a near miss
    assert evidence["duration"]["ratio"] == 8.0
    assert evidence["reference"] == "worker"
    assert evidence["duration"]["median_ms"] == 5000
    assert evidence["duration"]["duration_ms"] == 40_000
    assert evidence["anomalous"] == ["duration"]


def test_a_40_second_answer_among_50_second_ones_is_not():
    assert latency_anomaly(40_000, None, worker_history=FIFTY_SECONDS, fleet_history=[], config=None) is None


def test_a_usual_answer_is_not_an_anomaly():
    assert latency_anomaly(5_600, None, worker_history=FIVE_SECONDS, fleet_history=[], config=None) is None


def test_a_constant_history_does_not_flag_a_one_millisecond_difference():
    constant = [5000] * 30
    assert robust_log(constant, floor_ms=100, floor_share=0.05).mad == 0  # without a floor: a division by zero
    assert latency_anomaly(5001, None, worker_history=constant, fleet_history=[], config=None) is None
    assert latency_anomaly(5300, None, worker_history=constant, fleet_history=[], config=None) is None
    assert latency_anomaly(40_000, None, worker_history=constant, fleet_history=[], config=None) is not None


def test_the_floor_scales_with_the_median():
    # The 5% floor: 52 s after a constant 50 s history is ordinary.
    constant = [50_000] * 30
    assert latency_anomaly(52_000, None, worker_history=constant, fleet_history=[], config=None) is None


def test_the_fleet_history_stands_in_while_the_worker_has_too_few_points():
    own = [40_000] * (DEFAULT_MIN_HISTORY - 1)  # this worker is always slow, but has too little history
    found = latency_anomaly(40_000, None, worker_history=own, fleet_history=FIVE_SECONDS, config=None)
    assert found is not None and found[1]["reference"] == "fleet"
    assert found[1]["history"] == len(FIVE_SECONDS)


def test_the_workers_own_history_is_preferred_once_long_enough():
    own = [40_000 + 100 * (i % 5) for i in range(DEFAULT_MIN_HISTORY)]  # slow by nature: that is its normal
    assert latency_anomaly(40_000, None, worker_history=own, fleet_history=FIVE_SECONDS, config=None) is None


def test_too_little_history_anywhere_says_nothing():
    short = FIVE_SECONDS[: DEFAULT_MIN_HISTORY - 1]
    assert latency_anomaly(400_000, 50, worker_history=short, fleet_history=short, config=None) is None
    assert latency_anomaly(400_000, None, worker_history=[], fleet_history=[], config=None) is None


def test_many_retries_where_none_is_usual_is_an_anomaly_with_the_figures():
    retries = [0] * 25 + [1] * 5
    found = latency_anomaly(5000, 9, worker_history=FIVE_SECONDS, fleet_history=[], config=None, worker_retries=retries)
    assert found is not None
    score, evidence = found
    assert evidence["anomalous"] == ["retries"]
    assert evidence["retries"]["retries"] == 9 and evidence["retries"]["median"] == 0
    assert score == pytest.approx(0.6745 * 9 / 1, abs=1e-3)  # the floor of one retry
    # One retry more than usual is not.
    assert (
        latency_anomaly(5000, 2, worker_history=FIVE_SECONDS, fleet_history=[], config=None, worker_retries=retries)
        is None
    )


def test_a_slow_answer_with_many_retries_names_both_and_scores_the_larger():
    found = latency_anomaly(
        40_000, 9, worker_history=FIVE_SECONDS, fleet_history=[], config=None, worker_retries=[0] * 30
    )
    assert found is not None
    score, evidence = found
    assert evidence["anomalous"] == ["duration", "retries"]
    assert evidence["duration"]["z"] > evidence["retries"]["z"] > DEFAULT_THRESHOLD_Z
    assert score == pytest.approx(evidence["duration"]["z"], abs=0.01)


def test_a_missing_duration_is_not_judged():
    assert latency_anomaly(0, None, worker_history=FIVE_SECONDS, fleet_history=[], config=None) is None


def test_the_threshold_is_the_settings_number_or_the_default():
    # 7 s among 5 s ones: z = 0.6745 * ln(1.4) / ln(1.05) ~ 4.7, above 3.5 and below 6.
    assert latency_anomaly(7000, None, worker_history=FIVE_SECONDS, fleet_history=[], config=None) is not None
    assert latency_anomaly(7000, None, worker_history=FIVE_SECONDS, fleet_history=[], config=6.0) is None
    assert latency_config(None) == LatencyConfig()
    assert latency_config(6).threshold_z == 6.0
    with pytest.raises(ValueError):
        LatencyConfig(threshold_z=-1)
    assert latency_anomaly(5100, None, worker_history=FIVE_SECONDS, fleet_history=[], config=0) is not None


def _report(duration_ms: int, history: LatencyHistory | None) -> DetectorInput:
    return DetectorInput(facts=ReportFacts(duration_ms=duration_ms), capability="code", latency_history=history)


def test_the_registry_entry_finds_the_slow_answer_with_its_name_version_and_evidence():
    history = LatencyHistory(worker=FIVE_SECONDS, worker_retries=[0] * 30)
    (finding,) = latency_detector(_report(40_000, history), DetectorConfig(threshold=None))
    assert (finding.detector, finding.version, finding.violation_type) == (NAME, LATENCY_VERSION, VIOLATION_TYPE)
    assert finding.score > DEFAULT_THRESHOLD_Z and finding.evidence["reference"] == "worker"
    assert latency_detector(_report(40_000, LatencyHistory(worker=FIFTY_SECONDS)), DetectorConfig()) == []


def test_the_registry_entry_says_nothing_without_history_and_takes_the_directors_threshold():
    assert latency_detector(_report(40_000, None), DetectorConfig()) == []
    history = LatencyHistory(fleet=FIVE_SECONDS)
    assert latency_detector(_report(7000, history), DetectorConfig(threshold=None)) != []
    assert latency_detector(_report(7000, history), DetectorConfig(threshold=6.0)) == []


def test_a_long_right_tail_is_normal_for_work_that_has_one():
    # Durations spread by a share of themselves: 30 s is three times the median, and this work does that.
    tail = [4000, 6000, 8000, 10000, 12000, 15000, 20000, 25000, 30000, 9000] * 3
    assert latency_anomaly(30_000, None, worker_history=tail, fleet_history=[], config=None) is None
    assert latency_anomaly(200_000, None, worker_history=tail, fleet_history=[], config=None) is not None
