"""The detectors' registry and rules, without a database: modes, the seed pair, and format.json_schema."""

import itertools

import pytest

from governance.domain.detection import PROVIDER_ERROR, DetectionConfig, ReportFacts, detect_violations
from governance.domain.detectors import (
    REGISTRY,
    Detector,
    DetectorConfig,
    DetectorInput,
    DetectorSetup,
    FindingDraft,
    Judged,
    Mode,
    detector_setup_build,
    detectors_run,
    enforced_violations,
    setup_problems,
)
from governance.domain.detectors.format import ERRORS_KEPT, json_schema

SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string"}, "confidence": {"type": "number", "minimum": 0, "maximum": 1}},
    "required": ["answer", "confidence"],
    "additionalProperties": False,
}


def check(output, schema=SCHEMA) -> list[FindingDraft]:
    return json_schema(DetectorInput(facts=ReportFacts(), output=output, output_schema=schema), DetectorConfig())


def every_detector(mode: Mode, **overrides: Mode) -> DetectorSetup:
    built = detector_setup_build(modes={}, thresholds={}, fields={"timeout_ms": 60000})
    return DetectorSetup(modes={name: overrides.get(name, mode) for name in REGISTRY}, configs=built.configs)


# --- format.json_schema ---------------------------------------------------------------------------------------


def test_a_malformed_json_output_against_a_schema_is_a_format_finding_with_the_parsers_message():
    [finding] = check('{"answer": "42", "confidence": 0.9')

    assert (finding.detector, finding.violation_type, finding.score) == ("format.json_schema", "format_violation", 1.0)
    assert finding.evidence["not_json"] is True
    [error] = finding.evidence["errors"]
    assert error["path"] == "$" and error["message"].startswith("the output is not JSON: ")
    assert "delimiter" in error["message"]  # json's own words: where it broke


def test_json_that_breaks_the_schema_lists_each_validator_error_with_its_path_and_message():
    [finding] = check({"answer": 42, "confidence": 7, "extra": True})

    errors = finding.evidence["errors"]
    assert finding.evidence["not_json"] is False and finding.evidence["error_count"] == 3
    assert {(e["path"], e["keyword"]) for e in errors} == {
        ("$", "additionalProperties"),
        ("$.answer", "type"),
        ("$.confidence", "maximum"),
    }
    assert next(e for e in errors if e["path"] == "$.answer")["message"] == "42 is not of type 'string'"


def test_json_text_is_read_as_json_before_it_is_checked():
    assert check('{"answer": "yes", "confidence": 0.5}') == []
    [finding] = check('{"answer": "yes"}')
    assert finding.evidence["errors"] == [
        {"path": "$", "message": "'confidence' is a required property", "keyword": "required"}
    ]


def test_an_output_that_follows_the_schema_has_no_finding():
    assert check({"answer": "yes", "confidence": 1}) == []


def test_a_plain_string_is_no_finding_when_the_schema_asks_for_a_string():
    assert check("just words, not JSON", schema={"type": "string", "minLength": 3}) == []
    assert check("42", schema={"type": "string"}) == []  # the JSON reading (a number) fails, the text passes
    [finding] = check("no", schema={"type": "string", "minLength": 3})
    assert finding.evidence["errors"][0]["keyword"] == "json"


def test_without_a_schema_or_an_output_there_is_nothing_to_check():
    assert check(None) == []
    assert check("{not json", schema=None) == []


def test_the_evidence_keeps_the_first_errors_and_counts_them_all():
    schema = {"type": "array", "items": {"type": "integer"}}
    [finding] = check(["x"] * (ERRORS_KEPT + 5), schema=schema)
    assert finding.evidence["error_count"] == ERRORS_KEPT + 5
    assert len(finding.evidence["errors"]) == ERRORS_KEPT


# --- The seed's pair: manager_flags and timeout.fixed -------------------------------------------------------


@pytest.mark.parametrize("flags", list(itertools.product([False, True], repeat=3)))
@pytest.mark.parametrize("duration_ms", [0, 60000, 60001])
def test_the_seed_pair_enforced_finds_exactly_what_detect_violations_finds(flags, duration_ms):
    hallucinated, scope_drift, format_violation = flags
    facts = ReportFacts(
        hallucinated=hallucinated, scope_drift=scope_drift, format_violation=format_violation, duration_ms=duration_ms
    )
    setup = every_detector(Mode.OFF, manager_flags=Mode.ENFORCE, **{"timeout.fixed": Mode.ENFORCE})

    found = enforced_violations(detectors_run(DetectorInput(facts=facts), setup).findings, DetectionConfig())

    expected = [
        name for name, on in zip(("hallucination", "scope_drift", "format_violation"), flags, strict=True) if on
    ]
    if duration_ms > 60000:
        expected.insert(1 if hallucinated else 0, "timeout")
    assert [v.type for v in found] == expected
    assert found == detect_violations(facts)


