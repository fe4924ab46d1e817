"""The HR ladder's record in two reads equals the record the per-part selectors give."""

from collections import Counter
from datetime import timedelta

from django.utils import timezone

from governance.selectors import worker_action_record, worker_record, worker_violation_record
from governance.services.discipline import enforcement_run
from governance.services.overturn import action_overturn
from governance.services.reports import ReportInput, report_submit
from workforce.domain.actor import MANAGER, service_key
from workforce.models import Worker
from workforce.services.tasks import task_register
from workforce.services.workers import worker_hire

MANAGER_KEY = service_key("manager", MANAGER)


def test_the_two_read_record_matches_the_per_part_reads(db, director):
    t0 = timezone.now() - timedelta(days=3)
    worker_hire(model_id="a/w", capabilities=["code"], actor=MANAGER_KEY)
    worker_hire(model_id="a/spare", capabilities=["code"], actor=MANAGER_KEY)

    def report(n: int, at, **flags):
        task_register(task_id=f"t{n}", capability="code", priority=2, model_id="a/w", now=at, actor=MANAGER_KEY)
        report_submit(
            report=ReportInput(task_id=f"t{n}", model_id="a/w", **flags),
            report_id=f"r{n}",
            now=at + timedelta(seconds=1),
            actor=MANAGER_KEY,
        )

    report(1, t0, format_violation=True)
    report(2, t0 + timedelta(hours=2), hallucinated=True)
    task_register(
        task_id="inflight",
        capability="code",
        priority=2,
        model_id="a/w",
        now=t0 + timedelta(hours=3),
        actor=MANAGER_KEY,
    )
    report(3, t0 + timedelta(hours=4), scope_drift=True)
    report_submit(
        report=ReportInput(task_id="inflight", model_id="a/w", hallucinated=True),
        report_id="r-late",
        now=t0 + timedelta(hours=5),
        actor=MANAGER_KEY,
    )  # the same step: no action
    enforcement_run(
        model_id="a/w", violations=[("timeout", 2)], history=None, now=t0 + timedelta(hours=6), actor=MANAGER_KEY
    )
    worker = Worker.objects.get(model_id="a/w")
    strike = worker.disciplinary_actions.get(action="STRIKE")
    action_overturn(action=strike, reason="wrong", actor=director, now=t0 + timedelta(hours=7))

    since = t0 - timedelta(days=1)
    violations, actions = worker_record(worker=worker, since=since)
    assert Counter(violations) == Counter(worker_violation_record(worker=worker, since=since))
    assert Counter(actions) == Counter(worker_action_record(worker=worker, since=since))
    assert {v.type for v in violations} == {"format_violation", "scope_drift", "timeout"}
