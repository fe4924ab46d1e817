"""The seed's detection, as two detectors: the Manager's flags (`manager_flags`) and the fixed timeout
(`timeout.fixed`). Together, in enforce mode, they are exactly `detection.detect_violations`. Pure."""

from governance.domain.detectors.base import DetectorConfig, DetectorInput, FindingDraft

MANAGER_FLAGS = "manager_flags"
MANAGER_FLAGS_VERSION = "1"
TIMEOUT_FIXED = "timeout.fixed"
TIMEOUT_FIXED_VERSION = "1"

# (the report's flag, the violation it stands for), in the seeds' order
FLAGS = (
    ("hallucinated", "hallucination"),
    ("scope_drift", "scope_drift"),
    ("format_violation", "format_violation"),
)


def manager_flags(report: DetectorInput, config: DetectorConfig) -> list[FindingDraft]:
    """The Manager says so: one finding per flag set, score 1, the flag as evidence."""
    return [
        FindingDraft(
            detector=MANAGER_FLAGS,
            version=MANAGER_FLAGS_VERSION,
            violation_type=violation_type,
            score=1.0,
            evidence={"flag": flag, "source": "manager"},
        )
        for flag, violation_type in FLAGS
        if getattr(report.facts, flag)
    ]


def timeout_fixed(report: DetectorInput, config: DetectorConfig) -> list[FindingDraft]:
    """The seed's fixed limit: strictly longer than the threshold (ms) is a timeout. The score is the
    duration as a multiple of the limit."""
    limit = config.threshold
    duration = report.facts.duration_ms
    if limit is None or duration <= limit:
        return []
    return [
        FindingDraft(
            detector=TIMEOUT_FIXED,
            version=TIMEOUT_FIXED_VERSION,
            violation_type="timeout",
            score=round(duration / limit, 4) if limit else 1.0,
            evidence={"duration_ms": duration, "timeout_ms": int(limit)},
        )
    ]
