"""What an action does to a Worker: tiers, status and timers, pure.

The caller passes the clock; the result names any action the effect implies (a WARNING above JUNIOR
implies a DEMOTE), so the service can record it.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from aura_project.errors import DomainError

TIERS = ("JUNIOR", "MID", "SENIOR", "PRINCIPAL")
DEFAULT_TIER_BUDGETS = {"JUNIOR": 1000, "MID": 2000, "SENIOR": 4000, "PRINCIPAL": 8000}

ACTIVE = "ACTIVE"
COOLDOWN = "COOLDOWN"
PROBATION = "PROBATION"
SUSPENDED = "SUSPENDED"
TERMINATED = "TERMINATED"
BLACKLISTED = "BLACKLISTED"
OUT_OF_SERVICE = frozenset({SUSPENDED, TERMINATED, BLACKLISTED})
GONE = frozenset({TERMINATED, BLACKLISTED})


@dataclass(frozen=True)
class WorkerState:
    status: str = ACTIVE
    tier: str = "JUNIOR"
    priority: int = 0
    budget: int = 1000
    cooldown_until: datetime | None = None
    suspended_until: datetime | None = None
    runs_since_tier_change: int = 0
    probation_clean_runs: int = 0


@dataclass(frozen=True)
class LifecycleConfig:
    cooldown: timedelta = timedelta(hours=1)
    suspension: timedelta = timedelta(hours=24)
    tier_budgets: dict = field(default_factory=lambda: dict(DEFAULT_TIER_BUDGETS))


@dataclass(frozen=True)
class Effect:
    state: WorkerState
    implied: tuple[str, ...] = ()
    until: datetime | None = None


def tier_up(tier: str) -> str:
    return TIERS[min(TIERS.index(tier) + 1, len(TIERS) - 1)]


def tier_down(tier: str) -> str:
    return TIERS[max(TIERS.index(tier) - 1, 0)]


def effective_status(state: WorkerState, now: datetime) -> str:
    """The status as of `now`: a cooldown or suspension whose time has passed no longer holds,
    even before the timer sweep records its end."""
    if state.status == COOLDOWN and state.cooldown_until is not None and state.cooldown_until <= now:
        return ACTIVE
    if state.status == SUSPENDED and state.suspended_until is not None and state.suspended_until <= now:
        return ACTIVE
    return state.status


def apply_action(
    state: WorkerState, action: str, *, now: datetime, config: LifecycleConfig = LifecycleConfig()
) -> Effect:
    """The effect of one action on a worker's state."""
    budgets = config.tier_budgets
    if action == "PROMOTE":
        if state.status in OUT_OF_SERVICE or state.tier == TIERS[-1]:
            return Effect(state)  # nothing above PRINCIPAL: no endless priority creep
        tier = tier_up(state.tier)
        return Effect(
            replace(
                state,
                tier=tier,
                priority=state.priority + 1,
                budget=budgets[tier],
                runs_since_tier_change=0 if tier != state.tier else state.runs_since_tier_change,
            )
        )
    if action == "DEMOTE":
        tier = tier_down(state.tier)
        return Effect(replace(state, tier=tier, budget=budgets[tier], runs_since_tier_change=0))
    if action == "WARNING":
        if state.status in OUT_OF_SERVICE:
            return Effect(state)
        until = now + config.cooldown
        status = PROBATION if state.status == PROBATION else COOLDOWN
        warned = replace(state, status=status, cooldown_until=until)
        if state.tier != TIERS[0]:
            demoted = apply_action(warned, "DEMOTE", now=now, config=config).state
            return Effect(demoted, implied=("DEMOTE",), until=until)
        return Effect(warned, until=until)
    if action == "SUSPEND":
        if state.status in GONE:
            return Effect(state)
        until = now + config.suspension
        return Effect(replace(state, status=SUSPENDED, suspended_until=until), until=until)
    if action == "TERMINATE":
        if state.status == BLACKLISTED:
            return Effect(state)
        return Effect(replace(state, status=TERMINATED, cooldown_until=None, suspended_until=None))
    if action == "BLACKLIST":
        return Effect(replace(state, status=BLACKLISTED, cooldown_until=None, suspended_until=None))
    if action == "REHIRE":
        if state.status == BLACKLISTED:
            raise DomainError("a blacklisted worker is never rehired", field="model_id", code="blacklisted")
        if state.status != TERMINATED:
            raise DomainError("only a terminated worker can be rehired", field="model_id", code="not_terminated")
        return Effect(
            replace(
                state,
                status=PROBATION,
                tier=TIERS[0],
                priority=0,
                budget=budgets[TIERS[0]],
                cooldown_until=None,
                suspended_until=None,
                runs_since_tier_change=0,
                probation_clean_runs=0,
            )
        )
    if action == "CONFIRM":
        if state.status != PROBATION:
            return Effect(state)
        cooling = state.cooldown_until is not None and state.cooldown_until > now
        return Effect(replace(state, status=COOLDOWN if cooling else ACTIVE, probation_clean_runs=0))
    if action == "REINSTATE":
        if state.status in (COOLDOWN, SUSPENDED):
            return Effect(replace(state, status=ACTIVE, cooldown_until=None, suspended_until=None))
        return Effect(state)
    if action in ("STRIKE", "NONE", "OVERTURN"):
        return Effect(state)
    raise DomainError(f"unknown action {action!r}", field="action")


