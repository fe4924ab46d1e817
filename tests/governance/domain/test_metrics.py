"""The Accountant's metric mapping (docs/metrics.md), without a database."""

from decimal import Decimal

import pytest

from governance.domain.metrics import NEUTRAL, ReportSample, compute_metrics
from governance.domain.scoring import NONE, calculate_score, determine_action, update_reputation

TIMEOUT_MS = 60_000
DIMENSIONS = {"accuracy", "productivity", "consistency", "discipline", "confidence", "initiative"}


def metrics(*samples: ReportSample, recent_scores=()) -> dict:
    return compute_metrics(samples, timeout_ms=TIMEOUT_MS, recent_scores=recent_scores)


def the_rest_are_neutral(result: dict, *measured: str) -> None:
    assert {name: result[name] for name in DIMENSIONS - set(measured)} == dict.fromkeys(
        DIMENSIONS - set(measured), Decimal(50)
    )


# --- Nothing measured -------------------------------------------------------------------------------------


def test_a_worker_with_no_reports_scores_the_neutral_fifty_on_every_dimension():
    assert metrics() == dict.fromkeys(DIMENSIONS, Decimal(50))
    assert NEUTRAL == Decimal(50)


def test_a_report_that_measured_nothing_leaves_all_but_discipline_neutral():
    result = metrics(ReportSample())

    assert result["discipline"] == Decimal(100)  # it was clean, and that much was measured
    the_rest_are_neutral(result, "discipline")


def test_the_neutral_score_is_a_middling_score_that_neither_promotes_nor_warns():
    assert calculate_score(metrics(), []) == 50
    assert determine_action(update_reputation(60, 50)) == NONE


# --- Each dimension ---------------------------------------------------------------------------------------


def test_accuracy_is_the_mean_test_pass_rate_times_one_hundred():
    result = metrics(ReportSample(test_pass_rate=0.9), ReportSample(test_pass_rate=0.6), ReportSample())

    assert result["accuracy"] == Decimal("75.00")  # the report without a pass rate is not a zero


def test_productivity_is_the_share_of_the_timeout_left_unused():
    result = metrics(ReportSample(duration_ms=15_000), ReportSample(duration_ms=45_000))

    assert result["productivity"] == Decimal("50.00")  # (75 + 25) / 2


def test_productivity_is_zero_at_or_past_the_timeout_never_negative():
    assert metrics(ReportSample(duration_ms=TIMEOUT_MS))["productivity"] == Decimal(0)
    assert metrics(ReportSample(duration_ms=10 * TIMEOUT_MS))["productivity"] == Decimal(0)


def test_a_duration_of_zero_means_productivity_was_not_measured():
    assert metrics(ReportSample(duration_ms=0))["productivity"] == Decimal(50)
    assert metrics(ReportSample(duration_ms=0), ReportSample(duration_ms=30_000))["productivity"] == Decimal(50)
    assert metrics(ReportSample(duration_ms=0), ReportSample(duration_ms=6_000))["productivity"] == Decimal(90)


def test_productivity_follows_the_configured_timeout():
    result = compute_metrics([ReportSample(duration_ms=30_000)], timeout_ms=120_000)

    assert result["productivity"] == Decimal(75)


def test_consistency_costs_fifteen_points_per_mean_retry():
    result = metrics(ReportSample(retries=0), ReportSample(retries=1), ReportSample(retries=2))

    assert result["consistency"] == Decimal(85)


def test_consistency_loses_the_population_spread_of_the_recent_scores():
    assert metrics(recent_scores=[62, 70])["consistency"] == Decimal(96)  # pstdev = 4
    assert metrics(recent_scores=[0, 1, 2])["consistency"] == Decimal("99.18")  # pstdev = 0.8164...


def test_consistency_needs_two_recent_scores_for_a_spread():
    assert metrics(recent_scores=[40])["consistency"] == Decimal(50)  # nothing measured: neutral
    assert metrics(ReportSample(retries=0), recent_scores=[40])["consistency"] == Decimal(100)


def test_reports_without_a_retry_count_do_not_count_as_zero_retries():
    result = metrics(ReportSample(retries=2), ReportSample(retries=None))

    assert result["consistency"] == Decimal(70)


def test_discipline_is_the_share_of_reports_the_auditor_found_clean():
    result = metrics(ReportSample(), ReportSample(violated=True), ReportSample(), ReportSample())

    assert result["discipline"] == Decimal(75)


def test_confidence_is_the_mean_confidence_the_worker_reported():
    result = metrics(ReportSample(confidence=0.7), ReportSample(confidence=0.8), ReportSample(confidence=None))

    assert result["confidence"] == Decimal(75)
    the_rest_are_neutral(result, "confidence", "discipline")


