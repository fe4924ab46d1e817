"""HR's disciplinary ladder, step by step, without a database."""

from datetime import UTC, datetime, timedelta

import pytest

from governance.domain.detection import Violation
from governance.domain.ladder import (
    DEFAULT_POLICIES,
    LadderConfig,
    PolicyRule,
    PriorAction,
    PriorViolation,
    active_count,
    decide,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)

HALLUCINATION = Violation("hallucination", 3)
TIMEOUT = Violation("timeout", 2)
SCOPE_DRIFT = Violation("scope_drift", 2)
FORMAT = Violation("format_violation", 1)


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def run(violations, *, violation_record=(), action_record=(), status="ACTIVE", **kwargs):
    return decide(
        violations=violations,
        violation_record=list(violation_record),
        action_record=list(action_record),
        status=status,
        now=NOW,
        **kwargs,
    )


# Step 1: each violation gets its policy's action.


@pytest.mark.parametrize(
    ("violation", "action"),
    [(HALLUCINATION, "STRIKE"), (TIMEOUT, "WARNING"), (SCOPE_DRIFT, "WARNING"), (FORMAT, "WARNING")],
)
def test_a_first_offense_gets_its_policy_action(violation, action):
    decision = run([violation])
    assert decision.actions == [action]
    assert decision.severity == violation.severity
    assert decision.violations == [violation]


def test_a_repeat_offense_violation_reported_directly_suspends():
    decision = run([Violation("repeat_offense", 4)])
    assert decision.actions == ["SUSPEND"]
    assert decision.severity == 4


def test_the_default_policies_are_the_issues_table():
    assert {k: (p.severity, p.action) for k, p in DEFAULT_POLICIES.items()} == {
        "hallucination": (3, "STRIKE"),
        "timeout": (2, "WARNING"),
        "scope_drift": (2, "WARNING"),
        "format_violation": (1, "WARNING"),
        "repeat_offense": (4, "SUSPEND"),
    }


def test_no_violation_means_no_action_and_severity_zero():
    decision = run([])
    assert decision.actions == []
    assert decision.severity == 0
    assert decision.reasons == {}


def test_a_violation_without_a_policy_gets_no_action():
    decision = run([Violation("rudeness", 1)])
    assert decision.actions == []
    assert decision.severity == 1


def test_a_violation_type_whose_policy_was_removed_gets_no_action():
    policies = {k: v for k, v in DEFAULT_POLICIES.items() if k != "timeout"}
    assert run([TIMEOUT], policies=policies).actions == []


def test_an_edited_policy_changes_the_action():
    policies = dict(DEFAULT_POLICIES, timeout=PolicyRule("timeout", 2, "STRIKE"))
    assert run([TIMEOUT], policies=policies).actions == ["STRIKE"]


# Step 2: the same type within the repeat window adds repeat_offense and SUSPEND.


@pytest.mark.parametrize("violation", [TIMEOUT, SCOPE_DRIFT, FORMAT, HALLUCINATION])
def test_the_same_type_again_within_ninety_days_suspends(violation):
    decision = run([violation], violation_record=[PriorViolation(violation.type, days_ago(30))])
    assert "SUSPEND" in decision.actions
    assert Violation("repeat_offense", 4) in decision.violations
    assert decision.severity == 4


def test_a_repeated_scope_drift_warns_and_suspends():
    decision = run([SCOPE_DRIFT], violation_record=[PriorViolation("scope_drift", days_ago(89))])
    assert decision.actions == ["WARNING", "SUSPEND"]
    assert decision.violations == [SCOPE_DRIFT, Violation("repeat_offense", 4)]


def test_the_same_type_ninety_one_days_ago_is_not_a_repeat_offense():
    decision = run([SCOPE_DRIFT], violation_record=[PriorViolation("scope_drift", days_ago(91))])
    assert decision.actions == ["WARNING"]
    assert decision.violations == [SCOPE_DRIFT]
    assert decision.severity == 2


def test_a_different_type_within_ninety_days_is_not_a_repeat_offense():
    decision = run([TIMEOUT], violation_record=[PriorViolation("scope_drift", days_ago(1))])
    assert decision.actions == ["WARNING"]
    assert decision.severity == 2


def test_the_repeat_window_is_configurable():
    record = [PriorViolation("timeout", days_ago(20))]
    assert "SUSPEND" in run([TIMEOUT], violation_record=record).actions
    short = LadderConfig(repeat_window=timedelta(days=14))
    assert "SUSPEND" not in run([TIMEOUT], violation_record=record, config=short).actions


def test_two_repeated_types_add_repeat_offense_only_once():
    record = [PriorViolation("timeout", days_ago(2)), PriorViolation("scope_drift", days_ago(3))]
    decision = run([TIMEOUT, SCOPE_DRIFT], violation_record=record)
    assert decision.actions == ["WARNING", "SUSPEND"]
    assert [v.type for v in decision.violations].count("repeat_offense") == 1