def timer_expired(state: WorkerState, now: datetime) -> bool:
    """A cooldown or suspension whose end has come and that the sweep should close."""
    return state.status in (COOLDOWN, SUSPENDED) and effective_status(state, now) == ACTIVE


# Why a Director's intervention would change nothing, by action; None when it applies.
def intervention_problem(state: WorkerState, action: str) -> str | None:
    """The rule the admin and the API share: an intervention that would change nothing is refused, so
    nobody is told "suspended 1 worker" when nothing happened."""
    status = state.status
    if action in ("SUSPEND", "WARNING", "STRIKE") and status in GONE:
        return f"the worker is {status.lower()}"
    if action == "WARNING" and status == SUSPENDED:
        return "the worker is suspended"
    if action == "TERMINATE" and status in GONE:
        return f"the worker is already {status.lower()}"
    if action == "BLACKLIST" and status == BLACKLISTED:
        return "the worker is already blacklisted"
    if action == "REHIRE" and status != TERMINATED:
        return (
            "only a terminated worker can be rehired"
            if status != BLACKLISTED
            else "a blacklisted worker is never rehired"
        )
    if action == "REINSTATE" and status not in (COOLDOWN, SUSPENDED):
        return f"the worker is {status.lower()}, not in cooldown or suspended"
    if action == "PROMOTE" and (status in OUT_OF_SERVICE or state.tier == TIERS[-1]):
        return "the worker is out of service" if status in OUT_OF_SERVICE else "the worker is already at the top tier"
    if action == "DEMOTE" and state.tier == TIERS[0]:
        return "the worker is already at the lowest tier"
    if action == "CONFIRM" and status != PROBATION:
        return "the worker is not on probation"
    return None


@dataclass(frozen=True)
class RecordedAction:
    """A standing action in a worker's record, as the status replay reads it."""

    action: str
    at: datetime
    until: datetime | None = None


def status_from_record(
    actions: Sequence[RecordedAction], *, now: datetime
) -> tuple[str, datetime | None, datetime | None]:
    """The status, cooldown end and suspension end that the standing actions give, replayed from a new hire's
    ACTIVE in the order given: the order they took effect, which is not always their times' order (two callers
    read the clock, then queue for the worker's lock). After an overturn the worker's status is this, so every
    other action that still stands stays in force (a SUSPEND still holds when the TERMINATE issued with it is
    overturned)."""
    status, cooldown_until, suspended_until = ACTIVE, None, None
    for entry in actions:
        act = entry.action
        if act == "WARNING" and status not in OUT_OF_SERVICE:
            status = PROBATION if status == PROBATION else COOLDOWN
            cooldown_until = entry.until
        elif act == "SUSPEND" and status not in GONE:
            status, suspended_until = SUSPENDED, entry.until
        elif act == "TERMINATE" and status != BLACKLISTED:
            status, cooldown_until, suspended_until = TERMINATED, None, None
        elif act == "BLACKLIST":
            status, cooldown_until, suspended_until = BLACKLISTED, None, None
        elif act == "REHIRE" and status == TERMINATED:
            status, cooldown_until, suspended_until = PROBATION, None, None
        elif act == "REINSTATE" and status in (COOLDOWN, SUSPENDED):
            status, cooldown_until, suspended_until = ACTIVE, None, None
        elif act == "CONFIRM" and status == PROBATION:
            status = COOLDOWN if cooldown_until is not None and cooldown_until > entry.at else ACTIVE
    # Timers that have run out no longer hold, whether or not the sweep has recorded their end yet.
    if status == SUSPENDED and suspended_until is not None and suspended_until <= now:
        status, suspended_until = ACTIVE, None
        if cooldown_until is not None and cooldown_until > now:
            status = COOLDOWN
    if status == COOLDOWN and cooldown_until is not None and cooldown_until <= now:
        status, cooldown_until = ACTIVE, None
    return status, cooldown_until, suspended_until
