"""The auditors are audited: how often the Director overturns each detector's sanctions, and when a detector in
enforce mode is overturned so often that it should only observe. Pure.

A sanction is a disciplinary action that punishes (SANCTIONS) taken on an incident. It counts for each detector
with an enforce-mode finding on that incident, under the finding's violation type: the detector helped bring it.
An overturn is such a sanction the Director later overturned. The overturn rate is overturns / sanctions over a
rolling window of the sanctions' dates. A detector's own line (violation type "") counts each sanction once,
however many of its types the incident had.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

# One source for the settings' defaults (GovernanceSettings.overturn_*).
DEFAULT_OBSERVE_PCT = 30
DEFAULT_MIN_SANCTIONS = 20
DEFAULT_WINDOW_DAYS = 30

# Actions that punish. OVERTURN, REHIRE, REINSTATE, CONFIRM and PROMOTE undo or reward, and are not judged here.
SANCTIONS = ("WARNING", "STRIKE", "DEMOTE", "SUSPEND", "TERMINATE", "BLACKLIST")

ALL_TYPES = ""


@dataclass(frozen=True)
class OversightConfig:
    observe_pct: int = DEFAULT_OBSERVE_PCT
    min_sanctions: int = DEFAULT_MIN_SANCTIONS
    window_days: int = DEFAULT_WINDOW_DAYS


@dataclass(frozen=True)
class SanctionFact:
    """One sanction on an incident where `detector` had an enforce-mode finding of `violation_type`."""

    detector: str
    violation_type: str
    action_id: int
    at: datetime
    overturned: bool


@dataclass(frozen=True)
class DetectorFigures:
    """A detector's figures over the window, for one violation type or ("") all of them."""

    detector: str
    violation_type: str
    findings: int = 0
    enforced: int = 0
    observed: int = 0
    sanctions: int = 0
    overturns: int = 0

    @property
    def overturn_rate(self) -> float | None:
        """Overturns per sanction, 0-1; None with no sanction to judge."""
        return self.overturns / self.sanctions if self.sanctions else None

    @property
    def overturn_pct(self) -> float | None:
        rate = self.overturn_rate
        return None if rate is None else round(100 * rate, 1)


def oversight_figures(
    *,
    findings: Iterable[tuple[str, str, str, int]],
    sanctions: Iterable[SanctionFact],
    detectors: Iterable[str] = (),
    since: Mapping[str, datetime] | None = None,
) -> list[DetectorFigures]:
    """Figures per detector (its "" line first) and per violation type, sorted by detector then type.

    `findings` are (detector, violation type, mode, count) rows; `detectors` are listed even without any; a
    detector's sanctions before `since[detector]` are left out (see passes_observe's caller)."""
    since = since or {}
    counts: dict[tuple[str, str], dict[str, int]] = {}

    def line(detector: str, vtype: str) -> dict[str, int]:
        return counts.setdefault((detector, vtype), {"findings": 0, "enforced": 0, "observed": 0})

    for name in detectors:
        line(name, ALL_TYPES)
    for detector, vtype, mode, n in findings:
        for key in (vtype, ALL_TYPES):
            c = line(detector, key)
            c["findings"] += n
            if mode == "enforce":
                c["enforced"] += n
            elif mode == "observe":
                c["observed"] += n
    # Distinct actions per line: an incident with two findings of one detector is still one sanction.
    sanctioned: dict[tuple[str, str], dict[int, bool]] = {}
    for fact in sanctions:
        start = since.get(fact.detector)
        if start is not None and fact.at < start:
            continue
        for key in ((fact.detector, fact.violation_type), (fact.detector, ALL_TYPES)):
            line(*key)
            seen = sanctioned.setdefault(key, {})
            seen[fact.action_id] = seen.get(fact.action_id, False) or fact.overturned
    figures = []
    for (detector, vtype), c in counts.items():
        actions = sanctioned.get((detector, vtype), {})
        figures.append(
            DetectorFigures(
                detector=detector,
                violation_type=vtype,
                sanctions=len(actions),
                overturns=sum(actions.values()),
                **c,
            )
        )
    return sorted(figures, key=lambda f: (f.detector, f.violation_type))


def passes_observe(figures: DetectorFigures, config: OversightConfig) -> bool:
    """Whether a detector is overturned too often to keep enforcing: at least `min_sanctions` sanctions, and an
    overturn rate above `observe_pct` percent (strictly: 6 of 20 is 30%, and does not pass 30%)."""
    enough = figures.sanctions >= config.min_sanctions
    return enough and figures.overturns * 100 > config.observe_pct * figures.sanctions


def oversight_problems(*, observe_pct, min_sanctions, window_days) -> dict[str, str]:
    """The settings' oversight fields, by field: what is wrong with them (empty when nothing is)."""
    problems = {}
    if observe_pct is not None and not 1 <= observe_pct <= 100:
        problems["overturn_observe_pct"] = "The overturn rate that switches a detector to observe lies from 1 to 100%."
    if min_sanctions is not None and min_sanctions < 1:
        problems["overturn_observe_min_sanctions"] = "A detector is judged on at least one sanction."
    if window_days is not None and not 1 <= window_days <= 365:
        problems["overturn_window_days"] = "The overturn window runs from 1 to 365 days."
    return problems
