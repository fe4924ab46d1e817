"""HR's policy ladder (seed batch 11, with its bugs fixed), pure.

Given a worker's new violations and its record, decide the disciplinary actions. The caller reads the clock
once and passes `now`; the record's entries carry their own times.
"""

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from governance.domain.detection import Violation

REPEAT_OFFENSE = "repeat_offense"
STRIKE = "STRIKE"
WARNING = "WARNING"
SUSPEND = "SUSPEND"
TERMINATE = "TERMINATE"
PROBATION = "PROBATION"

# The order actions are reported in: mildest first, so the list reads as an escalation.
ACTION_ORDER = ("WARNING", "STRIKE", "DEMOTE", "SUSPEND", "TERMINATE", "BLACKLIST")


@dataclass(frozen=True)
class PolicyRule:
    violation_type: str
    severity: int
    action: str


DEFAULT_POLICIES: Mapping[str, PolicyRule] = {
    rule.violation_type: rule
    for rule in (
        PolicyRule("hallucination", 3, STRIKE),
        PolicyRule("timeout", 2, WARNING),
        PolicyRule("scope_drift", 2, WARNING),
        PolicyRule("format_violation", 1, WARNING),
        PolicyRule(REPEAT_OFFENSE, 4, SUSPEND),
    )
}


@dataclass(frozen=True)
class LadderConfig:
    repeat_window: timedelta = timedelta(days=90)
    repeat_terminate_count: int = 3
    strikes_to_terminate: int = 3
    strike_active: timedelta = timedelta(days=180)
    warning_active: timedelta = timedelta(days=90)


@dataclass(frozen=True)
class PriorViolation:
    """A violation already in the worker's record."""

    type: str
    at: datetime


@dataclass(frozen=True)
class PriorAction:
    """An action already in the worker's record (overturned ones are left out by the caller)."""

    action: str
    at: datetime


@dataclass(frozen=True)
class Decision:
    actions: list[str]
    violations: list[Violation]
    severity: int
    reasons: dict[str, str] = field(default_factory=dict)
    same_step: bool = False  # the offence was in flight when the last sanction was issued: no new step


# Actions that tell a worker it is being disciplined; an offence counts as a new step only after one of them.
SANCTIONS = frozenset({WARNING, STRIKE, "DEMOTE", SUSPEND, TERMINATE, "BLACKLIST"})


def active_count(record: Sequence[PriorAction], action: str, window: timedelta, now: datetime) -> int:
    """How many `action`s in the record are still inside their active window."""
    return sum(1 for prior in record if prior.action == action and now - prior.at < window)


def last_sanction_at(record: Sequence[PriorAction]) -> datetime | None:
    """When the worker was last told: the newest standing sanction in its record."""
    return max((prior.at for prior in record if prior.action in SANCTIONS), default=None)


def in_flight(*, assigned_at: datetime | None, told_at: datetime | None) -> bool:
    """Progressive discipline escalates only after the worker was told: an offence on a task it already held
    when its last standing sanction was issued is recorded, but is the same step, not a new one."""
    return assigned_at is not None and told_at is not None and assigned_at <= told_at


def active_window(action: str | None, config: LadderConfig) -> timedelta:
    """How long a violation of a type counts on the record: as long as the sanction its policy gives."""
    if action == STRIKE:
        return config.strike_active
    if action == WARNING:
        return config.warning_active
    return config.repeat_window


def decide(
    *,
    violations: Sequence[Violation],
    violation_record: Sequence[PriorViolation],
    action_record: Sequence[PriorAction],
    status: str,
    now: datetime,
    policies: Mapping[str, PolicyRule] = DEFAULT_POLICIES,
    config: LadderConfig = LadderConfig(),
    assigned_at: datetime | None = None,
) -> Decision:
    """Run the ladder. Steps follow the foundation issue's numbering, after the "told first" rule.

    `violation_record` holds only violations that counted as a step (their incident's actions stand);
    `assigned_at` is when the worker got the task the offence is on (None for /enforce, which names none)."""
    # 0. An offence on a task already in flight when the last standing sanction was issued is the same step.
    if in_flight(assigned_at=assigned_at, told_at=last_sanction_at(action_record)):
        severity = max((v.severity for v in violations), default=0)
        return Decision(actions=[], violations=list(violations), severity=severity, same_step=True)
    actions: dict[str, str] = {}  # action -> reason; a dict keeps the first reason and deduplicates
    all_violations = list(violations)
    recent = Counter(v.type for v in violation_record if now - v.at < config.repeat_window)
    # An expired warning or strike counts toward nothing: each type counts for its own sanction's window.
    on_record = Counter(
        v.type
        for v in violation_record
        if now - v.at < active_window(getattr(policies.get(v.type), "action", None), config)
    )

    for violation in violations:
        # 1. Each violation gets its policy's action.
        rule = policies.get(violation.type)
        if rule is not None:
            actions.setdefault(rule.action, f"{violation.type} (severity {violation.severity}): policy")
        # 2. The same type again within the repeat window is a repeat offense.
        if violation.type != REPEAT_OFFENSE and recent[violation.type] > 0:
            repeat = policies.get(REPEAT_OFFENSE)
            if repeat is not None:
                if all(v.type != REPEAT_OFFENSE for v in all_violations):
                    all_violations.append(Violation(REPEAT_OFFENSE, repeat.severity))
                actions.setdefault(repeat.action, f"repeat {violation.type} within {config.repeat_window.days} days")
        # 3. The seed's rule: the record already holds 3 or more of this type.
        if on_record[violation.type] >= config.repeat_terminate_count:
            actions.setdefault(TERMINATE, f"{on_record[violation.type]} prior {violation.type} on record")

    if STRIKE in actions:
        # 4. Three active strikes, counting the new one.
        strikes = active_count(action_record, STRIKE, config.strike_active, now) + 1
        if strikes >= config.strikes_to_terminate:
            actions.setdefault(TERMINATE, f"{strikes} active strikes")
        # 5. A strike on probation ends the probation.
        if status == PROBATION:
            actions.setdefault(TERMINATE, "strike while on probation")

    # 6. The incident's severity is the worst of its violations, repeat offense included.
    severity = max((v.severity for v in all_violations), default=0)
    ordered = sorted(actions, key=lambda a: ACTION_ORDER.index(a) if a in ACTION_ORDER else len(ACTION_ORDER))
    return Decision(
        actions=ordered, violations=all_violations, severity=severity, reasons={a: actions[a] for a in ordered}
    )
