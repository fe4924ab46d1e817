"""The Auditor's detectors: one registry of pure rules, each reading one report and what its task asked for.

Each detector has a stable name, a version (stored on every finding), a default mode, the violation types it
yields and a function `(DetectorInput, DetectorConfig) -> list[FindingDraft]`. The Director sets each one's mode
(enforce, observe, off) and, where it has one, its threshold, in the governance settings; a detector the
settings do not name runs with the defaults below, the one source for them.

A report's detection, in order:
1. A provider's fault is nobody's misconduct: no detector runs (as the seed's detector yields nothing).
2. Every detector not OFF runs, in registry order. One that fails is skipped and named in the result, so a
   broken rule costs its own findings, not the report.
3. The findings of ENFORCE detectors become violations, one per type (two detectors finding a format
   violation make one violation), in the seeds' order, with the settings' severities.
"""

import math
from collections.abc import Iterable, Mapping

from governance.domain.detection import SEVERITY_MIN, DetectionConfig, ReportFacts, Violation, is_provider_fault
from governance.domain.detectors import latency, text
from governance.domain.detectors.base import (
    MODES,
    DetectionResult,
    Detector,
    DetectorConfig,
    DetectorInput,
    DetectorSetup,
    FindingDraft,
    Judged,
    Mode,
)
from governance.domain.detectors.flags import (
    MANAGER_FLAGS,
    MANAGER_FLAGS_VERSION,
    TIMEOUT_FIXED,
    TIMEOUT_FIXED_VERSION,
    manager_flags,
    timeout_fixed,
)
from governance.domain.detectors.format import FORMAT_JSON_SCHEMA, FORMAT_JSON_SCHEMA_VERSION, json_schema

__all__ = [
    "MODES",
    "REGISTRY",
    "DetectionResult",
    "Detector",
    "DetectorConfig",
    "DetectorInput",
    "DetectorSetup",
    "FindingDraft",
    "Judged",
    "Mode",
    "detector_setup_build",
    "detectors_run",
    "enforced_violations",
    "seed_violations",
    "setup_problems",
]

# The seeds' order of violations in an incident, then any other type in the order found.
SEEDS_ORDER = ("hallucination", "timeout", "scope_drift", "format_violation")

# Inputs a detector may read beyond the report's facts and output (Detector.reads).
READS_INSTRUCTIONS = "instructions"
READS_SOURCES = "sources"
READS_SCHEMA = "output_schema"
READS_LATENCY_HISTORY = "latency_history"


def scope_semantic(report: DetectorInput, config: DetectorConfig) -> list[FindingDraft]:
    """The registry's scope.semantic (governance.domain.detectors.text): how far the output strays from the task's
    instructions (and sources). Nothing to judge without instructions or an output: the model is not even loaded."""
    if not report.instructions or report.output is None:
        return []
    found = text.scope_semantic(
        report.instructions,
        report.output,
        threshold=text.SCOPE_THRESHOLD_DEFAULT if config.threshold is None else config.threshold,
        model=_embedding_model(),
        sources=report.sources or (),
    )
    return [] if found is None else [FindingDraft(text.SCOPE_NAME, text.SCOPE_VERSION, "scope_drift", *found)]


def claims_unsupported(report: DetectorInput, config: DetectorConfig) -> list[FindingDraft]:
    """The registry's claims.unsupported (governance.domain.detectors.text): the share of the output's sentences
    with no close support in the task's sources. Nothing to judge without sources or an output."""
    if not report.sources or report.output is None:
        return []
    found = text.claims_unsupported(
        report.output,
        report.sources,
        threshold=text.CLAIMS_SHARE_DEFAULT if config.threshold is None else config.threshold,
        model=_embedding_model(),
    )
    return [] if found is None else [FindingDraft(text.CLAIMS_NAME, text.CLAIMS_VERSION, "hallucination", *found)]


