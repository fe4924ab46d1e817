"""Escalation for senior workers, pure: which of HR's and the Accountant's sanctions wait for the Director's
answer, until when, and what the record says when nobody answers.

A suspension, termination or blacklisting of a SENIOR or PRINCIPAL worker is not applied at once: it waits a set
number of minutes, by tier, for the Director to confirm or dismiss it, and applies itself when the time runs out.
A senior's standing is worth a human's look, but a sanction nobody looks at must not stay undecided forever.
A blacklisting is a termination that can never be undone, so it waits like one.
"""

from collections.abc import Mapping
from datetime import datetime, timedelta

ESCALATED_ACTIONS = frozenset({"SUSPEND", "TERMINATE", "BLACKLIST"})
ESCALATION_TIERS = ("SENIOR", "PRINCIPAL")
# One source for the default wait, by tier; a tier that is absent or 0 does not wait. Off by default: today's
# seed contract applies a SENIOR's suspension and termination at once (tests/api/test_seed_contract.py), and a
# version that turns it on is the Director's choice, recorded with its reason. The suggestion is
# {"SENIOR": 30, "PRINCIPAL": 30}.
DEFAULT_ESCALATION_MINUTES: dict[str, int] = {}
# A week: a longer wait would leave a worker out of routing, undecided, for longer than any suspension.
MAX_ESCALATION_MINUTES = 7 * 24 * 60


def escalation_deadline(*, tier: str, action: str, minutes: Mapping[str, int], now: datetime) -> datetime | None:
    """When the sanction applies itself if the Director does not answer; None if it applies at once."""
    if action not in ESCALATED_ACTIONS or tier not in ESCALATION_TIERS:
        return None
    wait = (minutes or {}).get(tier) or 0
    if wait <= 0:
        return None
    return now + timedelta(minutes=wait)


def escalation_due(*, apply_at: datetime, now: datetime) -> bool:
    """The Director's time is up: the sanction applies itself now, and not a moment before."""
    return apply_at <= now


def waited_minutes(*, created_at: datetime, apply_at: datetime) -> int:
    """The wait the sanction was given, in whole minutes (a late sweep does not lengthen it on the record)."""
    return int((apply_at - created_at).total_seconds() // 60)


def applied_itself_reason(minutes: int) -> str:
    return f"applied after {minutes} minutes without the Director's answer"


def escalation_minutes_problem(value: object) -> str | None:
    """What is wrong with the per-tier setting, in the Director's words; None if it may be published."""
    if not isinstance(value, dict):
        return "Give the minutes by tier, e.g. {" + ", ".join(f'"{t}": 30' for t in ESCALATION_TIERS) + "}."
    others = sorted(set(value) - set(ESCALATION_TIERS))
    if others:
        named = ", ".join(map(str, others))
        return f"Only {' and '.join(ESCALATION_TIERS)} sanctions wait for the Director; not {named}."
    for tier, minutes in value.items():
        if not isinstance(minutes, int) or isinstance(minutes, bool) or not 0 <= minutes <= MAX_ESCALATION_MINUTES:
            return f"{tier}: whole minutes from 0 (no wait) to {MAX_ESCALATION_MINUTES} (a week)."
    return None