def test_initiative_is_the_mean_manager_satisfaction():
    result = metrics(ReportSample(manager_satisfaction=0.2), ReportSample(manager_satisfaction=0.4))

    assert result["initiative"] == Decimal(30)
    the_rest_are_neutral(result, "initiative", "discipline")


# --- Provider faults --------------------------------------------------------------------------------------


def test_provider_faults_are_left_out_of_every_dimension():
    own = [
        ReportSample(duration_ms=30_000, retries=1, test_pass_rate=0.5, manager_satisfaction=0.5, confidence=0.5),
        ReportSample(duration_ms=12_000, retries=0, test_pass_rate=1.0, manager_satisfaction=0.9, confidence=0.9),
    ]
    fault = ReportSample(
        duration_ms=100,
        retries=9,
        test_pass_rate=0.0,
        manager_satisfaction=0.0,
        confidence=0.0,
        violated=True,
        provider_fault=True,
    )

    assert metrics(*own, fault) == metrics(*own)


def test_a_window_of_only_provider_faults_is_neutral_throughout():
    fault = ReportSample(duration_ms=900, retries=3, test_pass_rate=0.1, confidence=0.1, provider_fault=True)

    assert metrics(fault, fault) == dict.fromkeys(DIMENSIONS, Decimal(50))


# --- Clamping and rounding ----------------------------------------------------------------------------------


def test_dimensions_are_clamped_to_zero_and_one_hundred():
    high = metrics(ReportSample(test_pass_rate=1.5, confidence=2.0, manager_satisfaction=1.01))
    assert high["accuracy"] == high["confidence"] == high["initiative"] == Decimal(100)

    low = metrics(ReportSample(retries=10, test_pass_rate=-0.5), recent_scores=[0, 100])
    assert low["consistency"] == Decimal(0)  # 100 - 150 - 50
    assert low["accuracy"] == Decimal(0)


def test_dimensions_are_decimals_rounded_to_hundredths():
    result = metrics(
        ReportSample(test_pass_rate=1.0), ReportSample(test_pass_rate=0.0), ReportSample(test_pass_rate=0.0)
    )

    assert result["accuracy"] == Decimal("33.33")
    for value in result.values():
        assert isinstance(value, Decimal)
        assert value.as_tuple().exponent == -2


@pytest.mark.parametrize(
    ("rate", "expected"),
    [(0.12345, "12.34"), (0.12355, "12.36"), (0.12346, "12.35"), (0.66665, "66.66")],
)
def test_rounding_to_hundredths_is_half_even(rate, expected):
    assert metrics(ReportSample(test_pass_rate=rate))["accuracy"] == Decimal(expected)


def test_float_measurements_are_read_by_their_decimal_text_not_their_binary_value():
    # 0.1 + 0.2 in floats is 0.30000000000000004; three reports of 0.1, 0.2 and 0.3 mean exactly 0.2.
    result = metrics(ReportSample(confidence=0.1), ReportSample(confidence=0.2), ReportSample(confidence=0.3))

    assert result["confidence"] == Decimal(20)


# --- The documented worked example --------------------------------------------------------------------------

WORKED_EXAMPLE = [
    ReportSample(duration_ms=12_000, retries=0, test_pass_rate=0.9, manager_satisfaction=0.8, confidence=0.7),
    ReportSample(duration_ms=30_000, retries=1, test_pass_rate=1.0, manager_satisfaction=0.9, confidence=0.8),
    ReportSample(
        duration_ms=70_000, retries=2, test_pass_rate=0.5, manager_satisfaction=0.4, confidence=0.9, violated=True
    ),
    ReportSample(duration_ms=500, provider_fault=True),
]


def test_the_documented_worked_example_scores_52():
    result = compute_metrics(WORKED_EXAMPLE, timeout_ms=TIMEOUT_MS, recent_scores=[62, 70])

    assert result == {
        "accuracy": Decimal("80.00"),
        "productivity": Decimal("43.33"),
        "consistency": Decimal("81.00"),
        "discipline": Decimal("66.67"),
        "confidence": Decimal("80.00"),
        "initiative": Decimal("70.00"),
    }
    score = calculate_score(result, ["timeout"])
    assert score == 52
    reputation = update_reputation(60, score)
    assert reputation == 57
    assert determine_action(reputation) == NONE


def test_the_worked_example_without_its_penalty_would_score_72():
    result = compute_metrics(WORKED_EXAMPLE, timeout_ms=TIMEOUT_MS, recent_scores=[62, 70])

    assert calculate_score(result, []) == 72  # 72.3665, truncated
