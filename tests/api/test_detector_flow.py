"""The detectors through the API: a task's output schema, a report's output, findings stored and answered, and the
Director's modes (enforce, observe, off) set through POST /api/director/detectors/<name>/mode/."""

import hashlib
import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from governance.models import AuditRecord, AuditRunItem, DisciplinaryAction, Finding, GovernanceSettings, Incident
from governance.services.audit_runs import audit_run_process, audit_run_submit
from governance.services.reports import ReportInput
from workforce.domain.actor import MANAGER, service_key
from workforce.models import Task, Worker

pytestmark = pytest.mark.django_db

CODER = "openai/gpt-4o"
OTHER = "meta-llama/Llama-3.1-8B"
SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string"}, "confidence": {"type": "number", "minimum": 0, "maximum": 1}},
    "required": ["answer", "confidence"],
}
MALFORMED = '{"answer": "42", "confidence": 0.9'


@pytest.fixture
def crew(api):
    api.hire(CODER, tier="MID")
    api.hire(OTHER, tier="JUNIOR")
    return api


def register(api, task_id: str, *, expect: int = 201, **fields) -> dict:
    body = {"task_id": task_id, "capability": "code", "model_id": CODER, **fields}
    return api.post("/api/tasks/", body, expect=expect)


def set_mode(client, name: str, mode: str, *, reason: str = "calibrating", expect: int = 200, **headers):
    response = client.post(
        f"/api/director/detectors/{name}/mode/", {"mode": mode, "reason": reason}, format="json", **headers
    )
    assert response.status_code == expect, response.content
    return response.json()


# --- Inputs ------------------------------------------------------------------------------------------------------


def test_a_task_keeps_its_instructions_sources_and_output_schema(crew):
    register(
        crew, "t/with-inputs", instructions="Sum the list.", sources=["The list is 1, 2, 3."], output_schema=SCHEMA
    )

    task = Task.objects.get(task_id="t/with-inputs")
    assert (task.instructions, task.sources, task.output_schema) == ("Sum the list.", ["The list is 1, 2, 3."], SCHEMA)


def test_a_task_registered_as_the_seed_does_stores_none_of_them(crew):
    crew.register("t/seed", model_id=CODER)

    task = Task.objects.get(task_id="t/seed")
    assert (task.instructions, task.sources, task.output_schema) == (None, None, None)


@pytest.mark.parametrize(
    ("schema", "words"),
    [
        ({"type": "no-such-type"}, "Not a valid JSON Schema"),
        ({"properties": {"a": {"minimum": "zero"}}}, "(at /properties/a/minimum)"),
        (["not", "an", "object"], "an object"),
        ({"$schema": 5}, "names no draft"),
        ({"$schema": "https://example.com/no-such-draft"}, "names no draft"),
    ],
)
def test_a_bad_output_schema_is_a_400_naming_the_field(crew, schema, words):
    body = register(crew, "t/bad-schema", expect=400, output_schema=schema)

    assert list(body) == ["output_schema"]
    assert words in body["output_schema"][0]


def test_an_output_over_the_limit_is_a_400_naming_the_field(crew):
    crew.register("t/big", model_id=CODER)

    body = crew.report("t/big", output="x" * 100_001, expect=400)

    assert list(body) == ["output"] and "100000" in body["output"][0]
    assert AuditRecord.objects.count() == 0


def test_the_report_stores_its_output(crew):
    crew.register("t/out", model_id=CODER)

    crew.report("t/out", output={"answer": "6", "steps": [1, 2, 3]}, report_id="r-out")

    assert AuditRecord.objects.get(report_id="r-out").output == {"answer": "6", "steps": [1, 2, 3]}


def test_an_old_payload_keeps_its_fingerprint():
    report = ReportInput(task_id="t", logs=["a"], hallucinated=True, duration_ms=5)
    seed_fields = {
        "task_id": "t",
        "logs": ["a"],
        "hallucinated": True,
        "duration_ms": 5,
        "scope_drift": False,
        "model_id": None,
        "format_violation": False,
        "retries": None,
        "test_pass_rate": None,
        "manager_satisfaction": None,
        "confidence": None,
        "error_kind": "",
    }
    canonical = json.dumps(seed_fields, sort_keys=True, separators=(",", ":"), default=str)

    assert report.fingerprint() == hashlib.sha256(canonical.encode()).hexdigest()
    assert ReportInput(task_id="t", logs=["a"], hallucinated=True, duration_ms=5, output="x").fingerprint() != (
        report.fingerprint()
    )


# --- format.json_schema, enforced by default -------------------------------------------------------------------


