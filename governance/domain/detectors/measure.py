"""Precision and recall of the text detectors on the labelled set, and the threshold sweeps behind their defaults.

A detector's positive class is the label that should raise a finding: ``off_task`` for scope, ``unsupported`` for
claims. Scores are computed once per item and thresholds applied after, so a sweep costs one pass of the model
(claims once per support similarity, since that changes which sentences count as supported).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from governance.domain.detectors import text

LABELLED_SET = Path(__file__).resolve().parents[3] / "tests" / "data" / "detector_labelled_set.json"

SCOPE_POSITIVE = "off_task"
CLAIMS_POSITIVE = "unsupported"


@dataclass(frozen=True)
class Measured:
    """One detector's confusion counts at one threshold."""

    detector: str
    threshold: float
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def items(self) -> int:
        return self.tp + self.fp + self.fn + self.tn


def load_labelled_set(path: Path = LABELLED_SET) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _cases(data: dict[str, Any], label: str, *, needs_sources: bool = False):
    tasks = {task["id"]: task for task in data["tasks"]}
    for item in data["items"]:
        if label in item["labels"]:
            task = tasks[item["task"]]
            if not needs_sources or task.get("sources"):
                yield item, task


def scope_scores(data: dict[str, Any], *, model) -> list[tuple[str, float, bool]]:
    """(item id, drift, is off-task) for every item labelled for scope."""
    rows = []
    for item, task in _cases(data, "scope"):
        measured = text.scope_drift(task["instructions"], item["output"], model=model, sources=task.get("sources", ()))
        drift = measured[0] if measured else 0.0
        rows.append((item["id"], drift, item["labels"]["scope"] == SCOPE_POSITIVE))
    return rows


def claims_scores(
    data: dict[str, Any], *, model, support_similarity: float, on_task_only: bool = False
) -> list[tuple[str, float, bool]]:
    """(item id, unsupported share, is unsupported) for every item labelled for claims whose task has sources.

    ``on_task_only`` keeps the outputs that answer the task, the hard half: an off-task output is unsupported
    almost by construction.
    """
    rows = []
    for item, task in _cases(data, "claims", needs_sources=True):
        if on_task_only and item["labels"].get("scope") == SCOPE_POSITIVE:
            continue
        measured = text.claims_support(
            item["output"], task["sources"], model=model, support_similarity=support_similarity
        )
        share = measured[0] if measured and measured[1]["unsupported"] else 0.0
        rows.append((item["id"], share, item["labels"]["claims"] == CLAIMS_POSITIVE))
    return rows


def confusion(detector: str, rows: list[tuple[str, float, bool]], threshold: float) -> Measured:
    """Counts with a finding at ``score >= threshold``, the detectors' own rule."""
    tp = sum(1 for _, score, positive in rows if positive and score >= threshold)
    fp = sum(1 for _, score, positive in rows if not positive and score >= threshold)
    fn = sum(1 for _, score, positive in rows if positive and score < threshold)
    tn = sum(1 for _, score, positive in rows if not positive and score < threshold)
    return Measured(detector, threshold, tp, fp, fn, tn)


def misjudged(rows: list[tuple[str, float, bool]], threshold: float) -> list[tuple[str, float, bool]]:
    """The items a threshold gets wrong, for reading the failures."""
    return [row for row in rows if (row[1] >= threshold) != row[2]]


def grid(start: float, stop: float, step: float) -> list[float]:
    count = int(round((stop - start) / step)) + 1
    return [round(start + i * step, 4) for i in range(count)]


def measure_text_detectors(
    data: dict[str, Any],
    *,
    model,
    scope_threshold: float = text.SCOPE_THRESHOLD_DEFAULT,
    claims_share: float = text.CLAIMS_SHARE_DEFAULT,
    support_similarity: float = text.CLAIMS_SUPPORT_SIMILARITY_DEFAULT,
) -> dict[str, Measured]:
    """Precision and recall of both detectors at the given thresholds (the defaults unless told otherwise)."""
    claims_rows = claims_scores(data, model=model, support_similarity=support_similarity)
    on_task_rows = claims_scores(data, model=model, support_similarity=support_similarity, on_task_only=True)
    return {
        text.SCOPE_NAME: confusion(text.SCOPE_NAME, scope_scores(data, model=model), scope_threshold),
        text.CLAIMS_NAME: confusion(text.CLAIMS_NAME, claims_rows, claims_share),
        f"{text.CLAIMS_NAME} (on-task outputs)": confusion(text.CLAIMS_NAME, on_task_rows, claims_share),
    }


def _percentile(sorted_values: list[float], share: float) -> float:
    index = min(len(sorted_values) - 1, max(0, int(round(share * (len(sorted_values) - 1)))))
    return sorted_values[index]


def text_detection_latency(data: dict[str, Any], *, model, rounds: int = 20, warm: bool = False) -> dict[str, float]:
    """Milliseconds both text detectors add to one report, p50 and p99 over every labelled output ``rounds`` times.

    Each run is what detection does for a report whose task has instructions (and sources): scope, then claims.
    Cold (the default) forgets the task's embeddings before each run, as for a task's first report; ``warm`` keeps
    them, as for its retries and later reports.
    """
    import time

    runs: list[float] = []
    cases = list(_cases(data, "scope")) + list(_cases(data, "claims"))
    for _ in range(rounds):
        for item, task in cases:
            sources = task.get("sources", [])
            if not warm:
                text.task_embeddings_forget()
            started = time.perf_counter()
            text.scope_semantic(task["instructions"], item["output"], model=model, sources=sources)
            text.claims_unsupported(item["output"], sources, model=model)
            runs.append((time.perf_counter() - started) * 1000)
    runs.sort()
    return {"runs": len(runs), "p50_ms": _percentile(runs, 0.50), "p99_ms": _percentile(runs, 0.99), "max_ms": runs[-1]}


def format_confusion(data: dict[str, Any]) -> Measured:
    """The format.json_schema detector on the items labelled for format (a finding is a malformed verdict)."""
    from governance.domain.detection import ReportFacts
    from governance.domain.detectors.base import DetectorConfig, DetectorInput
    from governance.domain.detectors.format import FORMAT_JSON_SCHEMA, json_schema

    rows = []
    for item, task in _cases(data, "format"):
        report = DetectorInput(facts=ReportFacts(), output=item["output"], output_schema=task["schema"])
        found = bool(json_schema(report, DetectorConfig()))
        rows.append((item["id"], 1.0 if found else 0.0, item["labels"]["format"] == "malformed"))
    return confusion(FORMAT_JSON_SCHEMA, rows, 1.0)
