"""The auditors are audited: a detector in enforce mode whose sanctions the Director keeps overturning is switched to
observe, automatically, through the service the Director uses (governance.services.detectors.detector_mode_set),
so it publishes a new settings version that names who switched it and why.

When: beat's per-minute job (governance.tasks.run_timers; its twin, manage.py run_timers). A detector's overturn
rate moves on three events: an overturn raises it, a new sanction brings a detector up to the minimum count, and
the rolling window drops old sanctions. A hook after each overturn would see only the first, and would act inside
the Director's call, named as the Director; a check each minute sees all three and acts as the engine's own
component, `system:oversight`. The cost is two bounded reads a minute (governance.selectors_oversight).

Steps, per run:
1. Read the settings in force: the detectors in enforce mode, the threshold, minimum and window.
2. Count each one's sanctions and overturns over the window, from after its last automatic switch, if any: the
   sanctions that switched a detector once do not switch it again after the Director switches it back.
3. Each one whose rate passes (governance.domain.oversight.passes_observe) is set to observe, and the Manager's
   inbox gets a `detector.auto_observe` event with the figures, in the same transaction. The Director sees the
   switch, with its figures, on the dashboard's detector card, and may switch the detector back.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction

from aura_project.errors import DomainError
from aura_project.history import acting
from governance.domain.detectors import Mode
from governance.domain.oversight import ALL_TYPES, DetectorFigures, OversightConfig, passes_observe
from governance.models import GovernanceSettings
from governance.selectors import settings_current
from governance.selectors_detectors import detector_modes
from governance.selectors_oversight import auto_observed_since, detector_oversight
from governance.services.detectors import detector_mode_set
from workforce.domain.actor import OVERSIGHT, Actor
from workforce.models import Event
from workforce.services.events import Outbox

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AutoObserve:
    """One detector switched to observe, with the figures that switched it and the version it published."""

    detector: str
    figures: DetectorFigures
    by_type: tuple[DetectorFigures, ...]
    settings_version: int


def oversight_config(s: GovernanceSettings) -> OversightConfig:
    return OversightConfig(
        observe_pct=s.overturn_observe_pct,
        min_sanctions=s.overturn_observe_min_sanctions,
        window_days=s.overturn_window_days,
    )


def detectors_oversee(*, now: datetime, actor: Actor = OVERSIGHT) -> list[AutoObserve]:
    """Switch to observe every detector in enforce mode that the Director overturns too often (steps above)."""
    s = settings_current()
    config = oversight_config(s)
    enforcing = [name for name, mode in detector_modes(s).items() if mode == Mode.ENFORCE]
    if not enforcing:
        return []
    since = auto_observed_since(detectors=enforcing, since=now - timedelta(days=config.window_days))
    figures = detector_oversight(
        now=now, window_days=config.window_days, detectors=enforcing, since=since, with_findings=False
    )
    switched = []
    for total in figures:
        if total.violation_type == ALL_TYPES and passes_observe(total, config):
            by_type = tuple(f for f in figures if f.detector == total.detector and f.violation_type != ALL_TYPES)
            try:
                done = _switch(total, by_type, config, actor=actor, now=now)
            except DomainError:  # a refusal (settings that no longer validate): the next minute tries again
                log.exception("could not switch %s to observe", total.detector)
                continue
            if done is not None:
                switched.append(done)
    return switched


def _switch(total: DetectorFigures, by_type, config: OversightConfig, *, actor: Actor, now) -> AutoObserve | None:
    reason = (
        f"overturned too often: {total.overturns} of {total.sanctions} sanctions ({total.overturn_pct}%) in "
        f"{config.window_days} days, above {config.observe_pct}%"
    )
    with acting(actor), transaction.atomic():
        change = detector_mode_set(name=total.detector, mode=Mode.OBSERVE.value, reason=reason, actor=actor, now=now)
        if not change.changed:  # the Director, or another run, switched it meanwhile
            return None
        outbox = Outbox(now)
        outbox.add(
            Event.Kind.DETECTOR_AUTO_OBSERVE.value,
            detector=total.detector,
            before=change.before,
            mode=change.mode,
            sanctions=total.sanctions,
            overturns=total.overturns,
            overturn_pct=total.overturn_pct,
            observe_pct=config.observe_pct,
            min_sanctions=config.min_sanctions,
            window_days=config.window_days,
            by_type=[
                {
                    "violation_type": f.violation_type,
                    "sanctions": f.sanctions,
                    "overturns": f.overturns,
                    "overturn_pct": f.overturn_pct,
                }
                for f in by_type
            ],
            settings_version=change.settings.version,
            actor=actor.label,
            reason=reason,
        )
        outbox.flush()
    return AutoObserve(
        detector=total.detector, figures=total, by_type=tuple(by_type), settings_version=change.settings.version
    )