def test_a_malformed_json_output_against_the_schema_is_a_format_violation_with_the_errors_as_evidence(crew):
    register(crew, "t/json", output_schema=SCHEMA)

    body = crew.report("t/json", output=MALFORMED, report_id="r-json")

    assert body["status"] == "violation"
    assert body["report"]["violations"] == [["format_violation", 1]]
    assert body["actions"] == ["WARNING"] and body["reassigned_to"] == OTHER
    assert body["findings"] == [
        {"detector": "format.json_schema", "mode": "enforce", "violation_type": "format_violation", "score": 1.0}
    ]
    finding = Finding.objects.get()
    record = AuditRecord.objects.get(report_id="r-json")
    assert (finding.audit_record, finding.incident, finding.worker.model_id, finding.task.task_id) == (
        record,
        record.incident,
        CODER,
        "t/json",
    )
    assert (finding.detector, finding.detector_version, finding.mode) == ("format.json_schema", "1", "enforce")
    assert finding.settings_version == record.settings_version
    [error] = finding.evidence["errors"]
    assert error["path"] == "$" and "not JSON" in error["message"] and "delimiter" in error["message"]


def test_json_breaking_the_schema_lists_the_validators_errors(crew):
    register(crew, "t/json2", output_schema=SCHEMA)

    crew.report("t/json2", output={"answer": 42, "confidence": 3})

    evidence = Finding.objects.get().evidence
    assert [(e["path"], e["keyword"]) for e in evidence["errors"]] == [
        ("$.answer", "type"),
        ("$.confidence", "maximum"),
    ]
    assert evidence["errors"][1]["message"] == "3 is greater than the maximum of 1"


def test_an_output_that_follows_the_schema_is_clean_and_writes_no_finding(crew):
    register(crew, "t/ok", output_schema=SCHEMA)

    body = crew.report("t/ok", output='{"answer": "6", "confidence": 0.8}', report_id="r-ok")

    assert body == {"status": "clean", "report_id": "r-ok", "task_id": "t/ok", "model_id": CODER}
    assert Finding.objects.count() == 0


# --- The seed's flags, as before --------------------------------------------------------------------------------


def test_the_seed_payload_with_flags_alone_is_answered_as_before_and_its_finding_is_recorded(crew):
    crew.register("t/flag", model_id=CODER)

    body = crew.report("t/flag", logs=["a", "b"], hallucinated=True)

    assert body["report"] == {"task_id": "t/flag", "violations": [["hallucination", 3]], "evidence": ["a", "b"]}
    assert body["actions"] == ["STRIKE"]
    assert body["findings"] == [
        {"detector": "manager_flags", "mode": "enforce", "violation_type": "hallucination", "score": 1.0}
    ]
    finding = Finding.objects.get()
    assert finding.evidence == {"flag": "hallucinated", "source": "manager"}
    assert finding.incident == Incident.objects.get()


def test_a_clean_seed_report_writes_no_finding(crew):
    crew.register("t/clean", model_id=CODER)

    body = crew.report("t/clean", report_id="r-clean", duration_ms=1200)

    assert body == {"status": "clean", "report_id": "r-clean", "task_id": "t/clean", "model_id": CODER}
    assert Finding.objects.count() == 0


# --- Modes -------------------------------------------------------------------------------------------------------


def test_an_observe_mode_finding_sanctions_nobody_but_is_stored(crew, director_key):
    register(crew, "t/observed", output_schema=SCHEMA)
    set_mode(director_key, "format.json_schema", "observe", reason="too many false alarms")

    body = crew.report("t/observed", output=MALFORMED, report_id="r-observed")

    assert body["status"] == "clean" and "incident_id" not in body
    assert body["findings"] == [
        {"detector": "format.json_schema", "mode": "observe", "violation_type": "format_violation", "score": 1.0}
    ]
    assert Incident.objects.count() == DisciplinaryAction.objects.count() == 0
    assert crew.worker(CODER)["reputation"] == 60
    finding = Finding.objects.get()
    assert (finding.mode, finding.incident, finding.audit_record.report_id) == ("observe", None, "r-observed")
    assert finding.evidence["not_json"] is True


def test_observed_findings_beside_an_enforced_flag_are_stored_without_the_incident(crew, director_key):
    register(crew, "t/both", output_schema=SCHEMA)
    set_mode(director_key, "format.json_schema", "observe")

    body = crew.report("t/both", output=MALFORMED, hallucinated=True)

    assert body["report"]["violations"] == [["hallucination", 3]]
    rows = {f.detector: f for f in Finding.objects.all()}
    assert rows["manager_flags"].incident == Incident.objects.get()
    assert rows["format.json_schema"].incident is None and rows["format.json_schema"].mode == "observe"


