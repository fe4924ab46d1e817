"""Reads for the detectors: the settings' detector modes and thresholds as the rules take them, and the list the
API and the control room show. No query: everything comes from the settings version passed in (read once per
version by `selectors.settings_current`) and the registry."""

from governance.domain.detectors import REGISTRY, Detector, DetectorSetup, Mode, detector_setup_build
from governance.models import GovernanceSettings


def detector_setup(settings: GovernanceSettings) -> DetectorSetup:
    """Every registered detector's mode and config under this settings version."""
    return detector_setup_build(
        modes=settings.detector_modes or {},
        thresholds=settings.detector_thresholds or {},
        fields={
            d.threshold_field: getattr(settings, d.threshold_field) for d in REGISTRY.values() if d.threshold_field
        },
    )


def detector_modes(settings: GovernanceSettings) -> dict[str, Mode]:
    """{detector: mode} for every registered detector: the Director's choice, else its default."""
    return dict(detector_setup(settings).modes)


def detector_get(name: str) -> Detector | None:
    return REGISTRY.get(name)


def detectors_list(settings: GovernanceSettings) -> list[dict]:
    """The registry as the API lists it, with this version's modes and thresholds."""
    setup = detector_setup(settings)
    return [
        {
            "name": d.name,
            "version": d.version,
            "mode": setup.mode(d.name).value,
            "default_mode": d.default_mode.value,
            "threshold": setup.config(d.name).threshold,
            "default_threshold": d.default_threshold,
            "threshold_setting": d.threshold_field or ("detector_thresholds" if d.tunable else None),
            "violation_types": list(d.violation_types),
            "reads": list(d.reads),
            "description": d.description,
        }
        for d in REGISTRY.values()
    ]
