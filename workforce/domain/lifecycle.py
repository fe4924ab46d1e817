"""What an action does to a Worker: tiers, status and timers, pure.

The caller passes the clock; the result names any action the effect implies (a WARNING above JUNIOR
implies a DEMOTE), so the service can record it.
"""

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
    runs_since_tier_change: int = 1


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
                runs_since_tier_change=1 if tier != state.tier else state.runs_since_tier_change,
            )
        )
    if action == "DEMOTE":
        tier = tier_down(state.tier)
        return Effect(replace(state, tier=tier, budget=budgets[tier], runs_since_tier_change=1))
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
                runs_since_tier_change=1,
            )
        )
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