def test_an_off_detector_is_not_run(crew, director_key):
    register(crew, "t/off", output_schema=SCHEMA)
    set_mode(director_key, "format.json_schema", "off")

    body = crew.report("t/off", output=MALFORMED, report_id="r-off")

    assert body == {"status": "clean", "report_id": "r-off", "task_id": "t/off", "model_id": CODER}
    assert Finding.objects.count() == 0


def test_manager_flags_off_lets_a_flagged_report_through(crew, director_key):
    crew.register("t/flags-off", model_id=CODER)
    set_mode(director_key, "manager_flags", "off")

    body = crew.report("t/flags-off", hallucinated=True)

    assert body["status"] == "clean" and Finding.objects.count() == 0


# --- The modes API ---------------------------------------------------------------------------------------------


def test_every_role_lists_the_detectors_with_their_modes_and_thresholds(viewer_key, director_key):
    listed = {d["name"]: d for d in viewer_key.get("/api/detectors/").json()}

    assert {"manager_flags", "timeout.fixed", "format.json_schema"} <= set(listed)
    assert listed["format.json_schema"]["mode"] == listed["format.json_schema"]["default_mode"] == "enforce"
    assert (
        listed["timeout.fixed"]["threshold"] == 60000 and listed["timeout.fixed"]["threshold_setting"] == "timeout_ms"
    )

    set_mode(director_key, "format.json_schema", "observe")

    listed = {d["name"]: d for d in viewer_key.get("/api/detectors/").json()}
    assert listed["format.json_schema"]["mode"] == "observe"
    assert listed["format.json_schema"]["default_mode"] == "enforce"


def test_the_director_sets_a_mode_as_a_new_settings_version_with_the_reason(director_key):
    before = GovernanceSettings.objects.order_by("-version").first()

    answer = set_mode(director_key, "format.json_schema", "observe", reason="schema too strict for v1 tasks")

    after = GovernanceSettings.objects.order_by("-version").first()
    assert answer["settings_version"] == after.version > before.version
    assert answer == {
        "detector": "format.json_schema",
        "before": "enforce",
        "mode": "observe",
        "changed": True,
        "settings_version": after.version,
        "actor": "key:director-key",
        "reason": after.note,
    }
    assert after.detector_modes == {"format.json_schema": "observe"}
    assert "schema too strict for v1 tasks" in after.note and "key:director-key" in after.note
    assert after.history.get().history_actor == "key:director-key"
    # Everything else is the version before's.
    assert (after.timeout_ms, after.weights, after.penalty_points) == (
        before.timeout_ms,
        before.weights,
        before.penalty_points,
    )


def test_setting_the_mode_a_detector_already_has_publishes_nothing(director_key):
    count = GovernanceSettings.objects.count()

    answer = set_mode(director_key, "manager_flags", "enforce")

    assert answer["changed"] is False and GovernanceSettings.objects.count() == count