def _embedding_model():
    """The process's one embedding model, loaded on first use (never per report, never from the network)."""
    from governance.domain.detectors.embedding import embedding_model

    return embedding_model()


def _registry(*detectors: Detector) -> dict[str, Detector]:
    return {d.name: d for d in detectors}


REGISTRY: dict[str, Detector] = _registry(
    Detector(
        name=MANAGER_FLAGS,
        version=MANAGER_FLAGS_VERSION,
        default_mode=Mode.ENFORCE,
        violation_types=("hallucination", "scope_drift", "format_violation"),
        run=manager_flags,
        reads=("flags",),
        description="The Manager's flags: hallucinated, scope_drift, format_violation.",
    ),
    Detector(
        name=TIMEOUT_FIXED,
        version=TIMEOUT_FIXED_VERSION,
        default_mode=Mode.ENFORCE,
        violation_types=("timeout",),
        run=timeout_fixed,
        threshold_field="timeout_ms",
        reads=("duration_ms",),
        description="The seed's fixed limit: a duration strictly above the settings' timeout_ms.",
    ),
    Detector(
        name=FORMAT_JSON_SCHEMA,
        version=FORMAT_JSON_SCHEMA_VERSION,
        default_mode=Mode.ENFORCE,
        violation_types=("format_violation",),
        run=json_schema,
        reads=("output", READS_SCHEMA),
        description="The output validated against the task's JSON Schema; each error is evidence.",
    ),
    Detector(
        name=text.SCOPE_NAME,
        version=text.SCOPE_VERSION,
        default_mode=Mode.OBSERVE,
        violation_types=("scope_drift",),
        run=scope_semantic,
        default_threshold=text.SCOPE_THRESHOLD_DEFAULT,
        reads=("output", READS_INSTRUCTIONS, READS_SOURCES),
        description="Drift (1 - cosine similarity) of the output from the task's instructions and sources, with a "
        "local embedding model; the least related sentences are evidence.",
    ),
    Detector(
        name=text.CLAIMS_NAME,
        version=text.CLAIMS_VERSION,
        default_mode=Mode.OBSERVE,
        violation_types=("hallucination",),
        run=claims_unsupported,
        default_threshold=text.CLAIMS_SHARE_DEFAULT,
        reads=("output", READS_SOURCES),
        description="The share of the output's sentences with no close support in the task's sources; the "
        "unsupported sentences are evidence.",
    ),
    Detector(
        name=latency.NAME,
        version=latency.LATENCY_VERSION,
        default_mode=Mode.OBSERVE,
        violation_types=(latency.VIOLATION_TYPE,),
        run=latency.latency_detector,
        default_threshold=latency.DEFAULT_THRESHOLD_Z,
        reads=("duration_ms", "retries", READS_LATENCY_HISTORY),
        description="The duration and retries against the worker's own history for the capability, else the "
        "fleet's: a modified z-score (median and MAD) at or above the threshold.",
    ),
)


def detector_setup_build(
    *,
    modes: Mapping[str, str],
    thresholds: Mapping[str, float],
    fields: Mapping[str, float],
    registry: Mapping[str, Detector] = REGISTRY,
) -> DetectorSetup:
    """Every registered detector's mode and config from the Director's choices (`modes`, `thresholds`: only the
    names the Director set) and the settings fields some detectors take their threshold from (`fields`)."""
    chosen_modes, configs = {}, {}
    for name, detector in registry.items():
        chosen_modes[name] = Mode(modes.get(name, detector.default_mode))
        if detector.threshold_field is not None:
            threshold = fields.get(detector.threshold_field)
        else:
            threshold = thresholds.get(name, detector.default_threshold)
        configs[name] = DetectorConfig(threshold=None if threshold is None else float(threshold))
    return DetectorSetup(modes=chosen_modes, configs=configs)


