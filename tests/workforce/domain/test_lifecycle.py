"""What each action does to a Worker's tier, status and timers, without a database."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from aura_project.errors import DomainError
from workforce.domain.lifecycle import (
    DEFAULT_TIER_BUDGETS,
    LifecycleConfig,
    WorkerState,
    apply_action,
    effective_status,
    tier_down,
    tier_up,
    timer_expired,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(hours=24)


def worker(**kwargs) -> WorkerState:
    return WorkerState(**kwargs)


def senior(**kwargs) -> WorkerState:
    return WorkerState(
        tier="SENIOR", priority=3, budget=DEFAULT_TIER_BUDGETS["SENIOR"], runs_since_tier_change=7, **kwargs
    )


def act(state: WorkerState, action: str, **kwargs):
    return apply_action(state, action, now=NOW, **kwargs)


# Tiers.


@pytest.mark.parametrize(
    ("tier", "up", "down"),
    [
        ("JUNIOR", "MID", "JUNIOR"),
        ("MID", "SENIOR", "JUNIOR"),
        ("SENIOR", "PRINCIPAL", "MID"),
        ("PRINCIPAL", "PRINCIPAL", "SENIOR"),
    ],
)
def test_tiers_move_one_step_and_stop_at_the_ends(tier, up, down):
    assert tier_up(tier) == up
    assert tier_down(tier) == down


# PROMOTE.


@pytest.mark.parametrize(("tier", "promoted"), [("JUNIOR", "MID"), ("MID", "SENIOR"), ("SENIOR", "PRINCIPAL")])
def test_a_promotion_moves_one_tier_up_with_priority_and_the_tiers_budget(tier, promoted):
    effect = act(worker(tier=tier, priority=2, budget=DEFAULT_TIER_BUDGETS[tier], runs_since_tier_change=6), "PROMOTE")
    assert effect.state.tier == promoted
    assert effect.state.priority == 3
    assert effect.state.budget == DEFAULT_TIER_BUDGETS[promoted]
    assert effect.state.runs_since_tier_change == 0  # hiring and tier changes are not scored runs
    assert effect.state.status == "ACTIVE"
    assert effect.implied == ()


def test_a_principal_stays_principal_when_promoted():
    effect = act(worker(tier="PRINCIPAL", budget=8000, priority=4, runs_since_tier_change=9), "PROMOTE")
    assert effect.state.tier == "PRINCIPAL"
    assert effect.state.budget == DEFAULT_TIER_BUDGETS["PRINCIPAL"]
    assert effect.state.runs_since_tier_change == 9


def test_promoting_a_principal_does_not_creep_its_priority_up():
    effect = act(worker(tier="PRINCIPAL", budget=8000, priority=4), "PROMOTE")
    assert effect.state.priority == 4


def test_the_tier_budgets_are_configurable():
    config = LifecycleConfig(tier_budgets={"JUNIOR": 10, "MID": 20, "SENIOR": 30, "PRINCIPAL": 40})
    assert act(worker(), "PROMOTE", config=config).state.budget == 20


@pytest.mark.parametrize("status", ["SUSPENDED", "TERMINATED", "BLACKLISTED"])
def test_a_worker_out_of_service_is_not_promoted(status):
    state = worker(status=status)
    assert act(state, "PROMOTE").state == state


# WARNING and DEMOTE.


def test_a_warning_puts_a_junior_in_cooldown_for_one_hour_without_a_demotion():
    effect = act(worker(), "WARNING")
    assert effect.state.status == "COOLDOWN"
    assert effect.state.cooldown_until == NOW + HOUR
    assert effect.until == NOW + HOUR
    assert effect.state.tier == "JUNIOR"
    assert effect.implied == ()


@pytest.mark.parametrize(("tier", "demoted"), [("MID", "JUNIOR"), ("SENIOR", "MID"), ("PRINCIPAL", "SENIOR")])
def test_a_warning_above_junior_cools_down_and_implies_a_demotion(tier, demoted):
    effect = act(worker(tier=tier, priority=4, budget=DEFAULT_TIER_BUDGETS[tier], runs_since_tier_change=8), "WARNING")
    assert effect.state.status == "COOLDOWN"
    assert effect.state.cooldown_until == NOW + HOUR
    assert effect.state.tier == demoted
    assert effect.state.budget == DEFAULT_TIER_BUDGETS[demoted]
    assert effect.state.runs_since_tier_change == 0  # hiring and tier changes are not scored runs
    assert effect.implied == ("DEMOTE",)


def test_a_warning_on_probation_keeps_the_probation_and_sets_the_cooldown_timer():
    effect = act(worker(status="PROBATION"), "WARNING")
    assert effect.state.status == "PROBATION"
    assert effect.state.cooldown_until == NOW + HOUR


def test_a_warning_during_a_cooldown_restarts_the_hour():
    effect = act(worker(status="COOLDOWN", cooldown_until=NOW + timedelta(minutes=5)), "WARNING")
    assert effect.state.cooldown_until == NOW + HOUR


def test_the_cooldown_length_is_configurable():
    config = LifecycleConfig(cooldown=timedelta(minutes=15))
    assert act(worker(), "WARNING", config=config).state.cooldown_until == NOW + timedelta(minutes=15)


@pytest.mark.parametrize("status", ["SUSPENDED", "TERMINATED", "BLACKLISTED"])
def test_a_warning_does_nothing_to_a_worker_out_of_service(status):
    state = replace(senior(), status=status)
    effect = act(state, "WARNING")
    assert effect.state == state
    assert effect.implied == ()


def test_a_demotion_moves_one_tier_down_and_stops_at_junior():
    assert act(senior(), "DEMOTE").state.tier == "MID"
    assert act(worker(), "DEMOTE").state.tier == "JUNIOR"


# SUSPEND.


def test_a_suspension_lasts_twenty_four_hours():
    effect = act(worker(), "SUSPEND")
    assert effect.state.status == "SUSPENDED"
    assert effect.state.suspended_until == NOW + DAY
    assert effect.until == NOW + DAY


def test_the_suspension_length_is_configurable():
    config = LifecycleConfig(suspension=timedelta(hours=48))
    assert act(worker(), "SUSPEND", config=config).state.suspended_until == NOW + timedelta(hours=48)


@pytest.mark.parametrize("status", ["TERMINATED", "BLACKLISTED"])
def test_a_worker_who_is_gone_is_not_suspended(status):
    state = worker(status=status)
    assert act(state, "SUSPEND").state == state


# TERMINATE and BLACKLIST.


@pytest.mark.parametrize("status", ["ACTIVE", "COOLDOWN", "PROBATION", "SUSPENDED"])
def test_termination_disables_the_worker_and_clears_its_timers(status):
    state = worker(status=status, cooldown_until=NOW + HOUR, suspended_until=NOW + DAY)
    effect = act(state, "TERMINATE")
    assert effect.state.status == "TERMINATED"
    assert effect.state.cooldown_until is None
    assert effect.state.suspended_until is None


def test_a_blacklisted_worker_stays_blacklisted_when_terminated():
    state = worker(status="BLACKLISTED")
    assert act(state, "TERMINATE").state.status == "BLACKLISTED"


@pytest.mark.parametrize("status", ["ACTIVE", "COOLDOWN", "SUSPENDED", "TERMINATED"])
def test_a_blacklist_holds_whatever_the_status(status):
    effect = act(worker(status=status, cooldown_until=NOW + HOUR, suspended_until=NOW + DAY), "BLACKLIST")
    assert effect.state.status == "BLACKLISTED"
    assert effect.state.cooldown_until is None
    assert effect.state.suspended_until is None


# REHIRE.


def test_a_terminated_worker_is_rehired_as_a_junior_on_probation():
    state = replace(senior(), status="TERMINATED")
    effect = act(state, "REHIRE")
    assert effect.state.status == "PROBATION"
    assert effect.state.tier == "JUNIOR"
    assert effect.state.priority == 0
    assert effect.state.budget == DEFAULT_TIER_BUDGETS["JUNIOR"]
    assert effect.state.runs_since_tier_change == 0  # hiring and tier changes are not scored runs
    assert effect.state.cooldown_until is None
    assert effect.state.suspended_until is None


def test_a_blacklisted_worker_is_never_rehired():
    with pytest.raises(DomainError) as caught:
        act(worker(status="BLACKLISTED"), "REHIRE")
    assert caught.value.code == "blacklisted"
    assert caught.value.field == "model_id"


@pytest.mark.parametrize("status", ["ACTIVE", "COOLDOWN", "PROBATION", "SUSPENDED"])
def test_only_a_terminated_worker_can_be_rehired(status):
    with pytest.raises(DomainError) as caught:
        act(worker(status=status), "REHIRE")
    assert caught.value.code == "not_terminated"


# REINSTATE.


@pytest.mark.parametrize("status", ["COOLDOWN", "SUSPENDED"])
def test_reinstating_ends_a_cooldown_or_suspension_at_once(status):
    effect = act(worker(status=status, cooldown_until=NOW + HOUR, suspended_until=NOW + DAY), "REINSTATE")
    assert effect.state.status == "ACTIVE"
    assert effect.state.cooldown_until is None
    assert effect.state.suspended_until is None


@pytest.mark.parametrize("status", ["ACTIVE", "PROBATION", "TERMINATED", "BLACKLISTED"])
def test_reinstating_does_not_touch_other_statuses(status):
    state = worker(status=status)
    assert act(state, "REINSTATE").state == state


# Record-only and unknown actions.


@pytest.mark.parametrize("action", ["STRIKE", "NONE", "OVERTURN"])
def test_record_only_actions_leave_the_worker_as_it_was(action):
    state = senior()
    effect = act(state, action)
    assert effect.state == state
    assert effect.implied == ()
    assert effect.until is None


def test_an_unknown_action_is_refused():
    with pytest.raises(DomainError) as caught:
        act(worker(), "FIRE_INTO_THE_SUN")
    assert caught.value.field == "action"


def test_an_action_returns_a_new_state_and_leaves_the_old_one_alone():
    state = senior()
    act(state, "WARNING")
    assert state == senior()


# Effective status and expired timers.


def test_a_cooldown_whose_time_has_come_is_effectively_active():
    state = worker(status="COOLDOWN", cooldown_until=NOW)
    assert effective_status(state, NOW) == "ACTIVE"
    assert timer_expired(state, NOW)


def test_a_running_cooldown_still_holds():
    state = worker(status="COOLDOWN", cooldown_until=NOW + timedelta(seconds=1))
    assert effective_status(state, NOW) == "COOLDOWN"
    assert not timer_expired(state, NOW)


def test_a_suspension_whose_time_has_passed_is_effectively_active():
    state = worker(status="SUSPENDED", suspended_until=NOW - timedelta(seconds=1))
    assert effective_status(state, NOW) == "ACTIVE"
    assert timer_expired(state, NOW)


def test_a_running_suspension_still_holds():
    state = worker(status="SUSPENDED", suspended_until=NOW + HOUR)
    assert effective_status(state, NOW) == "SUSPENDED"
    assert not timer_expired(state, NOW)


@pytest.mark.parametrize("status", ["COOLDOWN", "SUSPENDED"])
def test_a_timer_status_without_an_end_holds_until_reinstated(status):
    state = worker(status=status)
    assert effective_status(state, NOW) == status
    assert not timer_expired(state, NOW)


def test_a_past_cooldown_timer_does_not_end_a_probation():
    state = worker(status="PROBATION", cooldown_until=NOW - HOUR)
    assert effective_status(state, NOW) == "PROBATION"
    assert not timer_expired(state, NOW)


@pytest.mark.parametrize("status", ["ACTIVE", "TERMINATED", "BLACKLISTED"])
def test_other_statuses_are_their_own_effective_status(status):
    state = worker(status=status, cooldown_until=NOW - HOUR, suspended_until=NOW - HOUR)
    assert effective_status(state, NOW) == status
    assert not timer_expired(state, NOW)


def test_a_warning_cooldown_ends_after_exactly_one_hour():
    state = act(worker(), "WARNING").state
    assert effective_status(state, NOW + HOUR - timedelta(seconds=1)) == "COOLDOWN"
    assert effective_status(state, NOW + HOUR) == "ACTIVE"


def test_a_suspension_ends_after_exactly_twenty_four_hours():
    state = act(worker(), "SUSPEND").state
    assert effective_status(state, NOW + DAY - timedelta(seconds=1)) == "SUSPENDED"
    assert effective_status(state, NOW + DAY) == "ACTIVE"
