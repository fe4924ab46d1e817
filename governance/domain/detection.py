"""The Auditor's detection and correlation rules (seed batch 11), pure."""

from collections.abc import Sequence
from dataclasses import dataclass

PROVIDER_ERROR = "provider"

# The severity scale, mildest to gravest. The default policies use 1 to 4 (repeat_offense); 5 is left for a graver
# type the Director may write. The API refuses a severity outside it.
SEVERITY_MIN = 1
SEVERITY_MAX = 5


@dataclass(frozen=True)
class Violation:
    type: str
    severity: int

    def as_pair(self) -> list:
        return [self.type, self.severity]


@dataclass(frozen=True)
class ReportFacts:
    """The flags and measurements of one attempt that detection looks at."""

    hallucinated: bool = False
    scope_drift: bool = False
    format_violation: bool = False
    duration_ms: int = 0
    error_kind: str = ""
    retries: int | None = None


@dataclass(frozen=True)
class DetectionConfig:
    timeout_ms: int = 60000
    severities: tuple[tuple[str, int], ...] = (
        ("hallucination", 3),
        ("timeout", 2),
        ("scope_drift", 2),
        ("format_violation", 1),
    )

    def severity(self, violation_type: str) -> int:
        return dict(self.severities)[violation_type]


def is_provider_fault(report: ReportFacts) -> bool:
    """A provider's rate limit, 5xx or outage is not the worker's misconduct."""
    return report.error_kind == PROVIDER_ERROR


def detect_violations(report: ReportFacts, config: DetectionConfig = DetectionConfig()) -> list[Violation]:
    """The seed's detector, plus format violations; a provider fault yields none. Since issue 11 it is the pair
    of detectors `manager_flags` and `timeout.fixed`, both enforced (governance.domain.detectors); the report
    pipeline runs the whole registry."""
    from governance.domain.detectors import seed_violations  # the detectors' types import this module

    return seed_violations(report, config)


def correlate(task_id: str, violations: Sequence[Violation], logs: Sequence, evidence_entries: int = 5) -> dict:
    """The incident report: the task, its violations and the last log entries as evidence."""
    evidence = list(logs[-evidence_entries:]) if evidence_entries > 0 else []
    return {"task_id": task_id, "violations": [v.as_pair() for v in violations], "evidence": evidence}
