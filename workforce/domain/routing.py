"""The Manager's routing choice and the provider-fault health rule, pure."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from workforce.domain.lifecycle import COOLDOWN, OUT_OF_SERVICE, PROBATION, TIERS, WorkerState, effective_status

LOW_PRIORITY_MAX = 3


@dataclass(frozen=True)
class Candidate:
    model_id: str
    capabilities: tuple[str, ...]
    state: WorkerState
    reputation: int
    open_assignments: int = 0
    unhealthy_until: datetime | None = None  # provider faults: out of rotation until then, not a sanction
    held: bool = False  # a sanction on it awaits the Director's answer (a senior's escalation): no new work


def ineligibility(
    candidate: Candidate, *, capability: str, priority: int, failed: frozenset[str], now: datetime
) -> str | None:
    """Why the worker may not take the task, in words the Director and the Manager read; None if it may."""
    if capability not in candidate.capabilities:
        return f"it lacks the capability {capability!r}"
    if candidate.model_id in failed:
        return "it already failed this task"
    if candidate.unhealthy_until is not None and candidate.unhealthy_until > now:
        return f"it is out of rotation after provider faults until {candidate.unhealthy_until.isoformat()}"
    status = effective_status(candidate.state, now)
    if status in OUT_OF_SERVICE:
        return f"it is {status.lower()}"
    if candidate.held:
        return "a sanction on it awaits the Director's answer"
    # Reduced autonomy: cooldown and probation workers only take low-priority work.
    if status in (COOLDOWN, PROBATION) and priority > LOW_PRIORITY_MAX:
        return f"it is on {status.lower()} and takes only low-priority work (priority {LOW_PRIORITY_MAX} or less)"
    return None


def eligible(candidate: Candidate, *, capability: str, priority: int, failed: frozenset[str], now: datetime) -> bool:
    return ineligibility(candidate, capability=capability, priority=priority, failed=failed, now=now) is None


def rank(
    candidates: Iterable[Candidate],
    *,
    capability: str,
    priority: int,
    now: datetime,
    failed: Iterable[str] = (),
    halted: bool = False,
) -> list[Candidate]:
    """Eligible workers, best first: tier, then priority, then reputation, then fewest open assignments.
    Nobody while the fleet is halted (workforce.domain.system)."""
    if halted:
        return []
    failed_set = frozenset(failed)
    pool = [c for c in candidates if eligible(c, capability=capability, priority=priority, failed=failed_set, now=now)]
    return sorted(
        pool,
        key=lambda c: (-TIERS.index(c.state.tier), -c.state.priority, -c.reputation, c.open_assignments, c.model_id),
    )


def choose(candidates: Iterable[Candidate], **kwargs) -> Candidate | None:
    ranked = rank(candidates, **kwargs)
    return ranked[0] if ranked else None


def provider_cooldown_due(fault_times: Sequence[datetime], *, now: datetime, limit: int, window: timedelta) -> bool:
    """Like a router with a failing deployment: `limit` provider faults within `window` cool the worker down."""
    return sum(1 for at in fault_times if now - at <= window) >= limit
