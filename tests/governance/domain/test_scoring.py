"""The Accountant's score, reputation and action rules, without a database."""

import random
from decimal import Decimal
from fractions import Fraction

import pytest

from aura_project.errors import DomainError
from governance.domain.scoring import (
    DEFAULT_PENALTY_POINTS,
    DEFAULT_WEIGHTS,
    Thresholds,
    calculate_score,
    determine_action,
    promotion_allowed,
    update_reputation,
)

METRICS = tuple(DEFAULT_WEIGHTS)
EXACT_WEIGHTS = {
    "confidence": Fraction(25, 100),
    "consistency": Fraction(20, 100),
    "accuracy": Fraction(20, 100),
    "productivity": Fraction(15, 100),
    "initiative": Fraction(10, 100),
    "discipline": Fraction(10, 100),
}


def all_at(value) -> dict:
    return dict.fromkeys(METRICS, value)


def exact_score(metrics: dict, penalties=()) -> int:
    """The issue's formula in rational arithmetic: the reference the implementation must match."""
    total = sum(EXACT_WEIGHTS[k] * Fraction(str(v)) for k, v in metrics.items())
    total += sum(DEFAULT_PENALTY_POINTS[p] for p in penalties)
    return max(min(int(total), 100), 0)


def float_score(metrics: dict) -> int:
    """The same formula in floats, to show which inputs float error would move."""
    weights = {k: float(w) for k, w in EXACT_WEIGHTS.items()}
    return max(min(int(sum(weights[k] * float(v) for k, v in metrics.items())), 100), 0)


# The score.


def test_the_weights_and_penalties_are_the_issues_table():
    assert DEFAULT_WEIGHTS == {k: Decimal(str(float(w))) for k, w in EXACT_WEIGHTS.items()}
    assert sum(DEFAULT_WEIGHTS.values()) == 1
    assert DEFAULT_PENALTY_POINTS == {"hallucination": -30, "timeout": -20, "scope_drift": -15, "format_violation": -10}


def test_all_six_metrics_at_forty_score_exactly_forty():
    assert calculate_score(all_at(40), []) == 40


@pytest.mark.parametrize("value", range(0, 101))
def test_equal_metrics_score_their_own_value(value):
    assert calculate_score(all_at(value), []) == value


def test_a_mix_that_float_arithmetic_would_truncate_a_point_low_scores_exactly():
    metrics = dict(zip(METRICS, (7, 63, 91, 7, 63, 91), strict=True))  # exactly 49
    assert float_score(metrics) == 48
    assert calculate_score(metrics, []) == 49


def test_every_mix_that_float_arithmetic_gets_wrong_scores_exactly():
    grid = [
        dict(zip(METRICS, (a, b, c, a, b, c), strict=True))
        for a in range(0, 101, 7)
        for b in range(0, 101, 7)
        for c in range(0, 101, 7)
    ]
    moved_by_floats = [m for m in grid if float_score(m) != exact_score(m)]
    assert moved_by_floats, "the float formula should be wrong somewhere, or this test proves nothing"
    for metrics in moved_by_floats:
        assert calculate_score(metrics, []) == exact_score(metrics), metrics


def test_each_metric_is_weighed_by_its_own_weight():
    for name, weight in EXACT_WEIGHTS.items():
        metrics = dict(all_at(0), **{name: 100})
        assert calculate_score(metrics, []) == int(weight * 100)


def test_a_weighted_mix_of_metrics_is_summed():
    metrics = {
        "confidence": 100,
        "consistency": 50,
        "accuracy": 80,
        "productivity": 60,
        "initiative": 10,
        "discipline": 0,
    }
    # 25 + 10 + 16 + 9 + 1 + 0
    assert calculate_score(metrics, []) == 61


def test_the_score_is_truncated_not_rounded():
    metrics = dict(all_at(80), discipline="79.9")  # 80 - 0.01 = 79.99
    assert calculate_score(metrics, []) == 79


def test_a_score_just_short_of_the_next_integer_is_not_rounded_up_by_float_error():
    metrics = dict(all_at(0), confidence=Decimal("39.996"))  # 9.999
    assert calculate_score(metrics, []) == 9


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(0.1, 0), (40.4, 40), (Decimal("99.99"), 99), ("70.5", 70), ("0.1", 0)],
)
def test_decimal_metrics_given_as_floats_strings_or_decimals_score_exactly(raw, expected):
    assert calculate_score(all_at(raw), []) == expected


def test_random_decimal_metrics_match_rational_arithmetic():
    rng = random.Random(2025)
    penalty_names = list(DEFAULT_PENALTY_POINTS)
    for _ in range(2000):
        metrics = {k: round(rng.uniform(0, 100), rng.choice([0, 1, 2, 3])) for k in METRICS}
        penalties = rng.sample(penalty_names, rng.randint(0, 2))
        assert calculate_score(metrics, penalties) == exact_score(metrics, penalties), (metrics, penalties)


@pytest.mark.parametrize(("penalty", "points"), sorted(DEFAULT_PENALTY_POINTS.items()))
def test_each_penalty_subtracts_its_points(penalty, points):
    assert calculate_score(all_at(100), [penalty]) == 100 + points


def test_a_hallucination_takes_thirty_points_off_a_perfect_run():
    assert calculate_score(all_at(100), ["hallucination"]) == 70


def test_penalties_add_up_and_each_occurrence_counts():
    assert calculate_score(all_at(100), ["timeout", "format_violation"]) == 70
    assert calculate_score(all_at(100), ["timeout", "timeout"]) == 60