def test_a_repeat_offense_reported_directly_is_not_added_a_second_time():
    record = [PriorViolation("timeout", days_ago(2))]
    decision = run([Violation("repeat_offense", 4), TIMEOUT], violation_record=record)
    assert [v.type for v in decision.violations].count("repeat_offense") == 1
    assert decision.actions == ["WARNING", "SUSPEND"]


def test_without_a_repeat_offense_policy_a_repeat_adds_nothing():
    policies = {k: v for k, v in DEFAULT_POLICIES.items() if k != "repeat_offense"}
    decision = run([TIMEOUT], violation_record=[PriorViolation("timeout", days_ago(2))], policies=policies)
    assert decision.actions == ["WARNING"]
    assert decision.violations == [TIMEOUT]
    assert decision.severity == 2


# Step 3: the record already holding 3 or more of the same type terminates.


def test_a_record_with_three_of_the_same_type_still_active_terminates():
    # Hallucinations earn strikes, which stay active 180 days: these three still count, past the repeat window.
    record = [PriorViolation("hallucination", days_ago(d)) for d in (100, 120, 150)]
    decision = run([HALLUCINATION], violation_record=record)
    assert decision.actions == ["STRIKE", "TERMINATE"]


def test_expired_warnings_count_toward_no_termination():
    # Scope drift on days 0, 95, 190 and 285: each warning had expired (90 days) before the next offence.
    record = [PriorViolation("scope_drift", days_ago(d)) for d in (95, 190, 285)]
    assert run([SCOPE_DRIFT], violation_record=record).actions == ["WARNING"]


def test_an_offence_on_a_task_in_flight_at_the_last_sanction_is_the_same_step():
    told = days_ago(0.01)
    decision = run(
        [HALLUCINATION],
        violation_record=[PriorViolation("hallucination", told)],
        action_record=[PriorAction("STRIKE", told)],
        assigned_at=told - timedelta(minutes=5),
    )
    assert decision.actions == []
    assert decision.same_step
    assert decision.severity == 3


def test_an_offence_on_a_task_given_after_the_last_sanction_escalates():
    told = days_ago(0.01)
    decision = run(
        [HALLUCINATION],
        violation_record=[PriorViolation("hallucination", told)],
        action_record=[PriorAction("STRIKE", told)],
        assigned_at=told + timedelta(minutes=5),
    )
    assert decision.actions == ["STRIKE", "SUSPEND"]
    assert not decision.same_step


def test_an_overturned_sanction_does_not_make_later_offences_the_same_step():
    # The caller leaves overturned actions out of the record: with none standing, the worker was never told.
    decision = run([HALLUCINATION], action_record=[], assigned_at=days_ago(1))
    assert decision.actions == ["STRIKE"]


def test_a_record_with_two_of_the_same_type_does_not_terminate():
    record = [PriorViolation("format_violation", days_ago(d)) for d in (200, 250)]
    assert run([FORMAT], violation_record=record).actions == ["WARNING"]


def test_a_record_with_three_of_another_type_does_not_terminate():
    record = [PriorViolation("timeout", days_ago(d)) for d in (200, 250, 300)]
    assert run([FORMAT], violation_record=record).actions == ["WARNING"]


def test_three_recent_of_the_same_type_suspend_and_terminate():
    record = [PriorViolation("timeout", days_ago(d)) for d in (1, 2, 3)]
    assert run([TIMEOUT], violation_record=record).actions == ["WARNING", "SUSPEND", "TERMINATE"]


def test_the_terminate_count_is_configurable():
    record = [PriorViolation("hallucination", days_ago(d)) for d in (100, 150)]
    config = LadderConfig(repeat_terminate_count=2)
    assert "TERMINATE" in run([HALLUCINATION], violation_record=record, config=config).actions


# Step 4: three active strikes, counting the new one, terminate.


def test_third_hallucination_strike_terminates_the_worker():
    strikes = [PriorAction("STRIKE", days_ago(10)), PriorAction("STRIKE", days_ago(100))]
    decision = run([HALLUCINATION], action_record=strikes)
    assert decision.actions == ["STRIKE", "TERMINATE"]
    assert decision.reasons["TERMINATE"] == "3 active strikes"


def test_a_second_strike_does_not_terminate():
    decision = run([HALLUCINATION], action_record=[PriorAction("STRIKE", days_ago(10))])
    assert decision.actions == ["STRIKE"]


def test_a_strike_older_than_one_hundred_eighty_days_does_not_count():
    strikes = [PriorAction("STRIKE", days_ago(10)), PriorAction("STRIKE", days_ago(181))]
    assert run([HALLUCINATION], action_record=strikes).actions == ["STRIKE"]


