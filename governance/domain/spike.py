"""The spike guard's rule, pure: when is a jump in sanctions more likely a broken detector than misconduct?

A scope is the whole fleet, one provider's workers, or one violation type. It spikes when, within the window,
at least `min_workers` of its workers were flagged (had an incident), that is at least `share_pct` percent of its
population, and at least `baseline_factor` times the share it usually sees in a window of the same length; or
when at least `min_reports` of its reports, `report_share_pct` percent of them, were flagged, again at least
`baseline_factor` times the usual share.
Workers flagged, not workers sanctioned: the flags move with the first reports of a broken detector, before the
ladder has sanctioned anyone, so fewer sanctions slip through before the guard sees the spike.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class SpikeConfig:
    window: timedelta = timedelta(minutes=60)
    share_pct: int = 33
    min_workers: int = 3
    baseline: timedelta = timedelta(days=7)
    baseline_factor: int = 3
    min_reports: int = 5
    report_share_pct: int = 50


@dataclass(frozen=True)
class ScopeFigures:
    scope: str
    flagged: int  # distinct workers flagged in the window, the one at hand included
    population: int  # workers in the scope that are on the payroll (not terminated or blacklisted)
    baseline_share: float  # the scope's mean share per window over the baseline period
    reports: int = 0  # reports in the window
    flagged_reports: int = 0  # of which flagged
    baseline_report_share: float = 0.0  # the share of reports flagged over the baseline period

    @property
    def report_share(self) -> float:
        return self.flagged_reports / self.reports if self.reports else 0.0

    @property
    def share(self) -> float:
        return self.flagged / self.population if self.population else 0.0

    def as_dict(self) -> dict:
        return {
            "scope": self.scope,
            "flagged": self.flagged,
            "population": self.population,
            "share_pct": round(self.share * 100, 1),
            "baseline_share_pct": round(self.baseline_share * 100, 2),
            "reports": self.reports,
            "flagged_reports": self.flagged_reports,
            "report_share_pct": round(self.report_share * 100, 1),
            "baseline_report_share_pct": round(self.baseline_report_share * 100, 2),
        }


def spiking(figures: ScopeFigures, config: SpikeConfig) -> bool:
    """Either signal, each far above its baseline: a third of the scope's workers flagged, or (sooner, as a
    broken detector begins) half of at least `min_reports` reports flagged. Both need `min_workers` workers:
    one worker's bad hour is its own misconduct, not a spike."""
    if figures.population <= 0 or figures.flagged < config.min_workers:
        return False
    by_workers = (
        figures.share * 100 >= config.share_pct and figures.share >= config.baseline_factor * figures.baseline_share
    )
    by_reports = (
        figures.flagged_reports >= config.min_reports
        and figures.report_share * 100 >= config.report_share_pct
        and figures.report_share >= config.baseline_factor * figures.baseline_report_share
    )
    return by_workers or by_reports


def first_spike(scopes: Sequence[ScopeFigures], config: SpikeConfig) -> ScopeFigures | None:
    """The first scope that spikes, widest first (the fleet, then the provider, then the violation type)."""
    return next((figures for figures in scopes if spiking(figures, config)), None)


def baseline_share(
    sanctions: Iterable[tuple[int, datetime]], *, population: int, start: datetime, end: datetime, window: timedelta
) -> float:
    """The mean share of the population flagged per window between start and end: distinct workers per
    window-long bucket, averaged over every bucket (empty ones too)."""
    buckets = max(1, int((end - start) / window))
    if population <= 0:
        return 0.0
    seen: set[tuple[int, int]] = set()
    for worker_id, at in sanctions:
        if start <= at < end:
            seen.add((worker_id, int((at - start) / window)))
    return len(seen) / buckets / population
