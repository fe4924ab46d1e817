"""Reads for the auditors' audit: each detector's findings, sanctions and overturns over a rolling window
(governance.domain.oversight counts them), and the detectors switched to observe automatically.

Two reads, each bounded by the window and by what detectors found, never by the size of the whole record:
- findings: grouped counts on the (detector, created_at) index, one range per registered detector;
- sanctions: the punishing actions of the window on the actions' created_at index, joined to the enforce-mode
  findings of their incidents (the findings' incident foreign-key index) and to their overturn, if any (the
  overturn's one-to-one unique index). A row per sanction and finding: the window's sanctions, not the record.
"""

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db.models import Count

from governance.domain.detectors import REGISTRY
from governance.domain.oversight import ALL_TYPES, SANCTIONS, DetectorFigures, SanctionFact, oversight_figures
from governance.models import DisciplinaryAction, Finding, GovernanceSettings
from governance.selectors_detectors import detector_modes
from workforce.models import Event

AUTO_OBSERVE_SHOWN = 5


def _registered() -> list[str]:
    """The detectors the registry knows, in its order."""
    return list(REGISTRY)


def oversight_facts(
    *, since: datetime, detectors: Iterable[str] | None = None, with_findings: bool = True
) -> tuple[list[tuple[str, str, str, int]], list[SanctionFact]]:
    """(detector, violation type, mode, findings) rows and the sanctions with their detectors, from `since`."""
    names = list(detectors) if detectors is not None else _registered()
    findings = []
    if with_findings:
        findings = list(
            Finding.objects.filter(detector__in=names, created_at__gte=since)
            .order_by()
            .values_list("detector", "violation_type", "mode")
            .annotate(n=Count("id"))
        )
    rows = (
        DisciplinaryAction.objects.filter(
            created_at__gte=since,
            action__in=SANCTIONS,
            incident__findings__mode=Finding.Mode.ENFORCE,
            incident__findings__detector__in=names,
        )
        .order_by()
        .values_list(
            "incident__findings__detector",
            "incident__findings__violation_type",
            "id",
            "created_at",
            "overturned_by__id",
        )
        .distinct()
    )
    sanctions = [
        SanctionFact(detector=d, violation_type=v, action_id=pk, at=at, overturned=overturn is not None)
        for d, v, pk, at, overturn in rows
    ]
    return findings, sanctions


def detector_oversight(
    *,
    now: datetime,
    window_days: int,
    detectors: Iterable[str] | None = None,
    since: dict | None = None,
    with_findings: bool = True,
) -> list[DetectorFigures]:
    """For each detector ("" line) and each of its violation types: findings, sanctions, overturns and the
    overturn rate over the last `window_days`. `since` starts a detector's sanctions later (see the service);
    the service, which needs no findings count, reads none."""
    names = list(detectors) if detectors is not None else _registered()
    findings, sanctions = oversight_facts(
        since=now - timedelta(days=window_days), detectors=names, with_findings=with_findings
    )
    return oversight_figures(findings=findings, sanctions=sanctions, detectors=names, since=since)


def auto_observes_recent(*, limit: int = AUTO_OBSERVE_SHOWN) -> list[Event]:
    """The newest automatic switches to observe, from the inbox on its (kind, id) index."""
    return list(Event.objects.filter(kind=Event.Kind.DETECTOR_AUTO_OBSERVE).order_by("-id")[:limit])


def auto_observed_since(*, detectors: Iterable[str], since: datetime) -> dict[str, datetime]:
    """When each detector was last switched to observe automatically, within the window: the evidence that
    switched it once does not switch it again after the Director switches it back."""
    last: dict[str, datetime] = {}
    names = set(detectors)
    for payload, at in (
        Event.objects.filter(kind=Event.Kind.DETECTOR_AUTO_OBSERVE, created_at__gte=since)
        .order_by("-id")
        .values_list("payload", "created_at")[:200]
    ):
        name = (payload or {}).get("detector")
        if name in names and name not in last:
            last[name] = at
    return last


def _line(f: DetectorFigures) -> dict:
    return {
        "violation_type": f.violation_type,
        "findings": f.findings,
        "enforced": f.enforced,
        "observed": f.observed,
        "sanctions": f.sanctions,
        "overturns": f.overturns,
        "overturn_rate": f.overturn_rate,
        "overturn_pct": f.overturn_pct,
    }


def oversight_report(*, now: datetime, settings: GovernanceSettings, window_days: int | None = None) -> dict:
    """What the API and the dashboard show: every registered detector with its mode, its figures over the window
    and per violation type, the settings that switch it to observe, and the latest automatic switches."""
    window = window_days or settings.overturn_window_days
    modes = detector_modes(settings)
    figures = detector_oversight(now=now, window_days=window, detectors=list(modes))
    detectors = []
    for name, mode in modes.items():
        own = [f for f in figures if f.detector == name]
        total = next(f for f in own if f.violation_type == ALL_TYPES)
        detectors.append(
            {
                "detector": name,
                "mode": str(mode),
                **_line(total),
                "by_type": [_line(f) for f in own if f.violation_type != ALL_TYPES],
            }
        )
    switches = [
        {
            "detector": e.payload.get("detector", ""),
            "at": e.created_at,
            "sanctions": e.payload.get("sanctions"),
            "overturns": e.payload.get("overturns"),
            "overturn_pct": e.payload.get("overturn_pct"),
            "observe_pct": e.payload.get("observe_pct"),
            "window_days": e.payload.get("window_days"),
            "settings_version": e.payload.get("settings_version"),
            "actor": e.payload.get("actor", ""),
            "event_id": e.pk,
        }
        for e in auto_observes_recent()
    ]
    return {
        "now": now,
        "since": now - timedelta(days=window),
        "window_days": window,
        "observe_pct": settings.overturn_observe_pct,
        "min_sanctions": settings.overturn_observe_min_sanctions,
        "detectors": detectors,
        "auto_observed": switches,
    }
