"""The Auditor's detection and correlation rules, without a database."""

import pytest

from governance.domain.detection import (
    PROVIDER_ERROR,
    DetectionConfig,
    ReportFacts,
    Violation,
    correlate,
    detect_violations,
    is_provider_fault,
)


def pairs(violations: list[Violation]) -> list[tuple[str, int]]:
    return [(v.type, v.severity) for v in violations]


def test_a_clean_report_yields_no_violation():
    assert detect_violations(ReportFacts()) == []


def test_a_hallucination_is_severity_three():
    assert pairs(detect_violations(ReportFacts(hallucinated=True))) == [("hallucination", 3)]


def test_scope_drift_is_severity_two():
    assert pairs(detect_violations(ReportFacts(scope_drift=True))) == [("scope_drift", 2)]


def test_a_format_violation_is_severity_one():
    assert pairs(detect_violations(ReportFacts(format_violation=True))) == [("format_violation", 1)]


@pytest.mark.parametrize(
    ("duration_ms", "timed_out"),
    [(0, False), (59999, False), (60000, False), (60001, True), (3_600_000, True)],
)
def test_a_timeout_needs_strictly_more_than_sixty_seconds(duration_ms, timed_out):
    found = pairs(detect_violations(ReportFacts(duration_ms=duration_ms)))
    assert found == ([("timeout", 2)] if timed_out else [])


def test_every_flag_at_once_yields_every_violation_in_the_seeds_order():
    report = ReportFacts(hallucinated=True, scope_drift=True, format_violation=True, duration_ms=60001)
    assert pairs(detect_violations(report)) == [
        ("hallucination", 3),
        ("timeout", 2),
        ("scope_drift", 2),
        ("format_violation", 1),
    ]


def test_a_provider_fault_yields_no_violation_even_with_every_flag_set():
    report = ReportFacts(
        hallucinated=True, scope_drift=True, format_violation=True, duration_ms=999_999, error_kind=PROVIDER_ERROR
    )
    assert is_provider_fault(report)
    assert detect_violations(report) == []


@pytest.mark.parametrize("error_kind", ["", "worker", "timeout", "Provider", "validation"])
def test_other_error_kinds_are_not_provider_faults_and_still_count(error_kind):
    report = ReportFacts(hallucinated=True, error_kind=error_kind)
    assert not is_provider_fault(report)
    assert pairs(detect_violations(report)) == [("hallucination", 3)]


def test_the_timeout_threshold_and_severities_come_from_the_config():
    config = DetectionConfig(
        timeout_ms=1000,
        severities=(("hallucination", 5), ("timeout", 4), ("scope_drift", 3), ("format_violation", 2)),
    )
    assert pairs(detect_violations(ReportFacts(duration_ms=1000), config)) == []
    report = ReportFacts(hallucinated=True, duration_ms=1001, scope_drift=True, format_violation=True)
    assert pairs(detect_violations(report, config)) == [
        ("hallucination", 5),
        ("timeout", 4),
        ("scope_drift", 3),
        ("format_violation", 2),
    ]


def test_a_violation_serialises_as_a_type_and_severity_pair():
    assert Violation("timeout", 2).as_pair() == ["timeout", 2]


def test_the_incident_report_names_the_task_and_its_violations():
    report = correlate("task-7", [Violation("hallucination", 3), Violation("timeout", 2)], ["a"])
    assert report == {
        "task_id": "task-7",
        "violations": [["hallucination", 3], ["timeout", 2]],
        "evidence": ["a"],
    }


def test_the_evidence_is_the_last_five_log_entries():
    logs = [f"line {n}" for n in range(12)]
    assert correlate("t", [], logs)["evidence"] == ["line 7", "line 8", "line 9", "line 10", "line 11"]


@pytest.mark.parametrize("count", [0, 1, 4, 5])
def test_the_evidence_keeps_every_entry_when_there_are_five_or_fewer(count):
    logs = [{"n": n} for n in range(count)]
    assert correlate("t", [], logs)["evidence"] == logs


def test_the_evidence_is_a_list_even_when_the_logs_are_a_tuple():
    assert correlate("t", [], ("a", "b", "c", "d", "e", "f"))["evidence"] == ["b", "c", "d", "e", "f"]


def test_the_evidence_length_is_configurable_and_zero_keeps_nothing():
    logs = list(range(10))
    assert correlate("t", [], logs, evidence_entries=2)["evidence"] == [8, 9]
    assert correlate("t", [], logs, evidence_entries=0)["evidence"] == []