def test_each_flag_is_a_finding_with_the_flag_as_evidence():
    result = detectors_run(
        DetectorInput(facts=ReportFacts(hallucinated=True, duration_ms=90000)), every_detector(Mode.ENFORCE)
    )

    assert [(f.draft.detector, f.draft.violation_type, f.mode) for f in result.findings] == [
        ("manager_flags", "hallucination", Mode.ENFORCE),
        ("timeout.fixed", "timeout", Mode.ENFORCE),
    ]
    assert result.findings[0].draft.evidence == {"flag": "hallucinated", "source": "manager"}
    assert result.findings[1].draft.evidence == {"duration_ms": 90000, "timeout_ms": 60000}
    assert result.findings[1].draft.score == 1.5


def test_a_provider_fault_runs_no_detector():
    facts = ReportFacts(hallucinated=True, duration_ms=999_999, error_kind=PROVIDER_ERROR)
    assert (
        detectors_run(
            DetectorInput(facts=facts, output="{", output_schema=SCHEMA), every_detector(Mode.ENFORCE)
        ).findings
        == ()
    )


# --- Modes -----------------------------------------------------------------------------------------------------


def test_observed_findings_are_recorded_but_are_no_violation():
    report = DetectorInput(facts=ReportFacts(), output="{broken", output_schema=SCHEMA)
    result = detectors_run(report, every_detector(Mode.ENFORCE, **{"format.json_schema": Mode.OBSERVE}))

    [finding] = result.findings
    assert finding.mode == Mode.OBSERVE and not finding.enforced
    assert enforced_violations(result.findings, DetectionConfig()) == []


def test_an_off_detector_is_not_run():
    calls = []

    def spy(report, config):
        calls.append(report)
        return [FindingDraft("spy", "1", "scope_drift", 1.0, {})]

    registry = {"spy": Detector("spy", "1", Mode.ENFORCE, ("scope_drift",), spy)}
    off = DetectorSetup(modes={"spy": Mode.OFF}, configs={})

    assert detectors_run(DetectorInput(facts=ReportFacts()), off, registry=registry).findings == ()
    assert calls == []
    on = DetectorSetup(modes={"spy": Mode.OBSERVE}, configs={})
    assert len(detectors_run(DetectorInput(facts=ReportFacts()), on, registry=registry).findings) == 1


def test_two_detectors_finding_one_type_make_one_violation_in_the_seeds_order():
    report = DetectorInput(
        facts=ReportFacts(format_violation=True, hallucinated=True), output="{broken", output_schema=SCHEMA
    )
    result = detectors_run(report, every_detector(Mode.ENFORCE))

    assert [f.draft.detector for f in result.findings] == ["manager_flags", "manager_flags", "format.json_schema"]
    assert [v.as_pair() for v in enforced_violations(result.findings, DetectionConfig())] == [
        ["hallucination", 3],
        ["format_violation", 1],
    ]


def test_a_type_no_policy_names_gets_the_mildest_severity_and_comes_after_the_seeds_types():
    drafts = [FindingDraft("x", "1", "latency_anomaly", 4.0, {}), FindingDraft("y", "1", "timeout", 1.0, {})]
    found = enforced_violations([Judged(d, Mode.ENFORCE) for d in drafts], DetectionConfig())
    assert [v.as_pair() for v in found] == [["timeout", 2], ["latency_anomaly", 1]]


def test_a_failing_detector_costs_its_own_findings_and_is_named():
    def broken(report, config):
        raise RuntimeError("model not loaded")

    registry = {
        "broken": Detector("broken", "1", Mode.OBSERVE, ("scope_drift",), broken),
        "manager_flags": REGISTRY["manager_flags"],
    }
    setup = DetectorSetup(modes={"broken": Mode.ENFORCE, "manager_flags": Mode.ENFORCE}, configs={})

    result = detectors_run(DetectorInput(facts=ReportFacts(hallucinated=True)), setup, registry=registry)

    assert [f.draft.violation_type for f in result.findings] == ["hallucination"]
    assert result.failures == (("broken", "RuntimeError: model not loaded"),)


def test_a_score_that_is_not_a_finite_number_is_a_failure_not_a_finding():
    def nan(report, config):
        return [FindingDraft("nan", "1", "scope_drift", float("nan"), {})]

    registry = {"nan": Detector("nan", "1", Mode.OBSERVE, ("scope_drift",), nan)}
    result = detectors_run(
        DetectorInput(facts=ReportFacts()), DetectorSetup({"nan": Mode.OBSERVE}, {}), registry=registry
    )
    assert result.findings == () and result.failures[0][0] == "nan"


