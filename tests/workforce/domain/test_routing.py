"""The Manager's routing choice and the provider-fault rule, without a database."""

from datetime import UTC, datetime, timedelta

import pytest

from workforce.domain.lifecycle import WorkerState
from workforce.domain.routing import Candidate, choose, eligible, provider_cooldown_due, rank

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def candidate(
    model_id, *, tier="MID", priority=0, reputation=60, load=0, status="ACTIVE", capabilities=("code",), **timers
):
    return Candidate(
        model_id=model_id,
        capabilities=tuple(capabilities),
        state=WorkerState(status=status, tier=tier, priority=priority, **timers),
        reputation=reputation,
        open_assignments=load,
    )


def ids(candidates) -> list[str]:
    return [c.model_id for c in candidates]


def route(candidates, *, capability="code", priority=5, failed=()):
    return rank(candidates, capability=capability, priority=priority, now=NOW, failed=failed)


# Who is eligible.


def test_only_workers_with_the_needed_capability_are_considered():
    pool = [candidate("coder", capabilities=("code", "review")), candidate("writer", capabilities=("prose",))]
    assert ids(route(pool, capability="code")) == ["coder"]
    assert ids(route(pool, capability="prose")) == ["writer"]
    assert ids(route(pool, capability="review")) == ["coder"]


@pytest.mark.parametrize("status", ["SUSPENDED", "TERMINATED", "BLACKLISTED"])
@pytest.mark.parametrize("priority", [1, 3, 4, 10])
def test_workers_out_of_service_are_never_routed(status, priority):
    pool = [candidate("out", status=status, suspended_until=NOW + HOUR), candidate("ok", tier="JUNIOR")]
    assert ids(route(pool, priority=priority)) == ["ok"]


def test_a_worker_that_already_failed_the_task_is_dropped():
    pool = [candidate("failed-once", tier="PRINCIPAL"), candidate("fresh", tier="JUNIOR")]
    assert ids(route(pool, failed=["failed-once"])) == ["fresh"]


def test_several_failed_workers_are_all_dropped():
    pool = [candidate("a"), candidate("b"), candidate("c")]
    assert ids(route(pool, failed=("a", "c"))) == ["b"]
    assert choose(pool, capability="code", priority=5, now=NOW, failed={"a", "b", "c"}) is None


@pytest.mark.parametrize("status", ["COOLDOWN", "PROBATION"])
@pytest.mark.parametrize("priority", [4, 5, 10])
def test_cooldown_and_probation_workers_are_dropped_above_low_priority(status, priority):
    pool = [candidate("restricted", status=status, tier="PRINCIPAL", cooldown_until=NOW + HOUR)]
    assert route(pool, priority=priority) == []


@pytest.mark.parametrize("status", ["COOLDOWN", "PROBATION"])
@pytest.mark.parametrize("priority", [1, 2, 3])
def test_cooldown_and_probation_workers_still_take_low_priority_tasks(status, priority):
    pool = [candidate("restricted", status=status, cooldown_until=NOW + HOUR)]
    assert ids(route(pool, priority=priority)) == ["restricted"]


def test_an_expired_cooldown_counts_as_active_for_high_priority_work():
    pool = [candidate("rested", status="COOLDOWN", cooldown_until=NOW - timedelta(seconds=1))]
    assert ids(route(pool, priority=10)) == ["rested"]


def test_a_cooldown_ending_exactly_now_counts_as_active():
    pool = [candidate("rested", status="COOLDOWN", cooldown_until=NOW)]
    assert ids(route(pool, priority=10)) == ["rested"]


def test_an_expired_suspension_counts_as_active():
    pool = [candidate("back", status="SUSPENDED", suspended_until=NOW - HOUR)]
    assert ids(route(pool, priority=10)) == ["back"]


def test_the_eligibility_rule_on_its_own():
    worker = candidate("w", status="COOLDOWN", cooldown_until=NOW + HOUR)
    assert eligible(worker, capability="code", priority=3, failed=frozenset(), now=NOW)
    assert not eligible(worker, capability="code", priority=4, failed=frozenset(), now=NOW)
    assert not eligible(worker, capability="code", priority=3, failed=frozenset({"w"}), now=NOW)
    assert not eligible(worker, capability="prose", priority=3, failed=frozenset(), now=NOW)


