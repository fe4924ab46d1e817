"""Regression tests for the three bugs in the seeds (batches 10 and 11).

Each seed function is kept here verbatim, and each test shows the seed's answer is wrong for the input
where ours is right, so the test is known to discriminate.
"""

from datetime import UTC, datetime, timedelta

import pytest

from governance.domain.detection import ReportFacts, Violation, detect_violations
from governance.domain.ladder import PriorViolation, decide
from governance.domain.scoring import calculate_score, determine_action

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


# --- The seeds, verbatim -------------------------------------------------------------------------------------


def seed_calculate_score(metrics: dict, penalties: list):
    score = 0

    for k, weight in metrics.items():
        score += weight * metrics[k]

    for p in penalties:
        score += penalties.get(p, 0)

    return max(min(int(score), 100), 0)


def seed_determine_action(score):
    if score >= 80:
        return "PROMOTE"
    if score < 50:
        return "WARNING"
    if score < 30:
        return "TERMINATE"
    return "NONE"


def seed_enforce(model_id, violations, history):
    actions = []

    for v, sev in violations:
        if sev >= 3:
            actions.append("STRIKE")
        if history.count(v) >= 3:
            actions.append("TERMINATE")

    return list(set(actions))


# --- (a) calculate_score weighs each metric by itself and calls .get on a list -----------------------------------

SIX_AT_40 = dict.fromkeys(("confidence", "consistency", "accuracy", "productivity", "initiative", "discipline"), 40)
SIX_AT_100 = dict.fromkeys(SIX_AT_40, 100)


def test_metrics_are_weighed_by_their_weights_not_by_themselves():
    assert seed_calculate_score(SIX_AT_40, []) == 100  # 6 x 40 x 40, clamped
    assert calculate_score(SIX_AT_40, []) == 40


def test_a_low_performer_is_not_scored_as_perfect():
    low = dict.fromkeys(SIX_AT_40, 10)
    assert seed_calculate_score(low, []) == 100  # 6 x 10 x 10 = 600, clamped
    assert calculate_score(low, []) == 10


def test_penalties_are_summed_from_the_table():
    with pytest.raises(AttributeError):
        seed_calculate_score(SIX_AT_100, ["hallucination"])
    assert calculate_score(SIX_AT_100, ["hallucination"]) == 70


def test_several_penalties_are_all_subtracted():
    with pytest.raises(AttributeError):
        seed_calculate_score(SIX_AT_100, ["timeout", "scope_drift"])
    assert calculate_score(SIX_AT_100, ["timeout", "scope_drift"]) == 65


# --- (b) determine_action tests < 50 before < 30, so TERMINATE never happens --------------------------------------


@pytest.mark.parametrize("reputation", [29, 15, 0])
def test_a_reputation_below_thirty_terminates(reputation):
    assert seed_determine_action(reputation) == "WARNING"
    assert determine_action(reputation) == "TERMINATE"


def test_the_seed_could_never_terminate_at_any_reputation():
    assert "TERMINATE" not in {seed_determine_action(r) for r in range(101)}
    assert {determine_action(r) for r in range(101)} == {"PROMOTE", "NONE", "WARNING", "TERMINATE"}


@pytest.mark.parametrize(("reputation", "action"), [(30, "WARNING"), (49, "WARNING"), (50, "NONE"), (80, "PROMOTE")])
def test_the_fix_keeps_the_seeds_answers_above_thirty(reputation, action):
    assert seed_determine_action(reputation) == action
    assert determine_action(reputation) == action


# --- (c) enforce ignores the WARNING policies and the repeat-offense SUSPEND ---------------------------------------


def ours(violations, history=()):
    return decide(
        violations=violations,
        violation_record=[PriorViolation(kind, at) for kind, at in history],
        action_record=[],
        status="ACTIVE",
        now=NOW,
    ).actions


def test_a_timeout_earns_a_warning():
    violations = detect_violations(ReportFacts(duration_ms=60001))
    assert seed_enforce("openai/gpt-4o", [(v.type, v.severity) for v in violations], []) == []
    assert ours(violations) == ["WARNING"]


@pytest.mark.parametrize("kind", ["scope_drift", "format_violation"])
def test_a_first_minor_violation_earns_a_warning(kind):
    violation = Violation(kind, 2 if kind == "scope_drift" else 1)
    assert seed_enforce("openai/gpt-4o", [(violation.type, violation.severity)], []) == []
    assert ours([violation]) == ["WARNING"]


def test_a_repeated_scope_drift_within_ninety_days_suspends():
    violation = Violation("scope_drift", 2)
    assert "SUSPEND" not in seed_enforce("openai/gpt-4o", [("scope_drift", 2)], ["scope_drift"])
    actions = ours([violation], history=[("scope_drift", NOW - timedelta(days=30))])
    assert "SUSPEND" in actions
    assert actions == ["WARNING", "SUSPEND"]


def test_what_the_seed_got_right_still_holds():
    hallucination = Violation("hallucination", 3)
    # Three strikes still active (180 days), though past the 90-day repeat window.
    history = [("hallucination", NOW - timedelta(days=d)) for d in (100, 120, 150)]
    seed = seed_enforce("openai/gpt-4o", [("hallucination", 3)], ["hallucination"] * 3)
    assert sorted(seed) == ["STRIKE", "TERMINATE"]
    assert ours([hallucination], history) == ["STRIKE", "TERMINATE"]