def setup_problems(*, modes: object, thresholds: object, registry: Mapping[str, Detector] = REGISTRY) -> dict[str, str]:
    """What is wrong with the Director's detector modes and thresholds, by settings field; empty when none."""
    problems = {}
    known = ", ".join(registry)
    if not isinstance(modes, dict):
        problems["detector_modes"] = "Detector modes are an object: {detector: mode}."
    elif unknown := sorted(set(modes) - set(registry)):
        problems["detector_modes"] = f"No detector {unknown[0]!r}; the detectors are: {known}."
    elif bad := sorted(name for name, mode in modes.items() if mode not in MODES):
        problems["detector_modes"] = f"{bad[0]}: the mode is one of {', '.join(MODES)}."
    if not isinstance(thresholds, dict):
        problems["detector_thresholds"] = "Detector thresholds are an object: {detector: number}."
    elif unknown := sorted(set(thresholds) - set(registry)):
        problems["detector_thresholds"] = f"No detector {unknown[0]!r}; the detectors are: {known}."
    elif fixed := sorted(name for name in thresholds if not registry[name].tunable):
        detector = registry[fixed[0]]
        where = f"its threshold is the setting {detector.threshold_field}" if detector.threshold_field else "none"
        problems["detector_thresholds"] = f"{fixed[0]} takes no threshold here ({where})."
    elif bad := sorted(
        name
        for name, value in thresholds.items()
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < float("inf")
    ):
        problems["detector_thresholds"] = f"{bad[0]}: a threshold is a number, zero or more."
    return problems


def detectors_run(
    report: DetectorInput, setup: DetectorSetup, *, registry: Mapping[str, Detector] = REGISTRY
) -> DetectionResult:
    """Run every detector that is not OFF on one report (steps 1 and 2 above)."""
    if is_provider_fault(report.facts):
        return DetectionResult()
    findings: list[Judged] = []
    failures: list[tuple[str, str]] = []
    for name, detector in registry.items():
        mode = setup.mode(name)
        if mode == Mode.OFF:
            continue
        try:
            drafts = detector.run(report, setup.config(name))
        except Exception as exc:  # a broken rule costs its own findings, not the report; the caller logs it
            failures.append((name, f"{type(exc).__name__}: {exc}"))
            continue
        if bad := [d for d in drafts if not math.isfinite(d.score)]:
            failures.append((name, f"score {bad[0].score} is not a finite number"))
            continue
        findings += [Judged(draft=draft, mode=mode) for draft in drafts]
    return DetectionResult(findings=tuple(findings), failures=tuple(failures))


def enforced_violations(findings: Iterable[Judged], config: DetectionConfig) -> list[Violation]:
    """Step 3: the enforced findings as violations, one per type, in the seeds' order, with their severities
    (a type no policy names, from a new detector, gets the mildest)."""
    types: list[str] = []
    for finding in findings:
        if finding.enforced and finding.draft.violation_type not in types:
            types.append(finding.draft.violation_type)
    rank = {vtype: i for i, vtype in enumerate(SEEDS_ORDER)}
    types.sort(key=lambda vtype: rank.get(vtype, len(SEEDS_ORDER)))  # stable: the others keep their order
    severities = dict(config.severities)
    return [Violation(vtype, severities.get(vtype, SEVERITY_MIN)) for vtype in types]


def seed_violations(facts: ReportFacts, config: DetectionConfig) -> list[Violation]:
    """The seed's detection: manager_flags and timeout.fixed, both enforced (`detection.detect_violations`)."""
    seed = _registry(REGISTRY[MANAGER_FLAGS], REGISTRY[TIMEOUT_FIXED])
    setup = DetectorSetup(
        modes={name: Mode.ENFORCE for name in seed},
        configs={TIMEOUT_FIXED: DetectorConfig(threshold=float(config.timeout_ms))},
    )
    return enforced_violations(detectors_run(DetectorInput(facts=facts), setup, registry=seed).findings, config)