# Ranking.


def test_the_higher_tier_wins_over_priority_reputation_and_load():
    pool = [
        candidate("mid", tier="MID", priority=9, reputation=100, load=0),
        candidate("senior", tier="SENIOR", priority=0, reputation=30, load=9),
        candidate("junior", tier="JUNIOR", priority=9, reputation=100, load=0),
        candidate("principal", tier="PRINCIPAL", priority=0, reputation=30, load=20),
    ]
    assert ids(route(pool)) == ["principal", "senior", "mid", "junior"]


def test_within_a_tier_the_higher_priority_wins_over_reputation_and_load():
    pool = [candidate("low", priority=1, reputation=99, load=0), candidate("high", priority=2, reputation=10, load=5)]
    assert ids(route(pool)) == ["high", "low"]


def test_with_equal_tier_and_priority_the_higher_reputation_wins_over_load():
    pool = [candidate("trusted", reputation=90, load=3), candidate("new", reputation=60, load=0)]
    assert ids(route(pool)) == ["trusted", "new"]


def test_with_all_else_equal_the_least_loaded_worker_wins():
    pool = [candidate("busy", load=4), candidate("idle", load=0), candidate("some", load=1)]
    assert ids(route(pool)) == ["idle", "some", "busy"]


def test_a_full_tie_is_broken_by_model_id_so_the_choice_is_stable():
    pool = [candidate("b/model"), candidate("a/model"), candidate("c/model")]
    assert ids(route(pool)) == ["a/model", "b/model", "c/model"]
    assert ids(route(list(reversed(pool)))) == ["a/model", "b/model", "c/model"]


def test_choose_returns_the_best_ranked_worker():
    pool = [
        candidate("second", reputation=70),
        candidate("first", reputation=80),
        candidate("other", capabilities=("prose",)),
    ]
    assert choose(pool, capability="code", priority=5, now=NOW).model_id == "first"


def test_choose_returns_none_when_nobody_is_eligible():
    pool = [
        candidate("suspended", status="SUSPENDED", suspended_until=NOW + HOUR),
        candidate("cooling", status="COOLDOWN", cooldown_until=NOW + HOUR),
        candidate("writer", capabilities=("prose",)),
        candidate("failed"),
    ]
    assert choose(pool, capability="code", priority=5, now=NOW, failed=["failed"]) is None


def test_choose_returns_none_for_an_empty_pool():
    assert choose([], capability="code", priority=1, now=NOW) is None


def test_rank_accepts_any_iterable_of_candidates():
    assert ids(route(iter([candidate("only")]))) == ["only"]


# Provider faults.

FIVE_MINUTES = timedelta(minutes=5)


def due(fault_times):
    return provider_cooldown_due(fault_times, now=NOW, limit=3, window=FIVE_MINUTES)


def test_three_provider_faults_within_five_minutes_cool_the_worker_down():
    assert due([NOW - timedelta(minutes=4), NOW - timedelta(minutes=2), NOW])


def test_a_fault_exactly_at_the_window_edge_still_counts():
    assert due([NOW - FIVE_MINUTES, NOW - timedelta(minutes=1), NOW])


def test_three_provider_faults_spread_out_do_not_cool_the_worker_down():
    assert not due([NOW - timedelta(minutes=20), NOW - timedelta(minutes=10), NOW])


def test_two_recent_faults_are_not_enough():
    assert not due([NOW - timedelta(minutes=1), NOW])
    assert not due([NOW - timedelta(minutes=6), NOW - timedelta(minutes=1), NOW])


def test_no_faults_means_no_cooldown():
    assert not due([])


def test_the_limit_and_window_are_configurable():
    faults = [NOW - timedelta(minutes=8), NOW]
    assert not provider_cooldown_due(faults, now=NOW, limit=2, window=FIVE_MINUTES)
    assert provider_cooldown_due(faults, now=NOW, limit=2, window=timedelta(minutes=10))