# --- The registry and the Director's settings ------------------------------------------------------------------


def test_the_registry_names_each_detector_once_with_a_version_a_default_mode_and_its_types():
    assert list(REGISTRY)[:3] == ["manager_flags", "timeout.fixed", "format.json_schema"]
    for name, detector in REGISTRY.items():
        assert detector.name == name and detector.version and detector.violation_types
        assert isinstance(detector.default_mode, Mode)
    assert REGISTRY["manager_flags"].default_mode == Mode.ENFORCE
    assert REGISTRY["timeout.fixed"].default_mode == Mode.ENFORCE
    assert REGISTRY["format.json_schema"].default_mode == Mode.ENFORCE


def test_a_detector_the_settings_do_not_name_runs_in_its_default_mode():
    setup = detector_setup_build(modes={"format.json_schema": "observe"}, thresholds={}, fields={"timeout_ms": 1000})

    assert setup.mode("format.json_schema") == Mode.OBSERVE
    assert setup.mode("manager_flags") == REGISTRY["manager_flags"].default_mode
    assert setup.config("timeout.fixed").threshold == 1000.0  # the settings' own timeout_ms: one source


@pytest.mark.parametrize(
    ("modes", "thresholds", "field", "words"),
    [
        ({"nope": "enforce"}, {}, "detector_modes", "No detector 'nope'"),
        ({"manager_flags": "loud"}, {}, "detector_modes", "manager_flags: the mode is one of enforce, observe, off"),
        ([], {}, "detector_modes", "an object"),
        ({}, {"nope": 1}, "detector_thresholds", "No detector 'nope'"),
        ({}, {"timeout.fixed": 5}, "detector_thresholds", "the setting timeout_ms"),
        ({}, {"manager_flags": 5}, "detector_thresholds", "takes no threshold"),
    ],
)
def test_unknown_detectors_modes_and_thresholds_are_refused_by_field(modes, thresholds, field, words):
    problems = setup_problems(modes=modes, thresholds=thresholds)
    assert list(problems) == [field]
    assert words in problems[field]


def test_known_detectors_and_modes_pass():
    assert setup_problems(modes={name: "observe" for name in REGISTRY}, thresholds={}) == {}


# --- The text and latency detectors' registry entries ------------------------------------------------------------


class TopicModel:
    """An embedder that knows one topic: a text about the refund points one way, anything else the other."""

    def embed(self, texts, norm=True):
        import numpy as np

        return np.array([[1.0, 0.0] if "refund" in t.lower() else [0.0, 1.0] for t in texts])


def test_the_text_detectors_are_registered_to_observe_with_their_thresholds():
    assert REGISTRY["scope.semantic"].default_mode == REGISTRY["claims.unsupported"].default_mode == Mode.OBSERVE
    assert REGISTRY["latency.anomaly"].default_mode == Mode.OBSERVE
    setup = detector_setup_build(modes={}, thresholds={"scope.semantic": 0.9}, fields={"timeout_ms": 60000})
    assert setup.config("scope.semantic").threshold == 0.9
    assert setup.config("claims.unsupported").threshold == REGISTRY["claims.unsupported"].default_threshold


def test_without_instructions_sources_or_output_the_text_detectors_do_not_load_the_model(monkeypatch):
    import governance.domain.detectors as detectors

    def no_model():
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(detectors, "_embedding_model", no_model)
    seed = DetectorInput(facts=ReportFacts(hallucinated=True))
    no_output = DetectorInput(facts=ReportFacts(), instructions="Reply about the refund.", sources=("Refund policy.",))

    for report in (seed, no_output):
        assert detectors.scope_semantic(report, DetectorConfig(0.65)) == []
        assert detectors.claims_unsupported(report, DetectorConfig(0.3)) == []


def test_an_off_task_output_is_a_scope_drift_finding_and_an_on_task_one_is_not(monkeypatch):
    import governance.domain.detectors as detectors
    from governance.domain.detectors import text

    text.task_embeddings_forget()
    monkeypatch.setattr(detectors, "_embedding_model", TopicModel)
    task = {"facts": ReportFacts(), "instructions": "Reply to the customer about the late refund."}

    [found] = detectors.scope_semantic(
        DetectorInput(output="Our spring collection has arrived in six colours.", **task), DetectorConfig(0.65)
    )
    on_task = DetectorInput(output="Your refund of 89 euros is on its way.", **task)

    assert (found.detector, found.violation_type, found.score) == ("scope.semantic", "scope_drift", 1.0)
    assert found.evidence["threshold"] == 0.65
    assert detectors.scope_semantic(on_task, DetectorConfig(0.65)) == []
