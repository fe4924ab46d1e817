"""The senior escalation's rules, pure: which sanctions wait, until when, and what a bad setting is."""

from datetime import UTC, datetime, timedelta

from governance.domain.escalation import (
    applied_itself_reason,
    escalation_deadline,
    escalation_due,
    escalation_minutes_problem,
    waited_minutes,
)

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
MINUTES = {"SENIOR": 30, "PRINCIPAL": 45}


def test_a_seniors_suspension_termination_and_blacklisting_wait_their_tiers_time():
    for action in ("SUSPEND", "TERMINATE", "BLACKLIST"):
        assert escalation_deadline(tier="SENIOR", action=action, minutes=MINUTES, now=NOW) == NOW + timedelta(
            minutes=30
        )
    assert escalation_deadline(tier="PRINCIPAL", action="SUSPEND", minutes=MINUTES, now=NOW) == NOW + timedelta(
        minutes=45
    )


def test_lesser_sanctions_and_lower_tiers_apply_at_once():
    assert escalation_deadline(tier="SENIOR", action="WARNING", minutes=MINUTES, now=NOW) is None
    assert escalation_deadline(tier="SENIOR", action="STRIKE", minutes=MINUTES, now=NOW) is None
    assert escalation_deadline(tier="MID", action="SUSPEND", minutes={"MID": 30}, now=NOW) is None
    assert escalation_deadline(tier="JUNIOR", action="TERMINATE", minutes=MINUTES, now=NOW) is None


def test_a_tier_at_zero_or_absent_applies_at_once():
    assert escalation_deadline(tier="SENIOR", action="SUSPEND", minutes={"SENIOR": 0}, now=NOW) is None
    assert escalation_deadline(tier="SENIOR", action="SUSPEND", minutes={"PRINCIPAL": 30}, now=NOW) is None
    assert escalation_deadline(tier="SENIOR", action="SUSPEND", minutes={}, now=NOW) is None


def test_it_is_due_at_its_time_and_not_a_second_before():
    at = NOW + timedelta(minutes=30)
    assert not escalation_due(apply_at=at, now=at - timedelta(seconds=1))
    assert escalation_due(apply_at=at, now=at)


def test_the_record_names_the_wait_it_was_given_whenever_the_sweep_ran():
    assert waited_minutes(created_at=NOW, apply_at=NOW + timedelta(minutes=30)) == 30
    assert applied_itself_reason(30) == "applied after 30 minutes without the Director's answer"


def test_the_setting_takes_whole_minutes_for_senior_tiers_only():
    assert escalation_minutes_problem({"SENIOR": 30, "PRINCIPAL": 0}) is None
    assert escalation_minutes_problem({}) is None
    assert "not JUNIOR" in escalation_minutes_problem({"JUNIOR": 5})
    assert "SENIOR: whole minutes" in escalation_minutes_problem({"SENIOR": 2.5})
    assert escalation_minutes_problem("30") is not None
