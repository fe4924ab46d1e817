"""A batch run writes its clean reports set-based and the rest one at a time (governance.services.report_batches):
the same records and answers as the one-report flow, a worker's reports in their order, in few statements."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from governance.models import AuditRecord, AuditRunItem
from governance.services.audit_runs import audit_run_process, audit_run_submit
from workforce.domain.actor import MANAGER, service_key
from workforce.models import Assignment

pytestmark = pytest.mark.django_db

TEST_MANAGER = service_key("test-manager", MANAGER)
RECORD_FIELDS = [
    "outcome",
    "hallucinated",
    "scope_drift",
    "format_violation",
    "duration_ms",
    "retries",
    "test_pass_rate",
    "manager_satisfaction",
    "confidence",
    "error_kind",
    "logs",
    "settings_version",
]


def _fleet(api, prefix: str, workers: int = 4, tasks: int = 3) -> None:
    for w in range(workers):
        api.hire(f"{prefix}/w{w}", capabilities=(prefix,))  # each fleet's own: a repair stays in it
        for t in range(tasks):
            api.register(f"{prefix}/w{w}/t{t}", capability=prefix, model_id=f"{prefix}/w{w}")


def _reports(prefix: str) -> list[dict]:
    """Clean reports on every worker, a violation by w1 in the middle, a provider fault by w2, one naming its
    worker, and one on an unknown task."""
    reports = []
    for t in range(3):
        for w in range(4):
            body = {"task_id": f"{prefix}/w{w}/t{t}", "logs": [f"step {t}"], "duration_ms": 1000 + t}
            if (w, t) == (1, 1):
                body["hallucinated"] = True
            if (w, t) == (2, 0):
                body["error_kind"] = "provider"
            if (w, t) == (3, 2):
                body["model_id"] = f"{prefix}/w3"
            reports.append(body | {"report_id": f"{prefix}-r{len(reports)}"})
    reports.append({"task_id": f"{prefix}/nobody", "logs": [], "report_id": f"{prefix}-lost"})
    return reports


def _same(value, prefix: str):
    """A value with the fleet's prefix taken out, so two fleets' answers compare."""
    if isinstance(value, dict):
        return {k: _same(v, prefix) for k, v in value.items() if k not in {"incident_id"}}
    if isinstance(value, list):
        return [_same(v, prefix) for v in value]
    return value.replace(prefix, "P") if isinstance(value, str) else value


def _run(reports: list[dict]):
    run, _ = audit_run_submit(reports=reports, actor=TEST_MANAGER, now=timezone.now())
    return audit_run_process(run_id=run.id)


def test_a_batch_writes_what_one_report_at_a_time_writes(api):
    _fleet(api, "one")
    _fleet(api, "many")
    one_by_one = []
    for body in _reports("one"):
        response = api.client.post("/api/audit/", body, format="json")
        one_by_one.append(response.json() if response.status_code == 200 else response.status_code)

    run = _run(_reports("many"))

    items = list(AuditRunItem.objects.filter(run=run).order_by("position"))
    assert run.status == "DONE" and run.processed == len(items) == 13
    batched = [item.result if item.status == "DONE" else item.result["status"] for item in items]
    assert [_same(b, "many") for b in batched] == [_same(o, "one") for o in one_by_one]
    assert [item.status for item in items].count("REJECTED") == 1
    for prefix in ("one", "many"):
        records = AuditRecord.objects.filter(report_id__startswith=f"{prefix}-").order_by("report_id")
        assert records.count() == 12
    one = {r.report_id.split("-", 1)[1]: r for r in AuditRecord.objects.filter(report_id__startswith="one-")}
    for record in AuditRecord.objects.filter(report_id__startswith="many-"):
        twin = one[record.report_id.split("-", 1)[1]]
        assert [getattr(record, f) for f in RECORD_FIELDS] == [getattr(twin, f) for f in RECORD_FIELDS]
        assert _same(record.response, "many") == _same(twin.response, "one")
        assert record.worker.model_id.replace("many", "P") == twin.worker.model_id.replace("one", "P")
        assert record.request_hash and record.actor_label
        history = list(record.history.values_list("history_type", "history_actor"))
        assert history == [("+", record.actor_label)]
    # Every clean report marked its worker's open attempt as passed, as attempt_mark does.
    for prefix in ("one", "many"):
        passed = Assignment.objects.filter(task__task_id__startswith=f"{prefix}/", outcome="PASSED")
        assert passed.filter(reported_at__isnull=False).count() == 10


def test_a_workers_reports_keep_their_order_once_one_needs_the_full_flow(api):
    _fleet(api, "o", workers=2, tasks=3)
    reports = [
        {"task_id": "o/w0/t0", "logs": ["a"], "report_id": "o-0"},
        {"task_id": "o/w1/t0", "logs": ["a"], "hallucinated": True, "report_id": "o-1"},
        {"task_id": "o/w1/t1", "logs": ["a"], "report_id": "o-2"},
        {"task_id": "o/w0/t1", "logs": ["a"], "report_id": "o-3"},
        {"task_id": "o/w1/t2", "logs": ["a"], "report_id": "o-4"},
    ]

    _run(reports)

    written = list(
        AuditRecord.objects.filter(worker__model_id="o/w1").order_by("pk").values_list("report_id", flat=True)
    )
    assert written == ["o-1", "o-2", "o-4"]  # not the clean ones first


def test_a_repeated_report_id_in_a_batch_is_recorded_once(api):
    _fleet(api, "d", workers=1, tasks=2)
    body = {"task_id": "d/w0/t0", "logs": ["a"], "report_id": "d-same"}

    run = _run([body, body, {"task_id": "d/w0/t1", "logs": ["b"], "report_id": "d-other"}])

    items = list(AuditRunItem.objects.filter(run=run).order_by("position"))
    assert [i.status for i in items] == ["DONE"] * 3
    assert items[0].result == items[1].result
    assert AuditRecord.objects.filter(report_id="d-same").count() == 1
    assert run.processed == 3


def test_a_batch_of_clean_reports_is_written_in_a_few_statements(api, settings):
    settings.AURA_BATCH_PARTS = 1  # no Celery worker here to take a second part
    _fleet(api, "s", workers=10, tasks=30)
    reports = [
        {"task_id": f"s/w{w}/t{t}", "logs": ["ok"], "duration_ms": 900, "report_id": f"s-{w}-{t}"}
        for t in range(30)
        for w in range(10)
    ]
    run, _ = audit_run_submit(reports=reports, actor=TEST_MANAGER, now=timezone.now())

    with CaptureQueriesContext(connection) as queries:
        run = audit_run_process(run_id=run.id)

    assert run.processed == 300 and AuditRecord.objects.filter(report_id__startswith="s-").count() == 300
    # One report at a time took seven statements each (2,100 here).
    assert len(queries) <= 40, [q["sql"][:120] for q in queries.captured_queries]