def test_the_score_is_clamped_at_zero():
    assert calculate_score(all_at(10), ["hallucination"]) == 0
    assert calculate_score(all_at(0), list(DEFAULT_PENALTY_POINTS)) == 0


def test_a_negative_fractional_total_is_clamped_at_zero():
    metrics = dict(all_at(0), confidence=Decimal("78"))  # 19.5 - 20 = -0.5
    assert calculate_score(metrics, ["timeout"]) == 0


def test_the_score_is_clamped_at_one_hundred():
    weights = {"confidence": Decimal(2)}
    assert calculate_score({"confidence": 80}, [], weights=weights) == 100


def test_weights_and_penalty_points_are_configurable():
    weights = {"accuracy": Decimal("0.5"), "discipline": Decimal("0.5")}
    assert (
        calculate_score(
            {"accuracy": 90, "discipline": 70}, ["lateness"], weights=weights, penalty_points={"lateness": -5}
        )
        == 75
    )


@pytest.mark.parametrize("missing", METRICS)
def test_a_missing_metric_is_refused_naming_it(missing):
    metrics = all_at(50)
    del metrics[missing]
    with pytest.raises(DomainError) as caught:
        calculate_score(metrics, [])
    assert caught.value.field == f"metrics.{missing}"


@pytest.mark.parametrize("value", [-1, -0.01, "100.01", 101, 1000])
def test_a_metric_outside_zero_to_one_hundred_is_refused(value):
    with pytest.raises(DomainError) as caught:
        calculate_score(dict(all_at(50), accuracy=value), [])
    assert caught.value.field == "metrics.accuracy"


@pytest.mark.parametrize("value", [0, 100, "0.0", Decimal("100.00")])
def test_the_ends_of_the_metric_range_are_accepted(value):
    calculate_score(all_at(value), [])


@pytest.mark.parametrize("value", [None, "high", True, False, float("nan"), float("inf"), "Infinity", [40]])
def test_a_metric_that_is_not_a_finite_number_is_refused(value):
    with pytest.raises(DomainError) as caught:
        calculate_score(dict(all_at(50), initiative=value), [])
    assert caught.value.field == "metrics.initiative"


def test_an_unknown_metric_is_refused_naming_it():
    with pytest.raises(DomainError) as caught:
        calculate_score(dict(all_at(50), charisma=90), [])
    assert caught.value.field == "metrics.charisma"


def test_an_unknown_penalty_is_refused_naming_the_penalties_field():
    with pytest.raises(DomainError) as caught:
        calculate_score(all_at(50), ["timeout", "rudeness"])
    assert caught.value.field == "penalties"
    assert "rudeness" in caught.value.message


# Reputation.


def test_reputation_is_exactly_int_of_the_seventy_thirty_blend_over_the_whole_grid():
    for old in range(101):
        for new in range(101):
            assert update_reputation(old, new) == int(Fraction(7, 10) * old + Fraction(3, 10) * new), (old, new)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [(60, 60, 60), (60, 100, 72), (60, 0, 42), (100, 0, 70), (0, 100, 30), (33, 77, 46), (90, 95, 91), (1, 1, 1)],
)
def test_reputation_examples(old, new, expected):
    assert update_reputation(old, new) == expected


def test_reputation_is_not_moved_by_float_error():
    moved = [
        (old, new)
        for old in range(101)
        for new in range(101)
        if int(old * 0.7 + new * 0.3) != int(Fraction(7, 10) * old + Fraction(3, 10) * new)
    ]
    assert moved, "the float formula should be wrong somewhere, or this test proves nothing"
    for old, new in moved:
        assert update_reputation(old, new) == int(Fraction(7, 10) * old + Fraction(3, 10) * new)


def test_the_weight_of_the_new_score_is_configurable():
    assert update_reputation(60, 100, new_weight_pct=50) == 80
    assert update_reputation(61, 0, new_weight_pct=50) == 30


# The action from the reputation.


@pytest.mark.parametrize(
    ("reputation", "action"),
    [
        (100, "PROMOTE"),
        (80, "PROMOTE"),
        (79, "NONE"),
        (50, "NONE"),
        (49, "WARNING"),
        (30, "WARNING"),
        (29, "TERMINATE"),
        (0, "TERMINATE"),
    ],
)
def test_the_action_follows_the_reputation_thresholds(reputation, action):
    assert determine_action(reputation) == action


def test_the_thresholds_are_configurable():
    thresholds = Thresholds(promotion=90, warning=60, termination=40)
    assert determine_action(89, thresholds) == "NONE"
    assert determine_action(90, thresholds) == "PROMOTE"
    assert determine_action(59, thresholds) == "WARNING"
    assert determine_action(39, thresholds) == "TERMINATE"


# Promotion eligibility.


@pytest.mark.parametrize(("runs", "allowed"), [(0, False), (1, False), (4, False), (5, True), (6, True), (50, True)])
def test_promotion_needs_five_scored_runs_since_the_last_tier_change(runs, allowed):
    assert promotion_allowed(runs_since_tier_change=runs, status="ACTIVE") is allowed


@pytest.mark.parametrize("status", ["COOLDOWN", "PROBATION"])
def test_a_worker_in_cooldown_or_on_probation_is_not_promoted(status):
    assert promotion_allowed(runs_since_tier_change=10, status=status) is False


def test_the_minimum_run_count_is_configurable():
    assert promotion_allowed(runs_since_tier_change=2, status="ACTIVE", min_runs=2) is True
    assert promotion_allowed(runs_since_tier_change=9, status="ACTIVE", min_runs=10) is False