def test_a_strike_just_inside_one_hundred_eighty_days_still_counts():
    strikes = [PriorAction("STRIKE", days_ago(10)), PriorAction("STRIKE", days_ago(179))]
    assert "TERMINATE" in run([HALLUCINATION], action_record=strikes).actions


def test_other_actions_on_record_are_not_strikes():
    record = [
        PriorAction("WARNING", days_ago(1)),
        PriorAction("SUSPEND", days_ago(2)),
        PriorAction("STRIKE", days_ago(3)),
    ]
    assert run([HALLUCINATION], action_record=record).actions == ["STRIKE"]


def test_active_strikes_only_count_when_the_new_violation_earns_a_strike():
    strikes = [PriorAction("STRIKE", days_ago(10)), PriorAction("STRIKE", days_ago(20))]
    assert run([TIMEOUT], action_record=strikes).actions == ["WARNING"]


def test_the_strike_count_and_window_are_configurable():
    strikes = [PriorAction("STRIKE", days_ago(40))]
    config = LadderConfig(strikes_to_terminate=2, strike_active=timedelta(days=30))
    assert run([HALLUCINATION], action_record=strikes, config=config).actions == ["STRIKE"]
    config = LadderConfig(strikes_to_terminate=2, strike_active=timedelta(days=60))
    assert run([HALLUCINATION], action_record=strikes, config=config).actions == ["STRIKE", "TERMINATE"]


def test_active_count_counts_only_that_action_inside_its_window():
    record = [
        PriorAction("WARNING", days_ago(10)),
        PriorAction("WARNING", days_ago(89)),
        PriorAction("WARNING", days_ago(91)),
        PriorAction("STRIKE", days_ago(1)),
    ]
    assert active_count(record, "WARNING", timedelta(days=90), NOW) == 2
    assert active_count(record, "STRIKE", timedelta(days=180), NOW) == 1
    assert active_count([], "STRIKE", timedelta(days=180), NOW) == 0


# Step 5: a worker on probation who earns a strike is terminated.


def test_a_strike_on_probation_terminates_the_worker():
    decision = run([HALLUCINATION], status="PROBATION")
    assert decision.actions == ["STRIKE", "TERMINATE"]
    assert decision.reasons["TERMINATE"] == "strike while on probation"


def test_a_warning_on_probation_does_not_terminate():
    assert run([TIMEOUT], status="PROBATION").actions == ["WARNING"]


@pytest.mark.parametrize("status", ["ACTIVE", "COOLDOWN"])
def test_a_single_strike_off_probation_does_not_terminate(status):
    assert run([HALLUCINATION], status=status).actions == ["STRIKE"]


# Step 6: the incident's severity is the highest, repeat offense included.


def test_the_severity_is_the_highest_among_the_violations():
    assert run([FORMAT, TIMEOUT]).severity == 2
    assert run([FORMAT, HALLUCINATION, TIMEOUT]).severity == 3


def test_a_repeat_offense_raises_the_severity_to_four():
    decision = run([FORMAT], violation_record=[PriorViolation("format_violation", days_ago(5))])
    assert decision.severity == 4


# Deduplication, ordering and reasons.


def test_actions_are_deduplicated():
    decision = run([TIMEOUT, SCOPE_DRIFT, FORMAT])
    assert decision.actions == ["WARNING"]


def test_actions_are_listed_mildest_first():
    record = [PriorViolation("hallucination", days_ago(d)) for d in (1, 2, 3)]
    decision = run([TIMEOUT, HALLUCINATION], violation_record=record, status="PROBATION")
    assert decision.actions == ["WARNING", "STRIKE", "SUSPEND", "TERMINATE"]


def test_an_action_outside_the_known_order_comes_last():
    policies = dict(DEFAULT_POLICIES, format_violation=PolicyRule("format_violation", 1, "NOTE"))
    assert run([FORMAT, HALLUCINATION], policies=policies).actions == ["STRIKE", "NOTE"]


def test_every_action_has_a_reason_naming_what_caused_it():
    record = [PriorViolation("timeout", days_ago(1))]
    decision = run([TIMEOUT], violation_record=record)
    assert list(decision.reasons) == decision.actions
    assert decision.reasons["WARNING"] == "timeout (severity 2): policy"
    assert decision.reasons["SUSPEND"] == "repeat timeout within 90 days"


def test_the_first_reason_for_an_action_is_kept():
    decision = run([TIMEOUT, SCOPE_DRIFT])
    assert decision.reasons == {"WARNING": "timeout (severity 2): policy"}


def test_the_callers_violation_list_is_not_mutated():
    violations = [TIMEOUT]
    run(violations, violation_record=[PriorViolation("timeout", days_ago(1))])
    assert violations == [TIMEOUT]
