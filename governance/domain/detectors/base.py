"""What every detector is made of: its input, its config, its findings, and its entry in the registry. Pure.

Kept apart from the package's `__init__`, which imports every detector module, so that a detector module can
import these types without a circular import.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from governance.domain.detection import ReportFacts


class Mode(StrEnum):
    """What the Director lets a detector do. ENFORCE: its findings are violations and go to HR. OBSERVE: its
    findings are recorded and counted, and sanction nobody. OFF: it does not run."""

    ENFORCE = "enforce"
    OBSERVE = "observe"
    OFF = "off"


MODES = tuple(mode.value for mode in Mode)


@dataclass(frozen=True)
class DetectorInput:
    """One report as the detectors see it, with what its task asked for.

    `output` is the worker's output as reported (a string or any JSON value), None when the report carried none.
    `instructions`, `sources` and `output_schema` are the task's, None when the Manager gave none.
    `latency_history` is loaded only when a detector that reads it runs (latency.anomaly); None otherwise.
    """

    facts: ReportFacts
    output: Any = None
    instructions: str | None = None
    sources: tuple[str, ...] | None = None
    output_schema: dict | None = None
    capability: str = ""
    latency_history: Any = None


@dataclass(frozen=True)
class DetectorConfig:
    """What one detector reads from the settings in force: its threshold (None for a detector that has none)."""

    threshold: float | None = None


@dataclass(frozen=True)
class FindingDraft:
    """What a detector found: `score` says how strongly, `evidence` (JSON-able) what it rests on."""

    detector: str
    version: str
    violation_type: str
    score: float
    evidence: Any


DetectorFunction = Callable[[DetectorInput, DetectorConfig], list[FindingDraft]]


@dataclass(frozen=True)
class Detector:
    """A registry entry. `name` and `version` are stored on every finding: a changed rule gets a new version.

    `violation_types` are the types its findings carry (the first is its main one). A detector whose threshold
    is a settings field of its own (timeout.fixed: `timeout_ms`) names it in `threshold_field`; one with
    `default_threshold` takes the Director's value from the settings' `detector_thresholds`, this by default.
    `reads` names the inputs it needs (for the docs, the API, and to load latency history only when needed).
    """

    name: str
    version: str
    default_mode: Mode
    violation_types: tuple[str, ...]
    run: DetectorFunction
    default_threshold: float | None = None
    threshold_field: str | None = None
    reads: tuple[str, ...] = ()
    description: str = ""

    @property
    def violation_type(self) -> str:
        return self.violation_types[0]

    @property
    def tunable(self) -> bool:
        """Whether the settings' `detector_thresholds` may set its threshold."""
        return self.default_threshold is not None


@dataclass(frozen=True)
class DetectorSetup:
    """The Director's choices in force, for every registered detector: its mode and its config."""

    modes: Mapping[str, Mode]
    configs: Mapping[str, DetectorConfig]

    def mode(self, name: str) -> Mode:
        return self.modes.get(name, Mode.OFF)

    def config(self, name: str) -> DetectorConfig:
        return self.configs.get(name, DetectorConfig())


@dataclass(frozen=True)
class Judged:
    """A finding with the mode it was found under (never OFF: an off detector does not run)."""

    draft: FindingDraft
    mode: Mode

    @property
    def enforced(self) -> bool:
        return self.mode == Mode.ENFORCE

    def as_answer(self) -> dict:
        """What the Manager's answer says of it."""
        return {
            "detector": self.draft.detector,
            "mode": self.mode.value,
            "violation_type": self.draft.violation_type,
            "score": self.draft.score,
        }


@dataclass(frozen=True)
class DetectionResult:
    """Every finding of one report, and the observe-mode detectors that failed (their names and errors)."""

    findings: tuple[Judged, ...] = ()
    failures: tuple[tuple[str, str], ...] = ()

    @property
    def enforced(self) -> tuple[Judged, ...]:
        return tuple(f for f in self.findings if f.enforced)