def test_a_retry_with_the_same_idempotency_key_is_answered_once(director_key):
    first = set_mode(director_key, "format.json_schema", "observe", HTTP_IDEMPOTENCY_KEY="mode-1")
    count = GovernanceSettings.objects.count()

    again = director_key.post(
        "/api/director/detectors/format.json_schema/mode/",
        {"mode": "observe", "reason": "calibrating"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="mode-1",
    )

    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first and GovernanceSettings.objects.count() == count


def test_the_manager_may_not_set_a_mode(api):
    count = GovernanceSettings.objects.count()

    set_mode(api.client, "format.json_schema", "off", expect=403)

    assert GovernanceSettings.objects.count() == count


@pytest.mark.parametrize(
    ("name", "body", "status", "field"),
    [
        ("no.such", {"mode": "off", "reason": "x"}, 404, "name"),
        ("manager_flags", {"mode": "loud", "reason": "x"}, 400, "mode"),
        ("manager_flags", {"mode": "off"}, 400, "reason"),
        ("manager_flags", {"mode": "off", "reason": "   "}, 400, "reason"),
    ],
)
def test_a_bad_mode_command_names_the_field(director_key, name, body, status, field):
    count = GovernanceSettings.objects.count()

    response = director_key.post(f"/api/director/detectors/{name}/mode/", body, format="json")

    assert response.status_code == status and field in response.json()
    assert GovernanceSettings.objects.count() == count


# --- Batches ---------------------------------------------------------------------------------------------------


def test_a_batch_sends_a_report_with_a_finding_the_one_report_way_and_writes_none_for_clean_ones(crew):
    register(crew, "b/json", output_schema=SCHEMA)
    crew.register("b/clean", model_id=OTHER)
    reports = [
        {"task_id": "b/clean", "logs": ["ok"], "report_id": "b-clean"},
        {"task_id": "b/json", "logs": ["ok"], "output": MALFORMED, "report_id": "b-json"},
    ]
    run, _ = audit_run_submit(reports=reports, actor=service_key("batch", MANAGER), now=timezone.now())

    audit_run_process(run_id=run.id)

    results = [i.result for i in AuditRunItem.objects.filter(run=run).order_by("position")]
    assert results[0] == {"status": "clean", "report_id": "b-clean", "task_id": "b/clean", "model_id": OTHER}
    assert results[1]["status"] == "violation" and results[1]["report"]["violations"] == [["format_violation", 1]]
    assert list(Finding.objects.values_list("audit_record__report_id", "detector")) == [
        ("b-json", "format.json_schema")
    ]
    assert AuditRecord.objects.get(report_id="b-json").output == MALFORMED


# --- The text detectors, observe by default ------------------------------------------------------------------------

LABELLED = Path(__file__).resolve().parents[1] / "data" / "detector_labelled_set.json"


def labelled(task_id: str, *item_ids: str) -> tuple[dict, list[str]]:
    data = json.loads(LABELLED.read_text())
    task = next(t for t in data["tasks"] if t["id"] == task_id)
    outputs = {i["id"]: i["output"] for i in data["items"]}
    return task, [outputs[i] for i in item_ids]


def test_an_off_task_output_is_observed_as_scope_drift_and_an_on_task_one_is_not(crew):
    task, (off_task, on_task) = labelled("refund-reply", "refund-off-1", "refund-on-1")
    register(crew, "t/off-task", instructions=task["instructions"], sources=task["sources"])
    register(crew, "t/on-task", instructions=task["instructions"], sources=task["sources"])

    off = crew.report("t/off-task", output=off_task)
    on = crew.report("t/on-task", output=on_task)

    assert off["status"] == on["status"] == "clean"  # observe: recorded, nobody sanctioned
    assert {"detector": "scope.semantic", "mode": "observe", "violation_type": "scope_drift"} in [
        {k: f[k] for k in ("detector", "mode", "violation_type")} for f in off["findings"]
    ]
    assert "scope.semantic" not in [f["detector"] for f in on.get("findings", [])]
    finding = Finding.objects.get(detector="scope.semantic")
    assert finding.task.task_id == "t/off-task" and finding.incident is None
    assert finding.score >= 0.65 and finding.evidence["least_related_sentences"]


def test_an_unsupported_claim_is_observed_and_a_supported_answer_is_not(crew):
    task, (invented, faithful) = labelled("refund-reply", "refund-unsup-2", "refund-on-1")
    register(crew, "t/invented", instructions=task["instructions"], sources=task["sources"])
    register(crew, "t/faithful", instructions=task["instructions"], sources=task["sources"])

    crew.report("t/invented", output=invented)
    crew.report("t/faithful", output=faithful)

    finding = Finding.objects.get(detector="claims.unsupported")
    assert (finding.task.task_id, finding.mode, finding.violation_type) == ("t/invented", "observe", "hallucination")
    assert any("129.00" in s["sentence"] for s in finding.evidence["unsupported_sentences"])
    assert Incident.objects.count() == 0


# --- latency.anomaly, observe by default --------------------------------------------------------------------------


def test_a_slow_answer_among_fast_ones_is_observed_as_a_latency_anomaly(crew):
    crew.register("t/history", model_id=CODER)
    worker, task = Worker.objects.get(model_id=CODER), Task.objects.get(task_id="t/history")
    now = timezone.now()
    AuditRecord.objects.bulk_create(
        AuditRecord(
            report_id=f"past-{n}",
            request_hash="0" * 64,
            task=task,
            worker=worker,
            duration_ms=4800 + 20 * (n % 10),
            outcome=AuditRecord.Outcome.CLEAN,
            settings_version=1,
            received_at=now - timedelta(minutes=n + 1),
        )
        for n in range(30)
    )
    crew.register("t/slow", model_id=CODER)
    crew.register("t/usual", model_id=CODER)

    usual = crew.report("t/usual", duration_ms=5000)
    slow = crew.report("t/slow", duration_ms=40_000)

    assert "findings" not in usual
    assert slow["status"] == "clean"
    assert slow["findings"][0]["detector"] == "latency.anomaly" and slow["findings"][0]["mode"] == "observe"
    finding = Finding.objects.get(detector="latency.anomaly")
    assert finding.evidence["reference"] == "worker" and finding.evidence["anomalous"] == ["duration"]
    assert finding.score > 3.5
